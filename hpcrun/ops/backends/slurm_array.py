"""Job arrays on Slurm for the sweep tick: idempotent ``sbatch --array`` from a chunk
folder, ONE squeue and at most ONE sacct for all of a sweep's arrays, MaxArraySize, and
finding a chunk's array by its job name."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from hpcrun.errors import RemoteError
from hpcrun.ops.backends import SchedulerUnavailable, SubmissionTrace
from hpcrun.ops.backends.slurm import (
    _SUBMIT,
    SUBMIT_GRACE_SECONDS,
    SlurmBackend,
    _raise_sbatch_error,
    _unavailable_or_failed,
)
from hpcrun.schedulers import slurm, slurm_arrays
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.base import CommandFailed, Shell, Transport

ARRAY_SCRIPT = "sweep.sbatch"


class SubmitLimited(RemoteError):
    """sbatch refused the array because a QOS/association submit limit is reached: the
    chunk waits for a later tick (not an error of the sweep)."""


class SlurmArrays:
    chains_arrays = True  # a later array can wait for earlier ones (--dependency)
    grace_seconds = SUBMIT_GRACE_SECONDS

    def max_array_size(self, transport: Transport) -> int:
        result = transport.run(slurm_arrays.scontrol_config_argv())
        if not result.ok:
            raise _unavailable_or_failed(result, "scontrol show config")
        return slurm_arrays.parse_max_array_size(result.stdout)

    def default_parallel(self) -> int | None:
        return None  # Slurm schedules; only the spec's max_parallel throttles (%N)

    def submit(
        self, transport: Transport, chunk_dir: str, options: Sequence[str], plan: Any = None
    ) -> str:
        """``sbatch --array ... sweep.sbatch`` in ``chunk_dir``, under the folder's lock:
        a second call for the same chunk prints the recorded array id instead."""
        sbatch = shlex.join(slurm.sbatch_argv(ARRAY_SCRIPT, options))
        result = transport.run(Shell(_SUBMIT.format(run_dir=shlex.quote(chunk_dir),
                                                    sbatch=sbatch)))  # fmt: skip
        if not result.ok:
            text = result.stderr.strip() or result.stdout.strip()
            if slurm_arrays.is_submit_limit(text):
                raise SubmitLimited(f"sbatch: {text.splitlines()[-1] if text else 'refused'}")
            _raise_sbatch_error(result, transport, plan)
        try:
            return slurm.parse_sbatch(result.stdout)
        except ValueError:
            raise CommandFailed(result, "sbatch") from None

    def poll(
        self,
        transport: Transport,
        tasks: Mapping[str, Sequence[int]],
        dirs: Mapping[str, str] | None = None,
    ) -> dict[tuple[str, int], JobStatus]:
        """Status of every listed task (array id -> task indices): one squeue for all, and
        one sacct only if some task is finished or no longer listed. (``dirs``, the chunk
        folders, is for the local site.)"""
        if not tasks:
            return {}
        queue = transport.run(slurm_arrays.squeue_arrays_argv(list(tasks)))
        if queue.ok:
            live = slurm_arrays.parse_squeue_tasks(queue.stdout)
        elif slurm.is_invalid_job_id(queue.stderr):
            live = {}  # one array id the controller has forgotten: sacct has it
        else:
            raise _unavailable_or_failed(queue, "squeue")
        keys = [(array, index) for array, indices in tasks.items() for index in indices]
        settle = sorted({a for a, i in keys if (a, i) not in live or live[(a, i)].final}, key=int)
        accounted: dict[tuple[str, int], JobStatus] = {}
        if settle:
            history = transport.run(slurm_arrays.sacct_arrays_argv(settle))
            if not history.ok:
                raise _unavailable_or_failed(history, "sacct")
            accounted = slurm_arrays.parse_sacct_tasks(history.stdout)
        return {key: slurm_arrays.merge_tasks(live, accounted, key) for key in keys}

    def find(self, transport: Transport, names: Mapping[str, float]) -> dict[str, str]:
        """Array id per job name (name -> seconds since the chunk was recorded); a name
        missing from the answer carries no job (SchedulerUnavailable if unsure)."""
        return SlurmBackend().jobs_named(transport, names)

    def recorded(
        self, transport: Transport, chunk_dirs: Sequence[str]
    ) -> dict[str, SubmissionTrace]:
        return SlurmBackend().inspect_submissions(transport, chunk_dirs)

    def cancel(self, transport: Transport, array_ids: Sequence[str]) -> None:
        SlurmBackend().cancel(transport, dict.fromkeys(array_ids, ""))


__all__ = ["ARRAY_SCRIPT", "SchedulerUnavailable", "SlurmArrays", "SubmitLimited"]
