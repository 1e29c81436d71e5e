"""Job arrays on Slurm for the sweep tick: ALL of a tick's chunks submitted by ONE remote
command (an idempotent ``sbatch --array`` per chunk folder), ONE squeue and at most ONE
sacct for all of a sweep's arrays, MaxArraySize, and finding a chunk's array by its job
name."""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hpcrun.errors import HpcrunError, RemoteError
from hpcrun.ops.backends import SchedulerUnavailable, SubmissionTrace, point_records
from hpcrun.ops.backends.slurm import (
    SUBMIT_GRACE_SECONDS,
    SlurmBackend,
    _raise_sbatch_error,
    _unavailable_or_failed,
)
from hpcrun.schedulers import slurm, slurm_arrays
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.base import (
    DEFAULT_COMMAND_TIMEOUT,
    CommandFailed,
    CommandResult,
    Shell,
    Transport,
    TransportError,
)

ARRAY_SCRIPT = "sweep.sbatch"
BATCH_LOCK = ".batch.lock"  # in the sweep's chunks/ folder: held while a batch submits
ABANDONED = f"{ARRAY_SCRIPT}.abandoned"  # a chunk no batch may submit any more
# Test-only: "<k>:<seconds>", the batch sleeps that long after its k-th chunk (so that a test
# can kill the tick while the remote command is half way).
PAUSE_ENV = "HPCRUN_TEST_SUBMIT_PAUSE"

# ONE remote command for all of a tick's chunks. stdin: per chunk, NUL-terminated fields
# (no value is ever parsed by the shell): its folder (under the chunks folder), the number
# of sbatch options, the options. The whole batch holds chunks/.batch.lock, so one batch at
# a time submits the sweep's chunks, and the next tick's reconcile knows whether a batch
# (maybe of a killed tick) may still submit one. Under it, per chunk: `.submit.lock` is
# touched (an attempt began: its mtime dates it), and sbatch runs only if the folder has no
# `.jobid` yet, writing it: running a chunk again prints its recorded array instead of
# submitting it twice. (A .jobid left empty or torn by a killed batch reads as "no job id":
# the reconcile then asks Slurm by the chunk's job name.) Only sbatch is a new process.
# One line per chunk on stdout, `chunk <i> ok <sbatch output>` / `chunk <i> failed <code>`
# (sbatch's stderr then on stderr) / `chunk <i> abandoned`; then `stop` (after a failure:
# the rest were not run) or `end`. Printing fails once the tick is gone: no more sbatch.
_BATCH = r"""trap '' PIPE
say() { printf '%s\n' "$*" 2>/dev/null || exit 0; }
cd @CHUNKS@ || exit 1
exec 9>>@LOCK@
flock 9 || exit 1
top=$PWD
deps=@AFTER@
i=0
while IFS= read -r -d '' dir && IFS= read -r -d '' count; do
  opts=()
  for ((k = 0; k < count; k++)); do IFS= read -r -d '' opt; opts+=("$opt"); done
  if ! cd "$top/$dir" 2>/dev/null || [ ! -e @SCRIPT@ ]; then
    say "chunk $i abandoned"
    i=$((i + 1))
    continue
  fi
  if [ @CHAIN@ = 1 ] && [ -n "$deps" ]; then opts+=("--dependency=afterany:$deps"); fi
  : > .submit.lock
  if [ -s .jobid ] || sbatch --parsable "${opts[@]}" @SCRIPT@ > .jobid 2> .sbatch.err < /dev/null
  then
    out=
    read -r out < .jobid
    say "chunk $i ok $out"
    deps=${deps:+$deps:}${out%%;*}
  else
    say "chunk $i failed $?"
    cat .sbatch.err >&2 2> /dev/null
    say stop
    exit 0
  fi
  i=$((i + 1))@PAUSE@
done
say end
"""

# The chunks' traces for the reconcile (one round trip): per chunk folder, numbered,
# whether its lock is held OR its sweep's batch lock is (a batch may still submit it), how
# long ago a submission last took its lock, its .jobid, and whether it was abandoned: no
# submission ever took its lock and no batch holds the batch lock, so (under that lock) its
# array script is renamed and no batch started later can ever submit it.
_INSPECT_HEAD = r"""now=$(date +%s)
inspect() {
  local held=0 since= job= gone=0
  if [ -e "$2/.submit.lock" ]; then
    if ! flock -n "$2/.submit.lock" true 2>/dev/null; then held=1; fi
    since=$((now - $(stat -c %Y "$2/.submit.lock" 2>/dev/null || echo "$now")))
  fi
  job=$(head -n 1 "$2/.jobid" 2>/dev/null | head -c 200 | tr -d '\r|')
  if [ "$3" = 1 ]; then
    held=1
  elif [ -z "$since" ] && [ -z "$job" ]; then
    gone=1
    mv -f "$2/@SCRIPT@" "$2/@ABANDONED@" 2>/dev/null
  fi
  printf '%s|%s|%s|%s|%s\n' "$1" "$held" "$since" "$job" "$gone"
}
"""
_INSPECT_GROUP = """if [ -d {parent} ]; then
  {{ if flock -n 9; then b=0; else b=1; fi
{calls}
  }} 9>>{lock}
else
{idle}
fi
"""


@dataclass(frozen=True)
class BatchItem:
    """One chunk of a submit command: its folder's name under the chunks folder and its
    sbatch options (without the dependency: the batch adds it)."""

    folder: str
    options: tuple[str, ...]


@dataclass
class BatchOutcome:
    """What one submit command did, per item index."""

    submitted: list[tuple[int, str]] = field(default_factory=list)  # (item, array id)
    failed: tuple[int, HpcrunError] | None = None  # sbatch refused or failed for this one
    not_run: list[int] = field(default_factory=list)  # certainly no sbatch for these
    # the command ended without saying how far it got: items in none of the lists above
    # may or may not be queued (their chunks stay 'submitting' for the next reconcile)
    cut_short: HpcrunError | None = None

    @property
    def attempted(self) -> int:
        return len(self.submitted) + (self.failed is not None)


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

    def submit_batch(
        self,
        transport: Transport,
        chunks_dir: str,
        items: Sequence[BatchItem],
        after: Sequence[str] = (),
        chain: bool = False,
        plan: Any = None,
    ) -> BatchOutcome:
        """Submit every item in ONE remote command, in order, stopping at the first that
        sbatch refuses. ``chain``: each array waits (afterany) for ``after`` and for the
        arrays submitted before it in this batch."""
        outcome = BatchOutcome()
        if not items:
            return outcome
        code = _fill(
            _BATCH, CHUNKS=shlex.quote(chunks_dir), LOCK=BATCH_LOCK, SCRIPT=ARRAY_SCRIPT,
            AFTER=shlex.quote(":".join(after)), CHAIN=str(int(chain)), PAUSE=_pause(),
        )  # fmt: skip
        fields = []
        for item in items:
            fields += [item.folder, str(len(item.options)), *item.options]
        payload = "".join(f"{value}\0" for value in fields)
        # sbatch takes a few ms; a slow controller many more: a long batch gets longer
        limit = max(DEFAULT_COMMAND_TIMEOUT, 2.0 * len(items))
        try:
            result = transport.run(Shell(code), input=payload, timeout=limit)
        except TransportError as exc:
            outcome.cut_short = exc
            return outcome
        finished = False
        for line in result.stdout.splitlines():
            words = line.split(" ", 3)
            if words in (["end"], ["stop"]):
                finished = True
            if len(words) < 3 or words[0] != "chunk" or not words[1].isdigit():
                continue  # not the batch's (a login banner, a shell start-up file)
            index = int(words[1])
            if index >= len(items):
                continue
            if words[2] == "ok":
                try:
                    outcome.submitted.append((index, slurm.parse_sbatch(line.split(" ", 3)[3])))
                except (ValueError, IndexError):
                    outcome.failed = (index, CommandFailed(result, "sbatch"))
            elif words[2] == "failed" and len(words) == 4:
                status = int(words[3]) if words[3].isdigit() else 1
                refused = CommandResult(result.argv, status, "", result.stderr)
                outcome.failed = (index, _sbatch_error(refused, transport, plan))
            elif words[2] == "abandoned":
                outcome.not_run.append(index)
        seen = {i for i, _ in outcome.submitted} | set(outcome.not_run)
        if outcome.failed is not None:
            seen.add(outcome.failed[0])
        if finished:
            outcome.not_run += [i for i in range(len(items)) if i not in seen]
        elif len(seen) < len(items):
            outcome.cut_short = CommandFailed(result, "submitting the sweep's arrays")
        return outcome

    def poll(
        self,
        transport: Transport,
        tasks: Mapping[str, Sequence[int]],
        dirs: Mapping[str, str] | None = None,
        points: Mapping[tuple[str, int], str] | None = None,
    ) -> dict[tuple[str, int], JobStatus]:
        """Status of every listed task (array id -> task indices): one squeue for all, and
        one sacct only if some task is finished or no longer listed; one more command only
        if some ended TIMEOUT, PREEMPTED or FAILED: their points' records (``points``: each
        task's point folder) say how the program really ended. (``dirs``, the chunk
        folders, is for the local site.)"""
        if not tasks:
            return {}
        live = queued_tasks(transport, tasks)
        keys = [(array, index) for array, indices in tasks.items() for index in indices]
        settle = sorted({a for a, i in keys if (a, i) not in live or live[(a, i)].final}, key=int)
        accounted: dict[tuple[str, int], JobStatus] = {}
        if settle:
            history = transport.run(slurm_arrays.sacct_arrays_argv(settle))
            if not history.ok:
                raise _unavailable_or_failed(history, "sacct")
            accounted = slurm_arrays.parse_sacct_tasks(history.stdout)
        merged = {key: slurm_arrays.merge_tasks(live, accounted, key) for key in keys}
        doubtful = point_records.to_correct(merged, points or {})
        if not doubtful:
            return merged
        records = point_records.read_with_shell(transport, doubtful)
        return point_records.corrected(merged, points or {}, records)

    def find(self, transport: Transport, names: Mapping[str, float]) -> dict[str, str]:
        """Array id per job name (name -> seconds since the chunk was recorded); a name
        missing from the answer carries no job (SchedulerUnavailable if unsure)."""
        return SlurmBackend().jobs_named(transport, names)

    def recorded(
        self, transport: Transport, chunk_dirs: Sequence[str]
    ) -> dict[str, SubmissionTrace]:
        """Per chunk folder: its .jobid, whether a submission (its own, or its batch's) is
        in flight, and whether it was abandoned (see ``_INSPECT_HEAD``); one round trip."""
        if not chunk_dirs:
            return {}
        groups: dict[str, list[int]] = {}
        for index, chunk_dir in enumerate(chunk_dirs):
            groups.setdefault(chunk_dir.rstrip("/").rpartition("/")[0] or ".", []).append(index)
        parts = [_fill(_INSPECT_HEAD, SCRIPT=ARRAY_SCRIPT, ABANDONED=ABANDONED)]
        for parent, indices in groups.items():
            calls = [f"inspect {i} {shlex.quote(chunk_dirs[i])}" for i in indices]
            parts.append(_INSPECT_GROUP.format(
                parent=shlex.quote(parent), lock=shlex.quote(f"{parent}/{BATCH_LOCK}"),
                calls="\n".join(f"    {c} $b" for c in calls),
                idle="\n".join(f"  {c} 0" for c in calls),
            ))  # fmt: skip
        result = transport.run(Shell("".join(parts)))
        if not result.ok:
            raise CommandFailed(result, "looking for recorded job ids")
        traces: dict[str, SubmissionTrace] = {}
        for line in result.stdout.splitlines():
            index, held, since, text, gone = [*line.split("|", 4), "", "", "", ""][:5]
            if not index.isdigit() or int(index) >= len(chunk_dirs):
                continue
            try:
                job_id: str | None = slurm.parse_sbatch(text) if text.strip() else None
            except ValueError:
                job_id = None  # a torn .jobid: decided by the job name instead
            ago = float(since) if since.lstrip("-").isdigit() else None
            traces[chunk_dirs[int(index)]] = SubmissionTrace(
                job_id, held == "1", ago, abandoned=gone.strip() == "1"
            )
        if len(traces) != len(chunk_dirs):
            raise CommandFailed(result, "looking for recorded job ids (incomplete answer)")
        return traces

    def cancel(self, transport: Transport, array_ids: Sequence[str]) -> None:
        SlurmBackend().cancel(transport, dict.fromkeys(array_ids, ""))


def queued_tasks(
    transport: Transport, tasks: Mapping[str, Sequence[int]]
) -> dict[tuple[str, int], JobStatus]:
    """What ONE squeue says of the arrays' tasks; {} when the controller has forgotten one
    of the arrays (accounting, or the points' own records, tell)."""
    queue = transport.run(slurm_arrays.squeue_arrays_argv(list(tasks)))
    if queue.ok:
        return slurm_arrays.parse_squeue_tasks(queue.stdout)
    if slurm.is_invalid_job_id(queue.stderr):
        return {}
    raise _unavailable_or_failed(queue, "squeue")


def _sbatch_error(result: CommandResult, transport: Transport, plan: Any) -> HpcrunError:
    """sbatch's failure, classified as a single submission classifies it."""
    text = result.stderr.strip() or result.stdout.strip()
    if slurm_arrays.is_submit_limit(text):
        return SubmitLimited(f"sbatch: {text.splitlines()[-1] if text else 'refused'}")
    try:
        _raise_sbatch_error(result, transport, plan)
    except HpcrunError as exc:
        return exc
    return CommandFailed(result, "sbatch")


def _fill(template: str, **values: str) -> str:
    """``@NAME@`` placeholders (shell code is full of braces): values already quoted."""
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    return template


def _pause() -> str:
    """The test-only pause (PAUSE_ENV) as shell code, or nothing."""
    after, _, seconds = os.environ.get(PAUSE_ENV, "").partition(":")
    if not (after.isdigit() and seconds.replace(".", "", 1).isdigit()):
        return ""
    return f"\n  if [ $i -eq {int(after)} ]; then sleep {float(seconds)}; fi"


__all__ = [
    "ARRAY_SCRIPT",
    "BatchItem",
    "BatchOutcome",
    "SchedulerUnavailable",
    "SlurmArrays",
    "SubmitLimited",
]
