"""A detached run's artifacts are fetched by the first command that follows it to its end
(``wait``, ``logs -f``), once; declared paths the job did not create are named in a warning;
``logs -f`` on a run whose folder has gone says so. On the local site."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import hpcrun, ps_json
from tests.conftest import write

WORKFLOWS = """\
workflows:
  - name: makes
    provider: bash
    commands: [mkdir -p out, echo hi > out/a.txt, echo hello > $OUTPUT_FOLDER/b.txt]
    artifacts: [out]
  - name: forgets
    provider: bash
    commands: [mkdir -p out, echo hi > out/a.txt]
    artifacts: [out, model.pt, logs/run.txt]
  - name: empty-folder
    provider: bash
    commands: [mkdir -p out/empty]
    artifacts: [out/empty]
  - name: slow
    provider: bash
    commands: [sleep 2, mkdir -p out, echo late > out/a.txt]
    artifacts: [out]
  - name: sleepy
    provider: bash
    commands: [echo started, sleep 60]
"""

FETCHED = "artifacts of {run} are in"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    return tmp_path


def detached(project: Path, workflow: str) -> str:
    result = hpcrun("submit", "-d", workflow, cwd=project)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def record_of(run: str) -> dict:
    return {r["run"]: r for r in ps_json()}[run]


def test_wait_fetches_a_detached_runs_artifacts_once(project: Path) -> None:
    run = detached(project, "makes")
    assert record_of(run)["artifacts_fetched_at"] is None
    result = hpcrun("wait", run)
    assert result.returncode == 0, result.stderr
    assert FETCHED.format(run=run) in result.stderr
    record = record_of(run)
    folder = Path(record["artifacts_dir"])
    assert (folder / "out" / "a.txt").read_text() == "hi\n"
    assert (folder / "output" / "b.txt").read_text() == "hello\n"
    assert record["artifacts_fetched_at"]
    shown = hpcrun("show", run)
    assert f"fetched {record['artifacts_fetched_at']} into {folder}" in shown.stdout
    again = hpcrun("wait", run, "--json")  # fetched already: not again
    assert again.returncode == 0 and FETCHED.format(run=run) not in again.stderr
    assert json.loads(again.stdout)[0]["artifacts_fetched_at"] == record["artifacts_fetched_at"]


def test_logs_follow_fetches_and_show_says_when_not_yet(project: Path) -> None:
    run = detached(project, "slow")
    assert "not fetched yet" in hpcrun("show", run).stdout
    result = hpcrun("logs", "-f", run)
    assert result.returncode == 0, result.stderr
    assert FETCHED.format(run=run) in result.stderr
    folder = Path(record_of(run)["artifacts_dir"])
    assert (folder / "out" / "a.txt").read_text() == "late\n"


def test_two_followers_fetch_only_once(project: Path) -> None:
    run = detached(project, "slow")
    command = [sys.executable, "-m", "hpcrun", "wait", run]
    followers = [subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                  text=True) for _ in range(2)]  # fmt: skip
    errors = [p.communicate(timeout=120)[1] for p in followers]
    assert [p.returncode for p in followers] == [0, 0], errors
    assert sum(FETCHED.format(run=run) in text for text in errors) == 1, errors


def test_missing_artifact_paths_are_named(project: Path) -> None:
    attached = hpcrun("submit", "forgets", cwd=project)
    assert attached.returncode == 0, attached.stderr
    warning = "declared artifacts model.pt, logs/run.txt were not created by the job"
    assert warning in attached.stderr
    run = detached(project, "forgets")
    waited = hpcrun("wait", run)
    assert waited.returncode == 0 and warning in waited.stderr, waited.stderr
    fetched = hpcrun("artifacts", run)
    assert fetched.returncode == 0 and warning in fetched.stderr, fetched.stderr
    assert "error" not in fetched.stderr
    made = hpcrun("submit", "makes", cwd=project)
    assert made.returncode == 0 and "not created" not in made.stderr
    empty = hpcrun("submit", "empty-folder", cwd=project)  # an empty folder was created
    assert empty.returncode == 0 and "not created" not in empty.stderr, empty.stderr
    folder = Path(ps_json()[0]["artifacts_dir"])
    assert (folder / "out" / "empty").is_dir()


def test_logs_follow_on_a_run_whose_folder_has_gone(project: Path) -> None:
    ended = detached(project, "makes")
    assert hpcrun("wait", ended).returncode == 0
    shutil.rmtree(record_of(ended)["remote_dir"])
    result = hpcrun("logs", "-f", ended, timeout=60)
    assert result.returncode == 1, result.stderr
    assert f"the run folder of {ended} is gone" in result.stderr

    running = detached(project, "sleepy")
    try:
        shutil.rmtree(record_of(running)["remote_dir"])
        result = hpcrun("logs", "-f", running, timeout=60)
        assert result.returncode == 1, result.stderr
        assert f"the run folder of {running} is gone" in result.stderr
    finally:
        hpcrun("cancel", running)
