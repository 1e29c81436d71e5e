"""Job arrays on the local site: ONE detached runner per chunk runs its tasks as local
processes, at most ``max_parallel`` at once, and records each task's start and exit status
in files, so a tick that exits at once leaves the points running and the next tick reads
their states from the files.

Chunk folder: ``.jobid`` ("pid starttime" of the runner, written under ``.submit.lock``
like a plain local job), ``tasks/<i>.start`` and ``tasks/<i>.exit``, and per task the log
``slurm-<array id>_<i>.log`` as on Slurm. The runner is the array's job id.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpcrun.errors import HpcrunError
from hpcrun.ops.backends import SubmissionTrace
from hpcrun.ops.backends.local import (
    CANCEL_FILE,
    JOBID_FILE,
    SUBMIT_LOCK,
    _alive,
    _lock_held,
    _read,
    _start_time,
)
from hpcrun.ops.backends.slurm_array import ARRAY_SCRIPT, BatchItem, BatchOutcome
from hpcrun.schedulers.status import JobStatus

TASKS = "tasks"

# $1 chunk folder, $2 number of tasks, $3 at most this many at once. `wait -n` (bash 4.3+)
# frees a slot as soon as any task ends.
_RUNNER = r"""
cd "$1" || exit 1
count=$2 limit=$3
mkdir -p tasks
export SLURM_ARRAY_JOB_ID=$$ SLURM_SUBMIT_DIR=$PWD SLURM_ARRAY_TASK_COUNT=$count
run_task() {
  date +%s > "tasks/$1.start"
  SLURM_ARRAY_TASK_ID=$1 SLURM_JOB_ID="$$_$1" bash ./sweep.sbatch \
    > "slurm-$$_$1.log" 2>&1 < /dev/null
  echo $? > "tasks/$1.exit.tmp" && mv "tasks/$1.exit.tmp" "tasks/$1.exit"
}
for ((i = 0; i < count; i++)); do
  [ -e .hpcrun-cancelled ] && break
  while [ "$(jobs -rp | wc -l)" -ge "$limit" ]; do wait -n; done
  run_task "$i" &
done
wait
"""


class LocalArrays:
    chains_arrays = False  # no dependencies: the tick starts one array at a time
    grace_seconds = 0.0  # the runner records itself before the lock is let go

    def max_array_size(self, transport: Any) -> int:
        return 1_000_000  # no scheduler limit: one runner per sweep tick

    def default_parallel(self) -> int | None:
        return os.cpu_count() or 1

    def submit_batch(
        self,
        transport: Any,
        chunks_dir: str,
        items: Sequence[BatchItem],
        after: Sequence[str] = (),
        chain: bool = False,
        plan: Any = None,
    ) -> BatchOutcome:
        """The same contract as on Slurm, in this process (no remote command to save):
        each item's runner in turn, stopping at the first that fails to start."""
        outcome = BatchOutcome()
        for index, item in enumerate(items):
            try:
                job = self.submit(transport, f"{chunks_dir}/{item.folder}", item.options)
            except HpcrunError as exc:
                outcome.failed = (index, exc)
                outcome.not_run += range(index + 1, len(items))
                break
            outcome.submitted.append((index, job))
        return outcome

    def submit(
        self, transport: Any, chunk_dir: str, options: Sequence[str], plan: Any = None
    ) -> str:
        directory = Path(chunk_dir)
        count, limit = _array_size(options)
        lock = os.open(directory / SUBMIT_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            recorded = (_read(directory / JOBID_FILE) or "").split()
            if recorded:
                return recorded[0]  # started before: never a second runner
            process = subprocess.Popen(
                ["bash", "-c", _RUNNER, "hpcrun-array", str(directory), str(count),
                 str(limit or self.default_parallel())],
                cwd=directory, env={**os.environ, "SLURM_JOB_NAME": _option(options, "job-name")},
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
            started = _start_time(process.pid)
            temp = directory / f"{JOBID_FILE}.tmp"
            temp.write_text(f"{process.pid} {started}\n")
            temp.replace(directory / JOBID_FILE)
            return str(process.pid)
        finally:
            os.close(lock)

    def poll(
        self,
        transport: Any,
        tasks: Mapping[str, Sequence[int]],
        dirs: Mapping[str, str],
        points: Mapping[tuple[str, int], str] | None = None,
    ) -> dict[tuple[str, int], JobStatus]:
        """``dirs``: array id -> chunk folder (the state lives in files there; the local
        runner knows how each task ended, so ``points`` is not needed)."""
        result = {}
        for array, indices in tasks.items():
            directory = Path(dirs[array])
            alive = _alive(directory) is not None
            cancelled = (directory / CANCEL_FILE).exists()
            for index in indices:
                result[(array, index)] = _task_status(directory, array, index, alive, cancelled)
        return result

    def find(self, transport: Any, names: Mapping[str, float]) -> dict[str, str]:
        return {}  # no queue: a started runner has recorded itself (.jobid)

    def recorded(self, transport: Any, chunk_dirs: Sequence[str]) -> dict[str, SubmissionTrace]:
        traces = {}
        for chunk_dir in chunk_dirs:
            directory = Path(chunk_dir)
            in_flight = _lock_held(directory)
            recorded = (_read(directory / JOBID_FILE) or "").split()
            traces[chunk_dir] = SubmissionTrace(recorded[0] if recorded else None, in_flight)
        return traces


def _task_status(
    directory: Path, array: str, index: int, alive: bool, cancelled: bool
) -> JobStatus:
    from datetime import datetime, timezone

    def stamp(path: Path) -> str | None:
        try:
            moment = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
        except OSError:
            return None
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    job_id = f"{array}_{index}"
    start, end = directory / TASKS / f"{index}.start", directory / TASKS / f"{index}.exit"
    text = _read(end)
    if text is not None and text.lstrip("-").isdigit():
        code = int(text)
        state = "completed" if code == 0 else ("cancelled" if cancelled else "failed")
        return JobStatus(job_id, state, state.upper(), True, code, None, stamp(start), stamp(end))
    if alive:
        if start.exists():
            return JobStatus(job_id, "running", "RUNNING", False, started_at=stamp(start))
        return JobStatus(job_id, "pending", "PENDING", False, reason="waiting for a free slot")
    if cancelled:
        return JobStatus(job_id, "cancelled", "CANCELLED", True)
    why = "the local runner ended without recording this task's exit code"
    return JobStatus(job_id, "unknown", "", True, reason=why)


def _option(options: Sequence[str], name: str) -> str:
    prefix = f"--{name}="
    return next((o[len(prefix) :] for o in options if o.startswith(prefix)), "")


def _array_size(options: Sequence[str]) -> tuple[int, int | None]:
    """``--array=0-(n-1)[%k]`` -> (n, k)."""
    spec = _option(options, "array")
    indices, _, throttle = spec.partition("%")
    last = indices.rpartition("-")[2]
    return int(last) + 1, int(throttle) if throttle else None


__all__ = ["ARRAY_SCRIPT", "LocalArrays"]
