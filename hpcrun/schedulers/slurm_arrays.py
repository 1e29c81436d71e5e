"""Job arrays as data: one squeue and one sacct for every array of a sweep, their output
parsed per array task, the cluster's MaxArraySize, and sbatch's submit-limit refusal.

Array tasks are printed as ``<array job id>_<task>``. Tasks that have not started may be
folded into one line, ``123_[4-7%2]`` (sacct always, squeue without ``--array``); the
parsers expand such ranges into one pending entry per task. Pure: tested on captures from
the real test cluster (tests/data/slurm/array_*).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace

from hpcrun.schedulers import slurm
from hpcrun.schedulers.status import JobStatus

# (array job id, task index)
TaskKey = tuple[str, int]

_TASK = re.compile(r"(\d+)_(\d+)")
_FOLDED = re.compile(r"(\d+)_\[([0-9,\-]+)(?:%\d+)?\]")
_MAX_ARRAY = re.compile(r"^\s*MaxArraySize\s*=\s*(\d+)\s*$", re.MULTILINE)
# sbatch's words when a QOS or association caps how many jobs a user may have submitted
_SUBMIT_LIMITS = (
    "qosmaxsubmitjobperuserlimit",
    "qosmaxsubmitjobperaccountlimit",
    "assocmaxsubmitjoblimit",
    "assocgrpsubmitjobslimit",
    "qosgrpsubmitjoblimit",
    "job submit limit",
    "maxsubmitjobs",
)


def squeue_arrays_argv(array_ids: Iterable[str]) -> list[str]:
    """ONE squeue for every task of ``array_ids`` (``--array``: one line per task)."""
    argv = slurm.squeue_argv(array_ids)
    return [*argv[:-1], "--array", argv[-1]]


def sacct_arrays_argv(array_ids: Iterable[str]) -> list[str]:
    """ONE sacct for every task of ``array_ids`` (allocations only)."""
    return slurm.sacct_argv(array_ids)


def scontrol_config_argv() -> list[str]:
    return ["scontrol", "show", "config"]


def parse_max_array_size(stdout: str) -> int:
    """``MaxArraySize`` from ``scontrol show config`` (Slurm's default, 1001, if absent)."""
    match = _MAX_ARRAY.search(stdout)
    return int(match.group(1)) if match else 1001


def is_submit_limit(text: str) -> bool:
    """sbatch refused because the user (or account) has as many jobs submitted as a QOS or
    association allows: retry later, with fewer tasks or after some have ended."""
    lowered = text.lower()
    return any(marker in lowered for marker in _SUBMIT_LIMITS)


def _indices(spec: str) -> list[int]:
    found: list[int] = []
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            found.extend(range(int(first), int(last or first) + 1))
    return found


def _by_task(statuses: Mapping[str, JobStatus]) -> dict[TaskKey, JobStatus]:
    tasks: dict[TaskKey, JobStatus] = {}
    for job_id, status in statuses.items():
        single = _TASK.fullmatch(job_id)
        if single:
            tasks[(single.group(1), int(single.group(2)))] = status
            continue
        folded = _FOLDED.fullmatch(job_id)
        if folded:  # tasks not started yet: each is pending (a started one has its own line)
            for index in _indices(folded.group(2)):
                key = (folded.group(1), index)
                tasks.setdefault(key, replace(status, job_id=f"{key[0]}_{index}"))
    return tasks


def parse_squeue_tasks(stdout: str) -> dict[TaskKey, JobStatus]:
    """``squeue_arrays_argv`` output -> status per array task."""
    return _by_task(slurm.parse_squeue(stdout))


def parse_sacct_tasks(stdout: str) -> dict[TaskKey, JobStatus]:
    """``sacct_arrays_argv`` output -> status per array task (job steps skipped)."""
    return _by_task(slurm.parse_sacct(stdout))


def merge_tasks(
    live: Mapping[TaskKey, JobStatus], accounted: Mapping[TaskKey, JobStatus], key: TaskKey
) -> JobStatus:
    """One task's status: squeue while it lists the task unfinished; sacct for a finished
    one (only sacct has exit codes); 'unknown', NOT final, when neither lists it."""
    now, recorded = live.get(key), accounted.get(key)
    job_id = f"{key[0]}_{key[1]}"
    if now is not None and not now.final:
        return now
    if recorded is not None and (recorded.final or now is None):
        return recorded
    if now is not None:  # squeue says finished, sacct lags: wait for its exit code
        return replace(now, final=False) if now.exit_code is None else now
    return JobStatus(job_id, "unknown", "", False, reason="listed by neither squeue nor sacct")
