"""Scheduler backends: how a site submits, polls and cancels jobs through a transport.

The Slurm backend drives the pure builders/parsers of ``hpcrun.schedulers.slurm``; the local
backend runs the same job script as a detached process on this machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from hpcrun.errors import RemoteError
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.base import Transport


class SchedulerUnavailable(RemoteError):
    """The scheduler did not answer (controller or accounting down). Retry later; never
    conclude anything about a job's state from this."""


@dataclass(frozen=True)
class SubmissionTrace:
    """What a run folder says about a submission whose submitter is gone."""

    job_id: str | None  # the recorded job id (.jobid), if the submission got that far
    in_flight: bool  # a submission still holds the run folder's .submit.lock
    # seconds since the last submission attempt took that lock (the lock file's mtime, on
    # the cluster's own clock), or None if no attempt got that far
    since_attempt: float | None = None
    # no submission ever took the folder's lock, and none can any more: the submit command
    # that was to run it is gone and the folder is marked so that it never will (job arrays)
    abandoned: bool = False


class Backend(Protocol):
    # How long after a run was created a scheduler may still queue a job for it that
    # neither its queue nor its accounting shows yet (0: the backend knows at once).
    grace_seconds: float

    def submit(
        self, transport: Transport, run_dir: str, plan: Any, after: Sequence[tuple[str, str]] = ()
    ) -> str:
        """Submit ``run_dir/job.sh`` once; calling again for the same run_dir returns the
        same job id instead of submitting twice. ``after`` = (job_id, run_dir) of runs that
        must complete successfully first."""
        ...

    def poll(self, transport: Transport, jobs: Mapping[str, str]) -> dict[str, JobStatus]:
        """Status of every job in ``jobs`` (job_id -> run_dir), in as few calls as possible."""
        ...

    def cancel(self, transport: Transport, jobs: Mapping[str, str]) -> None: ...

    def signal(self, transport: Transport, jobs: Mapping[str, str], name: str) -> list[str]:
        """Send signal ``name`` to the jobs' programs without cancelling them; returns the
        job ids that had no program to receive it (not started, or just ended)."""
        ...

    def inspect_submissions(
        self, transport: Transport, run_dirs: Sequence[str]
    ) -> dict[str, SubmissionTrace]:
        """Per run folder: its recorded job id and whether a submission is in flight; one
        round trip for all of them."""
        ...

    def jobs_named(self, transport: Transport, names: Mapping[str, float]) -> dict[str, str]:
        """Job id per job name (name -> seconds since its run was created) for the names a
        job carries; a name missing from the answer is CONFIRMED to carry no job. Raises
        SchedulerUnavailable when that cannot be confirmed."""
        ...

    def log_path(self, run_dir: str, job_id: str) -> str: ...


def backend_for(scheduler: str) -> Backend:
    if scheduler == "local":
        from hpcrun.ops.backends.local import LocalBackend

        return LocalBackend()
    from hpcrun.ops.backends.slurm import SlurmBackend

    return SlurmBackend()


def log_file(run_dir: str, job_id: str) -> str:
    """Both schedulers write ``slurm-<job id>.log`` in the run directory (#SBATCH --output)."""
    return f"{run_dir}/slurm-{job_id}.log"
