"""A local submitter killed right after starting the job never leaves it untracked: the
job records itself in .jobid before it lets go of the run folder's submit lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh
from hpcrun.store import RunRecord
from tests.conftest import write

# Starts the job through the real LocalBackend, then hangs right after the process is
# started (before the submitter would record it) until the test kills it.
_SUBMITTER = """
import sys, time, types
from hpcrun.ops.backends import local
started = sys.argv[2]
def hang(pid):
    open(started, "w").close()
    time.sleep(600)
local._start_time = hang
plan = types.SimpleNamespace(job_name="x", cpus_per_task=1)
local.LocalBackend().submit(None, sys.argv[1], plan)
"""


def test_killed_local_submitter_leaves_a_tracked_job(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    write(run_dir / "job.sh", "echo job ran\nsleep 1\n")
    started = tmp_path / "started"
    with Session() as session:
        _, path = session.site("local")
        session.store.create_run(
            RunRecord(run="x-1", workflow="x", site="local", site_config=str(path),
                      remote_dir=str(run_dir))
        )  # fmt: skip
        submitter = subprocess.Popen([sys.executable, "-c", _SUBMITTER, str(run_dir), str(started)])
        deadline = time.monotonic() + 30
        while not started.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the submitter never started the job"
        os.kill(submitter.pid, signal.SIGKILL)
        submitter.wait()
        for _ in range(100):  # the job runs on; ps adopts it and sees it end
            refresh(session)
            record = session.store.get("x-1")
            if record.final:
                break
            time.sleep(0.1)
    assert (record.state, record.exit_code) == ("completed", 0), record
    assert record.job_id == (run_dir / ".jobid").read_text().split()[0]
    assert "job ran" in (run_dir / f"slurm-{record.job_id}.log").read_text()


def test_a_run_without_a_job_id_is_not_cancelled_on_a_guess(tmp_path: Path) -> None:
    import pytest

    from hpcrun.errors import RemoteError
    from hpcrun.locks import holding
    from hpcrun.ops.runs import cancel_run

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with Session() as session:
        _, path = session.site("local")
        record = session.store.create_run(
            RunRecord(run="x-2", workflow="x", site="local", site_config=str(path),
                      remote_dir=str(run_dir))
        )  # fmt: skip
        with holding("submit-x-2"), pytest.raises(RemoteError, match="nothing to cancel yet"):
            cancel_run(session, record)  # its submitter may still start the job
        after = session.store.get("x-2")
    assert (after.state, after.final) == ("submitting", False)
