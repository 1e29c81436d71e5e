"""The public Python API drives real runs on the local site: submit, wait, logs, artifacts,
cancel, and the run list, with the same store the CLI reads."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import pytest

import hpcrun
from hpcrun.errors import WaitTimeoutError
from hpcrun.paths import hpcrun_home
from tests.cli import ps_json
from tests.conftest import write

WORKFLOWS = """\
workflows:
  - name: squares
    provider: python
    file: squares.py
    artifacts: [results]
  - name: sleepy
    provider: bash
    commands: [echo started, sleep 60]
"""
SQUARES = """\
import os, sys
from pathlib import Path
n = int(sys.argv[1])
Path("results").mkdir(exist_ok=True)
Path("results/total.txt").write_text(str(sum(i * i for i in range(n + 1))))
print("greeting", os.environ["GREETING"])
sys.exit(int(sys.argv[2]))
"""


@pytest.fixture
def workflows(tmp_path: Path) -> Path:
    write(tmp_path / "squares.py", SQUARES)
    return write(tmp_path / "workflows.yaml", WORKFLOWS)


def test_submit_wait_logs_artifacts(workflows: Path, tmp_path: Path) -> None:
    run = hpcrun.submit(
        workflows, workflow="squares", args=["4", "0"], env={"GREETING": "hi"}, cpu=1
    )
    assert isinstance(run, hpcrun.Run) and run.workflow == "squares" and run.site == "local"
    assert run.job_id and not run.done
    assert run.wait(timeout=120) is run
    assert (run.state, run.exit_code, run.done) == ("completed", 0, True)
    assert "greeting hi" in run.logs()
    dest = run.artifacts(tmp_path / "out")
    assert dest == tmp_path / "out"
    assert (dest / "results" / "total.txt").read_text() == "30"
    # the CLI sees the same record
    [record] = [r for r in ps_json() if r["run"] == run.name]
    mine = run.to_dict()
    for key in ("workflow", "site", "job_id", "state", "exit_code", "finished_at", "artifacts_dir"):
        assert record[key] == mine[key], key


def test_attached_submit_of_a_file_returns_the_failed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a bare file's project is the current folder, as in the CLI
    script = write(tmp_path / "fail.py", "import sys\nprint('bye')\nsys.exit(3)\n")
    run = hpcrun.submit(script, detach=False)
    assert (run.state, run.exit_code) == ("failed", 3)
    assert run.artifacts_dir is not None and run.artifacts_dir.is_dir()
    assert "bye" in hpcrun.Run(run.name).logs()


def test_cancel_a_sleeping_run_and_filter_runs(workflows: Path) -> None:
    sleepy = hpcrun.submit(workflows, workflow="sleepy")
    with pytest.raises(WaitTimeoutError) as caught:
        sleepy.wait(timeout=0.5, poll=0.1)
    assert caught.value.exit_code == 124
    assert sleepy.refresh().state in ("pending", "running")
    deadline = time.monotonic() + 30
    while "started" not in sleepy.logs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sleepy.cancel() is sleepy
    assert sleepy.state == "cancelled" and sleepy.done
    done = hpcrun.submit(workflows, workflow="squares", args=["1", "0"],
                         env=["GREETING=x"]).wait(timeout=120)  # fmt: skip
    assert [r.name for r in hpcrun.runs()] == [done.name, sleepy.name]  # newest first
    assert hpcrun.runs(state="cancelled") == [sleepy]
    assert hpcrun.runs(state=["completed", "cancelled"], limit=1) == [done]
    assert hpcrun.runs(workflow="squares") == [done]
    assert hpcrun.runs(site="elsewhere") == []


def test_wait_fetches_a_detached_runs_artifacts_once(workflows: Path) -> None:
    run = hpcrun.submit(workflows, workflow="squares", args=["3", "0"], env={"GREETING": "x"},
                        artifacts=["never-made"])  # fmt: skip
    assert run.to_dict()["artifacts_fetched_at"] is None
    with pytest.warns(UserWarning, match="declared artifacts not created by the job: never-made"):
        assert run.wait(timeout=120) is run
    assert run.state == "completed" and run.to_dict()["artifacts_fetched_at"] is not None
    assert run.artifacts_dir == hpcrun_home() / "artifacts" / run.name
    assert (run.artifacts_dir / "results" / "total.txt").read_text() == "14"
    # the record says so to the CLI too, and a second follower fetches (and says) nothing
    [record] = [r for r in ps_json() if r["run"] == run.name]
    assert record["artifacts_fetched_at"] == run.to_dict()["artifacts_fetched_at"]
    (run.artifacts_dir / "results" / "total.txt").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hpcrun.Run(run.name).wait(timeout=30)
    assert not (run.artifacts_dir / "results" / "total.txt").exists()
