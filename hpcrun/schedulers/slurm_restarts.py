"""How many times Slurm restarted jobs (requeues after preemption, node failure or a job's
own ``scontrol requeue``), and what the job script said about its last attempt.

squeue's ``%`` format has no restart count; its ``--Format`` field ``RestartCnt`` does
(Slurm 22.05; sacct has none), so jobs that look requeued (pending, reason BeginTime) get
one small extra squeue. Pure builders and parsers; the Slurm backend runs them.
"""

from __future__ import annotations

import re
from dataclasses import replace

from hpcrun.schedulers.status import JobStatus

# Fields end with the "|" suffix (squeue -O pads to the width; 0 would truncate nothing).
_ID = re.compile(r"\d+(?:_\d+)?")


def restarts_argv(job_ids: list[str]) -> list[str]:
    """``ID|COUNT`` per live job (array tasks as ``123_4``)."""
    return [
        "squeue", "--noheader", "--Format=JobArrayID:|,RestartCnt:",
        f"--jobs={','.join(job_ids)}",
    ]  # fmt: skip


def parse_restarts(stdout: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for line in stdout.splitlines():
        job_id, sep, count = line.strip().partition("|")
        if sep and _ID.fullmatch(job_id.strip()) and count.strip().isdigit():
            counts[job_id.strip()] = int(count.strip())
    return counts


# The job script's record of its attempts (.attempts in the run folder; see
# templates/slurm/attempt.sh.j2), tab-separated lines: "N started TIME JOB" when an
# attempt starts, "N ended WHY EXIT TIME" when its program has ended.
ATTEMPTS_FILE = ".attempts"


def last_attempt(text: str) -> tuple[int, str, int | None] | None:
    """(attempt, why it ended, exit code) from the last line of ``.attempts``; why is
    "running" when the last attempt recorded no end (killed, or still going)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    fields = lines[-1].split("\t")
    if not fields[0].isdigit() or len(fields) < 2:
        return None
    if fields[1] == "ended" and len(fields) >= 4:
        code = fields[3].strip()
        return int(fields[0]), fields[2], int(code) if code.lstrip("-").isdigit() else None
    return int(fields[0]), "running", None


def what_happened(status: JobStatus, attempts: str) -> JobStatus:
    """A final TIMEOUT/PREEMPTED/FAILED corrected by the end of ``.attempts``: a program that
    had completed (exit 0) makes the run completed (on Slurm 22.05 a job preempted with
    GraceTime may end TIMEOUT, exit 0); a recorded preemption or time limit names the state
    (a program that saved and exited non-zero at its warning, with no resume or budget left,
    is FAILED to Slurm but ran out of time)."""
    last = last_attempt(attempts)
    if last is None:
        return status
    attempt, why, code = last
    if why == "completed" and code == 0:
        reason = f"the program completed (Slurm said {status.raw_state})"
        return replace(status, state="completed", exit_code=0, reason=reason)
    if why == "preempted" and status.state != "preempted":
        return replace(status, state="preempted", reason=f"preempted in attempt {attempt}")
    if why == "time limit" and status.state != "timeout":
        return replace(status, state="timeout", reason=f"time limit in attempt {attempt}")
    return status
