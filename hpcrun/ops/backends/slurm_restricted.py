"""Slurm through a restricted key (``restricted_commands: true``): single commands only.

Differences from ``SlurmBackend`` (docs/ssh.md, "Restricted automation keys"):
- submit: no lock and no ``.jobid`` file (both need a shell). Before sbatch, one
  ``squeue --name=<the run's unique job name>``: a job already carrying it is returned
  instead of submitting again (a retry after a lost answer). A job that ended AND left
  squeue before the retry is not seen: that is the guarantee that remains (see the docs).
- poll: squeue, then for jobs squeue shows finished or no longer lists, ``cat`` of the
  ``.attempts`` file the job script writes (its exit code): no sacct.
- runs left in doubt: ``.attempts`` names the job that started; else ``squeue --name``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpcrun.ops import restricted
from hpcrun.ops.backends import SubmissionTrace
from hpcrun.ops.backends.slurm import (
    KILLED,
    SlurmBackend,
    _memory_kill,
    _raise_sbatch_error,
    _unavailable_or_failed,
    _with_restarts,
)
from hpcrun.plan import job_name_for
from hpcrun.schedulers import slurm
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.base import CommandFailed, Transport


class RestrictedSlurmBackend(SlurmBackend):
    def submit(
        self, transport: Transport, run_dir: str, plan: Any, after: Sequence[tuple[str, str]] = ()
    ) -> str:
        name = job_name_for(plan.run)
        already = self._named(transport, [name])
        if name in already:
            return already[name]
        extra = [f"--dependency=afterok:{':'.join(job for job, _ in after)}"] if after else []
        result = transport.run(restricted.sbatch_argv(run_dir, extra))
        if not result.ok:
            _raise_sbatch_error(result, transport, plan)
        try:
            return slurm.parse_sbatch(result.stdout)
        except ValueError:
            raise CommandFailed(result, "sbatch") from None

    def poll(self, transport: Transport, jobs: Mapping[str, str]) -> dict[str, JobStatus]:
        ids = list(jobs)
        if not ids:
            return {}
        queue = transport.run(slurm.squeue_argv(ids))
        if queue.ok:
            listed = slurm.parse_squeue(queue.stdout)
        elif slurm.is_invalid_job_id(queue.stderr):
            listed = {}  # the controller has forgotten it: .attempts tells
        else:
            raise _unavailable_or_failed(queue, "squeue")
        zone = transport.cluster_timezone() if listed else None  # type: ignore[attr-defined]
        listed = {job: restricted.utc_times(status, zone) for job, status in listed.items()}
        live = slurm.merge_status(listed, {}, ids)
        result: dict[str, JobStatus] = {}
        for job, status in live.items():
            shown = status if status.state != "unknown" else None
            if shown is not None and not shown.final:
                result[job] = shown
                continue
            attempts = self._attempts(transport, jobs[job])
            status = restricted.ended_status(job, attempts, shown)
            if status.final and status.state == "failed" and status.exit_code in (None, KILLED):
                status = _memory_kill(transport, jobs[job], job, status)
            result[job] = status
        return _with_restarts(transport, result)

    def inspect_submissions(
        self, transport: Transport, run_dirs: Sequence[str]
    ) -> dict[str, SubmissionTrace]:
        """No lock, no .jobid: a job that started named itself in .attempts (one cat per
        folder; runs in doubt are rare). Else the job name decides (``jobs_named``)."""
        return {
            run_dir: SubmissionTrace(
                restricted.recorded_job_id(self._attempts(transport, run_dir)), False
            )
            for run_dir in run_dirs
        }

    def jobs_named(self, transport: Transport, names: Mapping[str, float]) -> dict[str, str]:
        """squeue only: no sacct. A job that ended and left squeue before this call is
        missed here; its .attempts (``inspect_submissions``) has found it first if it ran."""
        return self._named(transport, list(names)) if names else {}

    def _named(self, transport: Transport, names: list[str]) -> dict[str, str]:
        queue = transport.run(slurm.squeue_by_name_argv(names))
        if not queue.ok:
            raise _unavailable_or_failed(queue, "squeue")
        found = slurm.parse_jobs_by_name(queue.stdout)
        return {name: ids[0] for name, ids in found.items() if name in names and ids}

    @staticmethod
    def _attempts(transport: Transport, run_dir: str) -> str:
        """The .attempts file ('' if the job never wrote it)."""
        return transport.read_from(restricted.attempts_path(run_dir), 0).decode("utf-8", "replace")
