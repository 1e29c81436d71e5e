"""The local site's scheduler: the job script as a detached process on this machine.

The job gets its own session (process group), so it survives the CLI and ``cancel`` can
kill all of it. A small wrapper records the exit code in the run directory when the script
ends, so the final state is known even if no hpcrun process was watching (and, just
before it, what the job used: ``local_usage``). Job ids are the
wrapper's pid; ``.jobid`` holds "pid starttime" so a recycled pid is never mistaken for it.

A killed submitter never leaves an untracked job: it holds ``.submit.lock`` in the run
directory from before the wrapper starts, the wrapper inherits that lock and lets go of it
only after it has written ``.jobid`` itself. So "lock free and no .jobid" proves that no
job process exists for the run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hpcrun.ops.backends import SubmissionTrace, local_usage, log_file
from hpcrun.schedulers.status import JobStatus

EXIT_FILE = ".hpcrun-exit"
CANCEL_FILE = ".hpcrun-cancelled"
JOBID_FILE = ".jobid"
# written by the job script once the program started: "batch-shell-pid program-group-id"
PROGRAM_FILE = ".hpcrun-program"
SUBMIT_LOCK = ".submit.lock"

# $1: run dir; $2..: run dirs that must end with exit code 0 first (like afterok).
# First it records itself in .jobid ("pid starttime", field 22 of /proc/PID/stat), then it
# closes the inherited submit lock (fd $HPCRUN_SUBMIT_LOCK_FD): see the module docstring.
_WRAPPER = r"""
cd "$1" || exit 1
shift
record_self() {
  local stat
  read -r stat < /proc/$$/stat || return 1
  set -- ${stat##*) }
  printf '%s %s\n' "$$" "${20}" > .jobid.job.tmp && mv .jobid.job.tmp .jobid
}
[ -s .jobid ] || record_self || exit 1
case $HPCRUN_SUBMIT_LOCK_FD in ''|*[!0-9]*) ;; *) eval "exec $HPCRUN_SUBMIT_LOCK_FD>&-" ;; esac
unset HPCRUN_SUBMIT_LOCK_FD
usage_python=$HPCRUN_USAGE_PYTHON usage_mem=$HPCRUN_USAGE_MEM_MIB usage_code=$HPCRUN_USAGE_CODE
unset HPCRUN_USAGE_PYTHON HPCRUN_USAGE_MEM_MIB HPCRUN_USAGE_CODE
export SLURM_JOB_ID=$$ JOB_ID=$$ SLURM_JOBID=$$
log="slurm-$$.log"
for dep in "$@"; do
  while [ ! -e "$dep/.hpcrun-exit" ]; do
    if [ -e "$dep/.hpcrun-cancelled" ]; then break; fi
    sleep 1
  done
  if [ "$(cat "$dep/.hpcrun-exit" 2>/dev/null)" != 0 ]; then
    echo "[hpcrun] dependency $dep did not complete successfully; not running" >> "$log"
    echo 1 > .hpcrun-exit.tmp && mv .hpcrun-exit.tmp .hpcrun-exit
    exit 1
  fi
done
if [ -n "$usage_code" ] && [ -x "$usage_python" ]; then
  # runs job.sh and records what it used (backends.local_usage)
  "$usage_python" -I -c "$usage_code" "$usage_mem" >> "$log" 2>&1 </dev/null
else
  bash ./job.sh >> "$log" 2>&1 </dev/null
fi
code=$?
echo "$code" > .hpcrun-exit.tmp && mv .hpcrun-exit.tmp .hpcrun-exit
exit "$code"
"""


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks (field 22 of /proc/PID/stat), or None if it
    is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return fields[19]


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _alive(run_dir: Path) -> int | None:
    """The job's pid if its process is still running."""
    recorded = (_read(run_dir / JOBID_FILE) or "").split()
    if len(recorded) != 2:
        return None
    pid, started = int(recorded[0]), recorded[1]
    return pid if _start_time(pid) == started else None


def _lock_held(run_dir: Path) -> bool:
    """True while a submission (or a wrapper that has not recorded itself) holds the lock."""
    try:
        fd = os.open(run_dir / SUBMIT_LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class LocalBackend:
    grace_seconds = 0.0  # no queue in between: a started job has recorded itself or holds the lock

    def submit(
        self, transport: Any, run_dir: str, plan: Any, after: Sequence[tuple[str, str]] = ()
    ) -> str:
        directory = Path(run_dir)
        lock = os.open(directory / SUBMIT_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return self._start(directory, plan, after, lock)
        finally:
            os.close(lock)

    def _start(
        self, directory: Path, plan: Any, after: Sequence[tuple[str, str]], lock: int
    ) -> str:
        recorded = (_read(directory / JOBID_FILE) or "").split()
        if recorded:
            return recorded[0]  # submitted before: never start a second copy
        env = {
            **os.environ,
            "SLURM_SUBMIT_DIR": str(directory),
            "SLURM_JOB_NAME": plan.job_name,
            "SLURM_CPUS_PER_TASK": str(plan.cpus_per_task or 1),
            "SLURM_NTASKS": "1",
            "SLURM_JOB_NUM_NODES": "1",
            "HPCRUN_SUBMIT_LOCK_FD": str(lock),
            **local_usage.wrapper_env(plan),
        }
        process = subprocess.Popen(
            ["bash", "-c", _WRAPPER, "hpcrun-job", str(directory), *(d for _, d in after)],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=(lock,),
        )
        started = _start_time(process.pid)
        if started is not None and not (directory / JOBID_FILE).exists():
            # the wrapper writes the same line; whichever lands first, .jobid exists on return
            temp = directory / f"{JOBID_FILE}.tmp"
            temp.write_text(f"{process.pid} {started}\n")
            temp.replace(directory / JOBID_FILE)
        return str(process.pid)

    def poll(self, transport: Any, jobs: Mapping[str, str]) -> dict[str, JobStatus]:
        return {job_id: self._status(job_id, Path(run_dir)) for job_id, run_dir in jobs.items()}

    def _status(self, job_id: str, run_dir: Path) -> JobStatus:
        ended = self._ended(job_id, run_dir)
        if ended is not None:
            return ended
        if _alive(run_dir) is not None:
            return JobStatus(job_id, "running", "RUNNING", False)
        # the wrapper may have written its exit code and gone since the first look
        ended = self._ended(job_id, run_dir)
        if ended is not None:
            return ended
        if (run_dir / CANCEL_FILE).exists():
            return JobStatus(job_id, "cancelled", "CANCELLED", True, None)
        return JobStatus(
            job_id, "unknown", "", True, reason="the process ended without recording an exit code"
        )

    @staticmethod
    def _ended(job_id: str, run_dir: Path) -> JobStatus | None:
        """The final status if the wrapper has recorded the exit code."""
        exit_text = _read(run_dir / EXIT_FILE)
        if exit_text is None or not exit_text.lstrip("-").isdigit():
            return None
        code = int(exit_text)
        if code != 0 and (run_dir / CANCEL_FILE).exists():
            return JobStatus(job_id, "cancelled", "CANCELLED", True, code)
        state = "completed" if code == 0 else "failed"
        used = local_usage.read_usage(run_dir)
        return JobStatus(job_id, state, state.upper(), True, code, usage=used)

    def cancel(self, transport: Any, jobs: Mapping[str, str]) -> None:
        for run_dir in jobs.values():
            directory = Path(run_dir)
            (directory / CANCEL_FILE).touch()
            pid = _alive(directory)
            if pid is None:
                continue
            # The job script traps SIGTERM and passes it to the program's own process
            # group, so a checkpoint handler runs; what still lives after 5 s is killed.
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and (
                _alive(directory) is not None or _program_group(directory) is not None
            ):
                time.sleep(0.1)
            if _alive(directory) is not None:
                _signal_group(pid, signal.SIGKILL)
            group = _program_group(directory)
            if group is not None:
                _signal_group(group, signal.SIGKILL)

    def signal(self, transport: Any, jobs: Mapping[str, str], name: str) -> list[str]:
        """Send SIG``name`` to each job's batch shell, which passes it to the program (as
        Slurm's ``scancel --batch --signal``); the job ids it could not reach."""
        missed = []
        for job_id, run_dir in jobs.items():
            directory = Path(run_dir)
            shell = _batch_shell(directory)
            if shell is None:
                missed.append(job_id)
                continue
            with contextlib.suppress(ProcessLookupError):
                os.kill(shell, getattr(signal, f"SIG{name}"))
        return missed

    def log_path(self, run_dir: str, job_id: str) -> str:
        return log_file(run_dir, job_id)

    def inspect_submissions(
        self, transport: Any, run_dirs: Sequence[str]
    ) -> dict[str, SubmissionTrace]:
        traces = {}
        for run_dir in run_dirs:
            directory = Path(run_dir)
            in_flight = _lock_held(directory)  # before .jobid: see SlurmBackend's note
            recorded = (_read(directory / JOBID_FILE) or "").split()
            traces[run_dir] = SubmissionTrace(recorded[0] if recorded else None, in_flight)
            # (no since_attempt: the local site has no grace period to measure)
        return traces

    def jobs_named(self, transport: Any, names: Mapping[str, float]) -> dict[str, str]:
        return {}  # no queue: a job that exists has recorded itself (module docstring)


def _program_pids(directory: Path) -> tuple[int, int] | None:
    fields = (_read(directory / PROGRAM_FILE) or "").split()
    if len(fields) != 2 or not all(f.isdigit() for f in fields):
        return None
    return int(fields[0]), int(fields[1])


def _batch_shell(directory: Path) -> int | None:
    """The job script's shell, if it runs still and is the job's (in the process group of
    the wrapper recorded in .jobid): never a recycled pid."""
    pids, wrapper = _program_pids(directory), _alive(directory)
    if pids is None or wrapper is None:
        return None
    try:
        stat = Path(f"/proc/{pids[0]}/stat").read_text()
    except OSError:
        return None
    return pids[0] if stat.rsplit(")", 1)[1].split()[2] == str(wrapper) else None


def _program_group(directory: Path) -> int | None:
    """The program's process group while any process of it lives (a pid of its leader that
    was reused would lead another group, so the group is checked, not the pid)."""
    pids = _program_pids(directory)
    if pids is None:
        return None
    try:
        os.killpg(pids[1], 0)
    except (ProcessLookupError, PermissionError):
        return None
    return pids[1]


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)
