"""``hpcrun rm``, ``hpcrun prune`` and gone run folders, with real runs on the local site."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from hpcrun.store import default_store
from tests.cli import hpcrun, ps_json
from tests.conftest import REPO, write

EXAMPLE = REPO / "examples" / "quickstart" / "workflows.yaml"
LONG_AGO = "2020-01-01T00:00:00Z"


def finished_run() -> dict:
    result = hpcrun("submit", str(EXAMPLE), "hello")
    assert result.returncode == 0, result.stderr
    [run] = [r for r in ps_json() if r["run"] in result.stderr]
    return run


def wait_running(run: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(r["run"] == run and r["state"] == "running" for r in ps_json()):
            return
        time.sleep(0.2)
    raise AssertionError(f"{run} never ran")


def age(run: str, finished_at: str = LONG_AGO) -> None:
    """Make a finished run look old, through the store API as any writer would."""
    with default_store() as store:
        record = store.get(run)
        store.update_state(run, record.state, finished_at=finished_at, final=True)


def test_rm_removes_folder_artifacts_and_record() -> None:
    run = finished_run()
    folder, artifacts = Path(run["remote_dir"]), Path(run["artifacts_dir"])
    assert folder.is_dir() and artifacts.is_dir()
    result = hpcrun("rm", run["run"], "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    [entry] = report["runs"]
    assert entry["remote_dir"] == str(folder) and entry["remote_bytes"] > 0
    assert entry["local_dir"] == str(artifacts) and entry["local_bytes"] > 0
    assert report["total_bytes"] == entry["remote_bytes"] + entry["local_bytes"]
    assert not folder.exists() and not artifacts.exists()
    assert ps_json() == []


def test_rm_dry_run_changes_nothing() -> None:
    run = finished_run()
    result = hpcrun("rm", run["run"], "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"{run['run']}: would remove {run['remote_dir']}" in result.stdout
    assert "would remove 1 run(s)" in result.stderr
    assert Path(run["remote_dir"]).is_dir() and Path(run["artifacts_dir"]).is_dir()
    assert [r["run"] for r in ps_json()] == [run["run"]]


def test_rm_keeps_a_folder_the_user_chose(tmp_path: Path) -> None:
    result = hpcrun("submit", str(EXAMPLE), "hello", "-d")
    run = result.stdout.strip()
    deadline = time.monotonic() + 30
    while ps_json()[0]["state"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
    dest = tmp_path / "mine"
    assert hpcrun("artifacts", run, "--dest", str(dest)).returncode == 0
    result = hpcrun("rm", run)
    assert result.returncode == 0, result.stderr
    assert f"left {dest} in place" in result.stderr
    assert (dest / "results" / "squares.txt").exists()
    assert ps_json() == []


def test_rm_refuses_a_running_run_and_force_cancels_it(tmp_path: Path) -> None:
    write(tmp_path / "slow.py", "import time\nprint('up', flush=True)\ntime.sleep(300)\n")
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: slow\n    provider: python\n    file: slow.py\n",
    )
    run = hpcrun("submit", "slow", "-d", cwd=tmp_path).stdout.strip()
    wait_running(run)
    refused = hpcrun("rm", run)
    assert refused.returncode == 2
    assert f"not removing unfinished run(s): {run} (running)" in refused.stderr
    assert f"hpcrun rm --force {run}" in refused.stderr
    [record] = ps_json()
    assert record["state"] == "running" and Path(record["remote_dir"]).is_dir()
    pid = int(record["job_id"])
    forced = hpcrun("rm", "--force", run)
    assert forced.returncode == 0, forced.stderr
    assert ps_json() == [] and not Path(record["remote_dir"]).exists()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        stat = Path(f"/proc/{pid}/stat").read_text().split()
        if stat[2] == "Z":
            break
        time.sleep(0.2)
    else:
        assert not Path(f"/proc/{pid}").exists(), "the job still runs after rm --force"


def test_prune_removes_old_finished_runs_only() -> None:
    old, recent = finished_run(), finished_run()
    age(old["run"])
    dry = hpcrun("prune", "--older-than", "30d", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert [r["run"] for r in json.loads(dry.stdout)["runs"]] == [old["run"]]
    assert len(ps_json()) == 2 and Path(old["remote_dir"]).is_dir()
    result = hpcrun("prune", "--older-than", "30d")
    assert result.returncode == 0, result.stderr
    assert f"{old['run']}: removed {old['remote_dir']}" in result.stdout
    assert [r["run"] for r in ps_json()] == [recent["run"]]
    assert not Path(old["remote_dir"]).exists() and not Path(old["artifacts_dir"]).exists()
    assert Path(recent["remote_dir"]).is_dir() and Path(recent["artifacts_dir"]).is_dir()


def test_prune_removes_stale_environments_but_not_fresh_ones(isolated_home: Path) -> None:
    finished_run()  # so the local site has runs, and so its environments are looked at
    envs = isolated_home / "local" / "envs"
    stale, fresh = envs / "py3.11-0badc0ffee000001", envs / "py3.11-0badc0ffee000002"
    not_env = envs / "something-else"
    for folder in (stale, fresh, not_env):
        write(folder / "bin" / "python", "x" * 1000)
    (stale / ".hpcrun-used").touch()
    (fresh / ".hpcrun-used").touch()  # used just now, though the folder itself is old
    old = time.time() - 40 * 86400
    for path in (stale / ".hpcrun-used", stale, fresh, not_env):
        os.utime(path, (old, old))
    dry = hpcrun("prune", "--older-than", "30d", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    [env] = json.loads(dry.stdout)["envs"]
    assert env["path"] == str(stale) and env["bytes"] >= 1000
    assert stale.is_dir()
    result = hpcrun("prune", "--older-than", "30d")
    assert result.returncode == 0, result.stderr
    assert f"environment: removed {stale}" in result.stdout
    assert not stale.exists() and fresh.is_dir() and not_env.is_dir()


def test_logs_and_artifacts_of_a_run_whose_folder_is_gone() -> None:
    run = finished_run()
    shutil.rmtree(run["remote_dir"])
    for command in (("logs", run["run"]), ("artifacts", run["run"])):
        result = hpcrun(*command)
        assert result.returncode == 1, (command, result.stderr)
        assert f"the run folder of {run['run']} is gone: {run['remote_dir']}" in result.stderr
        assert f"hpcrun rm {run['run']}" in result.stderr
    # a run folder that is there but has nothing new is still a quiet success
    again = finished_run()
    assert hpcrun("artifacts", again["run"]).returncode == 0
