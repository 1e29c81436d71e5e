"""Slurm as data: argv builders for sbatch/squeue/sacct/scancel, parsers of their output,
and the map from Slurm job states to hpcrun's contract states. No I/O here.

Status polling is two calls for all unfinished jobs at once: squeue (the controller's view,
while it still remembers the job) and sacct (the accounting database, for jobs squeue has
forgotten). ``merge_status`` combines them; a job in neither is 'unknown', never 'completed'.

Timestamps: squeue and sacct print cluster-local times without a zone, so the builders run
them under ``env SLURM_TIME_FORMAT=%s`` (epoch seconds) and the parsers turn those into
ISO-8601 UTC, like the store's timestamps.

squeue and purged job ids (observed on Slurm 22.05.8, see tests/data/slurm/README.md):
with two or more ``--jobs`` ids, squeue loads all jobs and filters locally, so ids it no
longer knows are silently left out (exit 0). With exactly ONE id it asks the controller for
that job alone and an unknown id fails: exit 1, stderr
``slurm_load_jobs error: Invalid job id specified``. ``is_invalid_job_id`` recognizes that
message; callers should treat it as "squeue lists nothing" and ask sacct.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timezone

from hpcrun.schedulers.status import JobStatus

# Slurm state -> (contract state, final). Requeued/held jobs are not final: they come back.
STATE_MAP: Mapping[str, tuple[str, bool]] = {
    "PENDING": ("pending", False),
    "CONFIGURING": ("pending", False),  # nodes allocated, still booting: not started yet
    "REQUEUED": ("pending", False),
    "REQUEUE_FED": ("pending", False),
    "REQUEUE_HOLD": ("pending", False),
    "RESV_DEL_HOLD": ("pending", False),
    "SPECIAL_EXIT": ("pending", False),  # requeued and held after a special exit code
    "RUNNING": ("running", False),
    "COMPLETING": ("running", False),  # exit code not settled until the epilog is done
    "SUSPENDED": ("running", False),  # started and will resume; the reason says why
    "STOPPED": ("running", False),
    "RESIZING": ("running", False),
    "SIGNALING": ("running", False),
    "STAGE_OUT": ("running", False),
    "COMPLETED": ("completed", True),
    "FAILED": ("failed", True),
    "CANCELLED": ("cancelled", True),
    "REVOKED": ("cancelled", True),  # federation: a sibling ran it elsewhere
    "TIMEOUT": ("timeout", True),
    "DEADLINE": ("timeout", True),  # killed at its --deadline
    "OUT_OF_MEMORY": ("out_of_memory", True),
    "NODE_FAIL": ("node_fail", True),
    "BOOT_FAIL": ("node_fail", True),
    # A requeued preemption shows as PENDING/REQUEUED; PREEMPTED itself is the end.
    "PREEMPTED": ("preempted", True),
}

# The compact codes of `squeue -t`/`%t`, in case a site's wrapper prints them.
SHORT_STATES: Mapping[str, str] = {
    "PD": "PENDING",
    "CF": "CONFIGURING",
    "RQ": "REQUEUED",
    "RF": "REQUEUE_FED",
    "RH": "REQUEUE_HOLD",
    "RD": "RESV_DEL_HOLD",
    "SE": "SPECIAL_EXIT",
    "R": "RUNNING",
    "CG": "COMPLETING",
    "S": "SUSPENDED",
    "ST": "STOPPED",
    "RS": "RESIZING",
    "SI": "SIGNALING",
    "SO": "STAGE_OUT",
    "CD": "COMPLETED",
    "F": "FAILED",
    "CA": "CANCELLED",
    "RV": "REVOKED",
    "TO": "TIMEOUT",
    "DL": "DEADLINE",
    "OOM": "OUT_OF_MEMORY",
    "NF": "NODE_FAIL",
    "BF": "BOOT_FAIL",
    "PR": "PREEMPTED",
}

# Column order is shared by builder and parser; the free-text reason goes last.
SQUEUE_FIELDS = ("%i", "%T", "%S", "%e", "%r")
SACCT_FIELDS = ("JobID", "State", "ExitCode", "Start", "End", "Reason")
SACCT_STARTTIME = "now-60days"
_TIME_ENV = ("env", "SLURM_TIME_FORMAT=%s")

# A job id as hpcrun passes it back: 123, 123_4, 123_[1-5%2], 123+0 (het job component).
_JOB_ID = re.compile(r"\d+(?:_(?:\d+|\[[0-9,%\-]+\]))?(?:\+\d+)?")
_SBATCH = re.compile(r"(\d+)(?:;\S+)?")

_TRANSIENT = (
    "unable to contact slurm controller",
    "socket timed out",
    "connection refused",
    "connection timed out",
    "connection reset",
    "zero bytes were transmitted",
    "problem talking to the database",
    "slurmdbd: connection",
    "persistent connection",
    "backup controller in standby mode",
    "communication connection failure",
    "resource temporarily unavailable",
    "transport endpoint is not connected",
    "slurm temporarily unable to accept job",
    "network is unreachable",
    "no route to host",
)


def map_state(raw: str) -> tuple[str, bool]:
    """Slurm state text -> (contract state, final). Unknown text is ('unknown', not final)."""
    words = raw.strip().split()
    if not words:
        return "unknown", False
    word = words[0].upper().rstrip("+")  # sacct marks truncated fields with '+'
    word = SHORT_STATES.get(word, word)
    return STATE_MAP.get(word, ("unknown", False))


def base_job_id(job_id: str) -> str:
    """``123_4`` / ``123_[5-9]`` / ``123+1`` -> ``123`` (the id sbatch printed)."""
    return re.split(r"[_+]", job_id, maxsplit=1)[0]


# ---------------------------------------------------------------- builders


def _checked_ids(job_ids: Iterable[str]) -> list[str]:
    ids = [str(job_id).strip() for job_id in job_ids]
    if not ids:
        # squeue/scancel without ids would act on every job of the user.
        raise ValueError("no job ids given")
    for job_id in ids:
        if not _JOB_ID.fullmatch(job_id):
            raise ValueError(f"not a Slurm job id: {job_id!r}")
    return ids


def sbatch_argv(script: str, extra: Sequence[str] = ()) -> list[str]:
    """Submit ``script`` (a path on the cluster); prints ``jobid[;cluster]``."""
    return ["sbatch", "--parsable", *extra, script]


def squeue_argv(job_ids: Iterable[str]) -> list[str]:
    """One squeue for all ``job_ids``, any state, one ``|``-separated line per job."""
    return [
        *_TIME_ENV,
        "squeue",
        "--noheader",
        "--states=all",
        f"--format={'|'.join(SQUEUE_FIELDS)}",
        f"--jobs={','.join(_checked_ids(job_ids))}",
    ]


def sacct_argv(job_ids: Iterable[str], starttime: str = SACCT_STARTTIME) -> list[str]:
    """One sacct for all ``job_ids``: allocations only (-X), parsable (-P), no header.

    ``--starttime`` is explicit: some Slurm versions default it to midnight today, which
    would hide yesterday's jobs.
    """
    return [
        *_TIME_ENV,
        "sacct",
        "-n",
        "-P",
        "-X",
        f"--starttime={starttime}",
        f"--format={','.join(SACCT_FIELDS)}",
        f"--jobs={','.join(_checked_ids(job_ids))}",
    ]


def scancel_argv(job_ids: Iterable[str]) -> list[str]:
    return ["scancel", *_checked_ids(job_ids)]


def scancel_signal_argv(job_ids: Iterable[str], signal: str) -> list[str]:
    """Send ``signal`` (a checked name, e.g. USR1) to the jobs' batch shells only, without
    cancelling them; hpcrun's job script passes it to the program."""
    from hpcrun.signals import signal_name

    return ["scancel", "--batch", f"--signal={signal_name(signal)}", *_checked_ids(job_ids)]


# Finding a job by its name (every hpcrun job's --job-name is its run's unique name): for a
# run whose submitter died while sbatch ran, so its job id was never recorded. The name goes
# last in the output; names are checked to hold no separator anyway.
BY_NAME_SQUEUE_FIELDS = ("%i", "%T", "%j")
BY_NAME_SACCT_FIELDS = ("JobID", "State", "JobName")
_JOB_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,128}")


def _checked_names(names: Iterable[str]) -> list[str]:
    checked = sorted(set(names))
    if not checked:
        raise ValueError("no job names given")  # no --name would list every job of the user
    for name in checked:
        if not _JOB_NAME.fullmatch(name):
            raise ValueError(f"not an hpcrun job name: {name!r}")
    return checked


def squeue_by_name_argv(names: Iterable[str]) -> list[str]:
    """One squeue for the jobs (any state) carrying any of ``names``: ``id|state|name``."""
    return [
        "squeue",
        "--noheader",
        "--states=all",
        f"--format={'|'.join(BY_NAME_SQUEUE_FIELDS)}",
        f"--name={','.join(_checked_names(names))}",
    ]


def sacct_by_name_argv(names: Iterable[str], since_seconds: int) -> list[str]:
    """One sacct for the jobs carrying any of ``names``, submitted at most ``since_seconds``
    ago (sacct by name needs a start time; a relative one avoids the cluster's time zone)."""
    minutes = max(1, -(-int(since_seconds) // 60))
    return [
        "sacct",
        "-n",
        "-P",
        "-X",
        f"--starttime=now-{minutes}minutes",
        f"--format={','.join(BY_NAME_SACCT_FIELDS)}",
        f"--name={','.join(_checked_names(names))}",
    ]


# ---------------------------------------------------------------- parsers


def parse_sbatch(stdout: str) -> str:
    """The job id from ``sbatch --parsable`` (``123`` or ``123;cluster``)."""
    lines = [line.strip() for line in stdout.splitlines() if line.strip()]
    match = _SBATCH.fullmatch(lines[-1]) if lines else None
    if match is None:
        raise ValueError(f"sbatch printed no job id: {stdout.strip()[:200]!r}")
    return match.group(1)


def _time(value: str) -> str | None:
    """Epoch seconds (SLURM_TIME_FORMAT=%s) -> ISO UTC; an ISO time is kept; else None."""
    value = value.strip()
    if value.isdigit():
        moment = datetime.fromtimestamp(int(value), tz=timezone.utc)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", value):
        return value  # cluster-local time from a run without SLURM_TIME_FORMAT
    return None  # Unknown, None, N/A, NONE


def _reason(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", "None", "(null)") else value


def _exit_code(value: str) -> int | None:
    """sacct's ``N:S``: N, or 128+S when a signal killed it and N is 0 (like a shell)."""
    code, _, signal = value.strip().partition(":")
    if not code.isdigit():
        return None
    if int(code) == 0 and signal.isdigit() and int(signal) != 0:
        return 128 + int(signal)
    return int(code)


def _final_exit_code(state: str, value: str) -> int | None:
    """A cancelled, timed-out or preempted job often reports ``0:0``: that 0 is no exit
    status (the script never returned), so only a completed job may have exit code 0."""
    code = _exit_code(value)
    return None if code == 0 and state != "completed" else code


def _fields(line: str, count: int, source: str) -> list[str]:
    parts = [part.strip() for part in line.split("|", count - 1)]
    if len(parts) != count:
        raise ValueError(f"unexpected {source} line (want {count} fields): {line!r}")
    return parts


def parse_squeue(stdout: str) -> dict[str, JobStatus]:
    """``squeue_argv`` output -> status per printed job id (array tasks keep ``123_4``)."""
    statuses: dict[str, JobStatus] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        job_id, raw, start, end, reason = _fields(line.strip(), len(SQUEUE_FIELDS), "squeue")
        state, final = map_state(raw)
        # For pending jobs %S/%e are forecasts, and %e is the time limit while running.
        started = _time(start) if state not in ("pending", "unknown") else None
        statuses[job_id] = JobStatus(
            job_id=job_id,
            state=state,
            raw_state=raw,
            final=final,
            # squeue cannot print exit codes; COMPLETED implies 0, the rest waits for sacct.
            exit_code=0 if state == "completed" else None,
            reason=_reason(reason),
            started_at=started,
            ended_at=_time(end) if final else None,
        )
    return statuses


def parse_sacct(stdout: str) -> dict[str, JobStatus]:
    """``sacct_argv`` output -> status per job id; job steps (``123.batch``) are skipped."""
    statuses: dict[str, JobStatus] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        job_id, raw, exit_code, start, end, reason = _fields(
            line.strip(), len(SACCT_FIELDS), "sacct"
        )
        if "." in job_id:
            continue
        state, final = map_state(raw)
        # sacct keeps the last pending reason after the job ran (a COMPLETED job still says
        # BeginTime), so it only means something while the job waits.
        text = _reason(reason) if state == "pending" else None
        words = raw.split()
        if len(words) == 3 and words[1] == "by":
            text = f"cancelled by uid {words[2]}"
        # Without -D sacct prints one (the latest) record per job id, so the last line wins.
        statuses[job_id] = JobStatus(
            job_id=job_id,
            state=state,
            raw_state=raw,
            final=final,
            exit_code=_final_exit_code(state, exit_code) if final else None,
            reason=text,
            started_at=_time(start) if state not in ("pending", "unknown") else None,
            ended_at=_time(end) if final else None,
        )
    return statuses


def parse_jobs_by_name(stdout: str) -> dict[str, list[str]]:
    """``squeue_by_name_argv``/``sacct_by_name_argv`` output -> job ids per name, lowest
    first (array tasks and het components folded into the id sbatch printed)."""
    found: dict[str, set[str]] = {}
    for line in stdout.splitlines():
        if not line.strip():
            continue
        job_id, _state, name = _fields(line.strip(), 3, "job-by-name")
        if "." in job_id:
            continue  # a job step
        found.setdefault(name, set()).add(base_job_id(job_id))
    return {name: sorted(ids, key=int) for name, ids in found.items()}


# ---------------------------------------------------------------- merging

# When array tasks end differently, the array reports the worst of them.
_SEVERITY = (
    "node_fail",
    "out_of_memory",
    "failed",
    "timeout",
    "preempted",
    "cancelled",
    "unknown",
    "completed",
)


def _entries(statuses: Mapping[str, JobStatus], job_id: str) -> list[JobStatus]:
    if job_id in statuses:
        return [statuses[job_id]]
    return [status for key, status in statuses.items() if base_job_id(key) == job_id]


def _aggregate(job_id: str, entries: list[JobStatus]) -> JobStatus:
    """One status for a job array (several task entries) or a job's single entry."""
    if len(entries) == 1:
        return replace(entries[0], job_id=job_id)
    raw = ",".join(sorted({entry.raw_state for entry in entries}))
    active = [entry for entry in entries if not entry.final]
    if active:
        running = [entry for entry in active if entry.state == "running"]
        lead = (running or active)[0]
        return JobStatus(job_id, lead.state, raw, False, reason=lead.reason)
    worst = min(entries, key=lambda entry: _SEVERITY.index(entry.state))
    codes = [entry.exit_code for entry in entries if entry.exit_code]
    exit_code = max(codes) if codes else (0 if worst.state == "completed" else None)
    starts = [entry.started_at for entry in entries if entry.started_at]
    ends = [entry.ended_at for entry in entries if entry.ended_at]
    return JobStatus(
        job_id,
        worst.state,
        raw,
        True,
        exit_code,
        worst.reason,
        started_at=min(starts, default=None),
        ended_at=max(ends, default=None),
    )


def merge_status(
    squeue: Mapping[str, JobStatus], sacct: Mapping[str, JobStatus], job_ids: Iterable[str]
) -> dict[str, JobStatus]:
    """Status per requested job id: squeue while it lists the job (the controller is current,
    sacct may lag), else sacct, else 'unknown'. A job that squeue shows as finished takes
    sacct's record when sacct agrees it is final, for the exit code squeue cannot print.
    """
    merged: dict[str, JobStatus] = {}
    for job_id in job_ids:
        live = _entries(squeue, job_id)
        accounted = _entries(sacct, job_id)
        if live:
            status = _aggregate(job_id, live)
            if status.final and accounted:
                recorded = _aggregate(job_id, accounted)
                if recorded.final:
                    status = replace(recorded, reason=recorded.reason or status.reason)
        elif accounted:
            status = _aggregate(job_id, accounted)
        else:
            status = JobStatus(
                job_id, "unknown", "", False, reason="listed by neither squeue nor sacct"
            )
        merged[job_id] = status
    return merged


# ---------------------------------------------------------------- errors


def is_transient_error(stderr: str) -> bool:
    """The controller or slurmdbd is unreachable or busy: retry later, don't give up."""
    text = stderr.lower()
    return any(marker in text for marker in _TRANSIENT)


def is_invalid_job_id(stderr: str) -> bool:
    """squeue/scancel's answer for a job id the controller no longer knows (see above)."""
    return "invalid job id specified" in stderr.lower()
