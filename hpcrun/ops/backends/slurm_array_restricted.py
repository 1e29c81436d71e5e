"""Job arrays through a restricted key (``restricted_commands: true``): single commands only.

Differences from ``SlurmArrays`` (docs/ssh.md, "Restricted automation keys"):
- submit: no batch script, no lock, no ``.jobid`` (all need a shell). ONE ``squeue --name``
  for every chunk of the batch first: an array already carrying a chunk's unique job name
  is taken instead of submitting it again (a tick retrying after a lost answer). Then one
  ``sbatch --chdir=CHUNK --export=ALL,HPCRUN_CHUNK_DIR=CHUNK`` per chunk, in order, stopping
  at the first refusal (chunks after it were certainly not submitted).
- reconcile: a chunk's array writes its id into ``.array-job`` in the chunk folder when a
  task starts (templates/slurm/sweep.sh.j2), fetched for all chunks in doubt by one rsync;
  else ``squeue --name``.
- poll: one squeue for all arrays; for tasks squeue no longer lists (or lists ended), ONE
  rsync fetches their points' ``.array-task`` and ``.attempts`` (how the program ended, its
  exit code): no sacct.
- MaxArraySize: Slurm's default (no scontrol), unless the site sets ``max_array_size``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hpcrun.ops import restricted
from hpcrun.ops.backends import SubmissionTrace, point_records
from hpcrun.ops.backends.slurm_array import (
    ARRAY_SCRIPT,
    BatchItem,
    BatchOutcome,
    SlurmArrays,
    _sbatch_error,
    queued_tasks,
)
from hpcrun.ops.backends.slurm_restricted import RestrictedSlurmBackend
from hpcrun.schedulers import slurm
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.base import CommandFailed, Transport, TransportError

SLURM_DEFAULT_MAX_ARRAY_SIZE = 1001
CHUNK_DIR_VARIABLE = "HPCRUN_CHUNK_DIR"  # templates/slurm/sweep.sh.j2 reads it
ARRAY_JOB_FILE = ".array-job"  # in a chunk folder: the array's id (its tasks write it)
TaskKey = tuple[str, int]


class RestrictedSlurmArrays(SlurmArrays):
    def max_array_size(self, transport: Transport) -> int:
        """No scontrol here: Slurm's default (the site's max_array_size, when set, is used
        instead of asking: ``sweep.tick._max_array_size``)."""
        return SLURM_DEFAULT_MAX_ARRAY_SIZE

    def submit_batch(
        self,
        transport: Transport,
        chunks_dir: str,
        items: Sequence[BatchItem],
        after: Sequence[str] = (),
        chain: bool = False,
        plan: Any = None,
    ) -> BatchOutcome:
        outcome = BatchOutcome()
        if not items:
            return outcome
        names = [_job_name(item) for item in items]
        try:
            queued = self.find(transport, dict.fromkeys((n for n in names if n), 0.0))
        except TransportError as exc:
            outcome.cut_short = exc
            return outcome
        deps = list(after)
        for index, item in enumerate(items):
            if names[index] in queued:  # submitted before (a lost answer): never again
                job_id = queued[names[index]]
            else:
                folder = f"{chunks_dir}/{item.folder}"
                extra = [f"--dependency=afterany:{':'.join(deps)}"] if chain and deps else []
                options = [_one_word(option) for option in (*item.options, *extra)]
                try:
                    result = transport.run(sbatch_argv(folder, options))
                except TransportError as exc:  # this one may or may not be queued
                    outcome.cut_short = exc
                    outcome.not_run += range(index + 1, len(items))
                    return outcome
                if not result.ok:
                    outcome.failed = (index, _sbatch_error(result, transport, plan))
                    outcome.not_run += range(index + 1, len(items))
                    return outcome
                try:
                    job_id = slurm.parse_sbatch(result.stdout)
                except ValueError:
                    outcome.failed = (index, CommandFailed(result, "sbatch"))
                    outcome.not_run += range(index + 1, len(items))
                    return outcome
            outcome.submitted.append((index, job_id))
            deps.append(job_id)
        return outcome

    def poll(
        self,
        transport: Transport,
        tasks: Mapping[str, Sequence[int]],
        dirs: Mapping[str, str] | None = None,
        points: Mapping[TaskKey, str] | None = None,
    ) -> dict[TaskKey, JobStatus]:
        """``points``: each task's point folder (where its script records how it ended)."""
        if not tasks:
            return {}
        live = queued_tasks(transport, tasks)
        zone = transport.cluster_timezone() if live else None  # type: ignore[attr-defined]
        live = {key: restricted.utc_times(status, zone) for key, status in live.items()}
        keys = [(array, index) for array, indices in tasks.items() for index in indices]
        settle = [k for k in keys if k not in live or live[k].final]
        records = point_records.read_with_rsync(
            transport, [points[k] for k in settle if points and k in points]
        )
        result: dict[TaskKey, JobStatus] = {}
        for key in keys:
            shown = live.get(key)
            if shown is not None and not shown.final:
                result[key] = shown
                continue
            attempts = point_records.attempts_of(records, (points or {}).get(key, ""), key)
            result[key] = restricted.ended_status(f"{key[0]}_{key[1]}", attempts, shown)
        return result

    def find(self, transport: Transport, names: Mapping[str, float]) -> dict[str, str]:
        """squeue only (no sacct); an array that has left squeue is found by ``recorded``."""
        return RestrictedSlurmBackend().jobs_named(transport, names)

    def recorded(
        self, transport: Transport, chunk_dirs: Sequence[str]
    ) -> dict[str, SubmissionTrace]:
        """The array id its tasks wrote in each chunk folder (one rsync for all). No lock
        to ask: a submission still in flight is waited for by its age."""
        texts = point_records.read_files(transport, chunk_dirs, [ARRAY_JOB_FILE])
        traces = {}
        for chunk_dir in chunk_dirs:
            words = texts[chunk_dir][ARRAY_JOB_FILE].split()
            job = words[0] if words else ""
            traces[chunk_dir] = SubmissionTrace(job if job.isdigit() else None, False)
        return traces

    def cancel(self, transport: Transport, array_ids: Sequence[str]) -> None:
        RestrictedSlurmBackend().cancel(transport, dict.fromkeys(array_ids, ""))


def sbatch_argv(chunk_dir: str, options: Sequence[str]) -> list[str]:
    """sbatch of the chunk's array script, run in its folder (``--chdir``), which the
    script also learns from HPCRUN_CHUNK_DIR; prints ``jobid[;cluster]``."""
    return restricted.sbatch_argv(chunk_dir, options, ARRAY_SCRIPT, CHUNK_DIR_VARIABLE)


def _one_word(option: str) -> str:
    """``--comment`` (for people reading squeue) without its spaces: no quoting here."""
    return option.replace(" ", ",") if option.startswith("--comment=") else option


def _job_name(item: BatchItem) -> str:
    prefix = "--job-name="
    return next((o[len(prefix) :] for o in item.options if o.startswith(prefix)), "")
