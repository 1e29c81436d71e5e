"""Pure builders and parsers for sites with ``restricted_commands: true``: every command is
one allow-listed program with words that need no shell quoting (``transport.restricted``
checks them again before anything is sent).

Without a shell there is no ``cd``, no redirection and no lock: the run folder is made by
one ``mkdir -p -m 700``, the job is submitted with ``sbatch --chdir``, and how a job
ended comes from the ``.attempts`` file its job script writes (no sacct).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone, tzinfo

from hpcrun.schedulers import slurm_restarts
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.restricted import NotAvailableRestricted, restricted_argv

RUN_SUBFOLDERS = ("code", "input", "output", "checkpoint")
# The job script's run folder when sbatch cannot be run from it (templates/slurm/job.sh.j2:
# SLURM_SUBMIT_DIR is then the login user's home).
RUN_DIR_VARIABLE = "HPCRUN_RUN_DIR"


def make_run_dir_argv(run_dir: str) -> list[str]:
    """The run folder and its subfolders, mode 0700 (``-m`` applies to each one named)."""
    folders = [run_dir, *(f"{run_dir}/{name}" for name in RUN_SUBFOLDERS)]
    return restricted_argv(["mkdir", "-p", "-m", "700", *folders])


def sbatch_argv(
    run_dir: str,
    extra: Sequence[str] = (),
    script: str = "job.sh",
    variable: str = RUN_DIR_VARIABLE,
) -> list[str]:
    """sbatch of ``run_dir/script``, run in ``run_dir`` (``--chdir``), which the script
    also learns from its environment (``variable``); prints ``jobid[;cluster]``."""
    if "," in run_dir:  # --export's list separator
        raise NotAvailableRestricted(
            f"submitting from a folder with a comma ({run_dir})",
            "with restricted_commands, choose a remote_root without commas",
        )
    return restricted_argv([
        "sbatch", "--parsable", f"--chdir={run_dir}",
        f"--export=ALL,{variable}={run_dir}", *extra, f"{run_dir}/{script}",
    ])  # fmt: skip


def utc_times(status: JobStatus, zone: tzinfo | None) -> JobStatus:
    """squeue's zone-less local times (``2026-01-01T10:00:00``) as UTC (``...Z``), in the
    login node's time zone ``zone``; dropped when the zone is unknown (never guessed)."""

    def convert(value: str | None) -> str | None:
        if value is None or value.endswith("Z"):
            return value
        if zone is None:
            return None
        try:
            local = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=zone)
        except ValueError:
            return None
        return local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    return replace(status, started_at=convert(status.started_at), ended_at=convert(status.ended_at))


def attempts_path(run_dir: str) -> str:
    return f"{run_dir}/{slurm_restarts.ATTEMPTS_FILE}"


def recorded_job_id(attempts: str) -> str | None:
    """The job id of the last attempt that started (``N started TIME JOB`` lines)."""
    for line in reversed(attempts.splitlines()):
        fields = line.split("\t")
        if len(fields) >= 4 and fields[1] == "started" and fields[3].strip().isdigit():
            return fields[3].strip()
    return None


# What the job script wrote as why an attempt ended -> the state it means.
_ENDED = {"completed": "completed", "failed": "failed", "preempted": "preempted",
          "time limit": "timeout"}  # fmt: skip


def ended_status(job_id: str, attempts: str, queue: JobStatus | None) -> JobStatus:
    """A job's status from squeue (``queue``, None if squeue no longer lists it) and the
    ``.attempts`` its script wrote, without sacct:

    - listed and not final: as squeue says;
    - listed and final: squeue's state, the exit code the script recorded (if it could);
      a TIMEOUT/PREEMPTED corrected by what the script saw;
    - not listed, the script recorded the end: that end, final;
    - not listed, no end recorded (killed before it could write, or never started):
      'unknown', NOT final: without accounting nothing proves how it ended."""
    last = slurm_restarts.last_attempt(attempts)
    ended = last is not None and last[1] != "running"
    if queue is not None:
        if not queue.final:
            return queue
        code = last[2] if ended and last is not None else None
        if queue.state == "completed":
            code = 0
        status = JobStatus(job_id, queue.state, queue.raw_state, True, code, queue.reason,
                           queue.started_at, queue.ended_at)  # fmt: skip
        if status.state in ("timeout", "preempted", "failed"):
            return slurm_restarts.what_happened(status, attempts)
        return status
    if ended and last is not None:
        attempt, why, code = last
        state = "completed" if code == 0 else _ENDED.get(why, "failed")
        if why.startswith("cancel"):
            state = "cancelled"
        reason = None if state == "completed" else f"attempt {attempt} ended: {why}"
        return JobStatus(job_id, state, why.upper(), True, code, reason)
    return JobStatus(
        job_id, "unknown", "", False,
        reason="squeue no longer lists the job and its script recorded no end; without "
        "sacct (restricted_commands) hpcrun cannot tell how it ended",
    )  # fmt: skip
