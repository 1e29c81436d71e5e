"""What a finished Slurm job used, read from the sacct that the poll already runs.

The poll's sacct for jobs that ended (``slurm.sacct_argv``) is asked for the usage fields
too, and without ``-X``: MaxRSS exists only on job steps (``123.batch``, ``123.0``), not on
the allocation's line. ``split_sacct`` hands the status columns to ``slurm.parse_sacct``
unchanged and turns the rest into ``hpcrun.efficiency`` figures, one object per job.

Formats (Slurm 22.05 on the test cluster, see tests/data/slurm/README.md, and older ones):
MaxRSS ``8264K``/``12M``/``1.5G`` (binary units; empty when no sample was taken, e.g. a job
shorter than JobAcctGatherFrequency); ReqMem ``1000M``, or before 21.08 ``16Gn`` (per
node) / ``4Gc`` (per CPU); Elapsed/TotalCPU ``1-02:03:04``, ``02:03:04``, ``12:34.567``.
No I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from hpcrun import efficiency
from hpcrun.schedulers import slurm

USAGE_FIELDS = ("Elapsed", "TotalCPU", "MaxRSS", "ReqMem", "AllocTRES", "NodeList", "AllocCPUS")
# slurm.SACCT_FIELDS with the usage fields before its free-text last column (Reason).
FIELDS = (*slurm.SACCT_FIELDS[:-1], *USAGE_FIELDS, slurm.SACCT_FIELDS[-1])

_BINARY = {"K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40, "P": 2**50}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)([KMGTP]?)([nc]?)", re.IGNORECASE)
_DURATION = re.compile(r"(?:(\d+)-)?(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d+)?)")


def sacct_argv(job_ids: Iterable[str]) -> list[str]:
    """``slurm.sacct_argv`` with the usage fields and the job steps: still ONE sacct."""
    argv = [arg for arg in slurm.sacct_argv(job_ids) if arg != "-X"]
    return [f"--format={','.join(FIELDS)}" if a.startswith("--format=") else a for a in argv]


def split_sacct(stdout: str) -> tuple[str, dict[str, dict[str, Any]]]:
    """``sacct_argv`` output -> (the same lines in ``slurm.SACCT_FIELDS`` form, for
    ``slurm.parse_sacct``; figures per job id). Steps only add to their job's figures."""
    status_lines: list[str] = []
    jobs: dict[str, dict[str, str]] = {}
    steps: dict[str, list[dict[str, str]]] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        parts = [part.strip() for part in line.strip().split("|", len(FIELDS) - 1)]
        if len(parts) != len(FIELDS):
            raise ValueError(f"unexpected sacct line (want {len(FIELDS)} fields): {line!r}")
        row = dict(zip(FIELDS, parts, strict=True))
        status_lines.append("|".join(row[name] for name in slurm.SACCT_FIELDS))
        job_id, _, step = row["JobID"].partition(".")
        if step:
            steps.setdefault(job_id, []).append(row)
        else:
            jobs[job_id] = row  # without -D, one (the latest) record per job: last wins
    usage = {job_id: _figures(row, steps.get(job_id, [])) for job_id, row in jobs.items()}
    usage = {job_id: used for job_id, used in usage.items() if used is not None}
    return "\n".join(status_lines) + ("\n" if status_lines else ""), usage


def _figures(job: dict[str, str], steps: list[dict[str, str]]) -> dict[str, Any] | None:
    """None for a job that never started (cancelled while queued): it used nothing."""
    cpus = _int(job["AllocCPUS"])
    elapsed = parse_duration(job["Elapsed"])
    if not elapsed and _nodes(job["NodeList"]) is None:
        return None
    cpu = parse_duration(job["TotalCPU"])
    if cpu is None and steps:  # the job's line sums its steps; older Slurms may not
        step_cpu = [parse_duration(step["TotalCPU"]) for step in steps]
        cpu = sum(value for value in step_cpu if value is not None) if any(step_cpu) else None
    # MaxRSS is per step (the batch script, each srun): the job's peak is the largest.
    rss = [parse_size(row["MaxRSS"]) for row in (job, *steps)]
    peaks = [value for value in rss if value is not None]
    tres = job["AllocTRES"] or None
    return efficiency.figures(
        "sacct",
        elapsed_s=elapsed,
        cpu_s=cpu,
        cpus=cpus or None,  # 0: the job never started
        max_rss_bytes=max(peaks) if peaks else None,
        req_mem_bytes=parse_req_mem(job["ReqMem"], cpus=cpus, nodes=_tres_nodes(tres))
        or _tres_mem(tres),
        nodes=_nodes(job["NodeList"]),
        alloc_tres=tres,
    )


def parse_size(text: str) -> int | None:
    """MaxRSS: ``8264K`` / ``12M`` / ``1.5G`` (binary units; a bare number is bytes) ->
    bytes; None for an empty or unknown value."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or match.group(3):
        return None
    return _amount(match, bare=1)


def parse_req_mem(text: str, *, cpus: int | None, nodes: int | None) -> int | None:
    """ReqMem for the whole job: ``16G`` (Slurm >= 21.08: already the job's), ``16Gn`` (per
    node, times the nodes) or ``4Gc`` (per CPU, times the CPUs); a bare number is MiB
    (sacct's unit for it). None when it cannot be told (an unknown format, or a per-CPU
    value without the CPU count)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        return None
    amount = _amount(match, bare=2**20)
    per = match.group(3).lower()
    if per == "c":
        return amount * cpus if cpus else None
    if per == "n":
        return amount * (nodes or 1)  # a started job has at least one node
    return amount


def _amount(match: re.Match[str], bare: int) -> int:
    unit = match.group(2).upper()
    return int(float(match.group(1)) * (_BINARY[unit] if unit else bare))


def parse_duration(text: str) -> float | None:
    """``1-02:03:04`` / ``02:03:04`` / ``12:34.567`` / ``00:01`` -> seconds; None for an
    empty or unknown value (``INVALID``, ``Unknown``)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    days, first, second, last = match.groups()
    # Fields fill from the right: SS, MM:SS, HH:MM:SS; ``D-HH:MM`` has no seconds.
    numbers = [int(value) for value in (first, second) if value is not None]
    if days is not None and len(numbers) == 1:
        hours, minutes, seconds = numbers[0], float(last), 0.0
        return int(days) * 86400 + hours * 3600 + minutes * 60 + seconds
    hours = numbers[0] if len(numbers) == 2 else 0
    minutes = numbers[-1] if numbers else 0
    return (int(days or 0) * 86400) + hours * 3600 + minutes * 60 + float(last)


def _int(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def _tres_nodes(tres: str | None) -> int | None:
    for item in (tres or "").split(","):
        name, _, value = item.partition("=")
        if name == "node" and value.isdigit():
            return int(value)
    return None


def _tres_mem(tres: str | None) -> int | None:
    """The memory the job was allocated (AllocTRES ``mem=1G``, for the whole job): the
    request, when sacct leaves ReqMem empty (seen on a record slurmdbd has just written)."""
    for item in (tres or "").split(","):
        name, _, value = item.partition("=")
        if name == "mem":
            match = _SIZE.fullmatch(value.strip())
            if match is not None and not match.group(3):
                return _amount(match, bare=2**20)
    return None


def _nodes(text: str) -> str | None:
    """sacct's NodeList; ``None assigned`` (a job that never started) is no node."""
    text = text.strip()
    return None if not text or text.lower().startswith("none") else text
