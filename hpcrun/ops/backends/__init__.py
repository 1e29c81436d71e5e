"""Scheduler backends: how a site submits, polls and cancels jobs through a transport.

The Slurm backend drives the pure builders/parsers of ``hpcrun.schedulers.slurm``; the local
backend runs the same job script as a detached process on this machine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from hpcrun.errors import RemoteError
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.base import Transport


class SchedulerUnavailable(RemoteError):
    """The scheduler did not answer (controller or accounting down). Retry later; never
    conclude anything about a job's state from this."""


class Backend(Protocol):
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
