"""``hpcrun rm``, ``hpcrun prune`` and gone run folders on the real test cluster."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster
from tests.integration.remote import run_of, wait_state, workflows
from tests.integration.test_remote_environment import (
    ENV_LINE,
    env_project,
    fresh_wheels_folder,
    index_requirements,
)
from tests.wheels import build_wheel

HELLO = (
    'workflows:\n  - name: hello\n    provider: python\n    file: hello.py\n    version: "3.11"\n'
)
# Older than anything another test made, so prune with this age touches only our folders.
AGE, LONG_AGO = "3000d", "2010-01-01 00:00"


def exists(cluster: Cluster, path: str) -> bool:
    return cluster.ssh(f"test -e {path}").returncode == 0


def test_rm_and_a_gone_folder_on_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    site = str(cluster.site_config)
    workflows(tmp_path, HELLO, **{"hello.py": "print('hi')\n"})
    names = []
    for _ in range(2):
        result = hpcrun("submit", "hello", "--site", site, "-d", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        names.append(result.stdout.strip())
    removed, gone = (wait_state(name, {"completed"}, timeout=60) for name in names)
    assert exists(cluster, removed["remote_dir"])

    result = hpcrun("rm", removed["run"], "--json")
    assert result.returncode == 0, result.stderr
    [entry] = json.loads(result.stdout)["runs"]
    assert entry["remote_dir"] == removed["remote_dir"] and entry["remote_bytes"] > 0
    assert not exists(cluster, removed["remote_dir"])
    assert [r["run"] for r in ps_json()] == [gone["run"]]

    cluster.ssh_ok(f"rm -rf {gone['remote_dir']}")
    for command in ("logs", "artifacts"):
        result = hpcrun(command, gone["run"])
        assert result.returncode == 1, (command, result.stderr)
        assert f"the run folder of {gone['run']} is gone: {gone['remote_dir']}" in result.stderr


def test_prune_keeps_the_env_of_an_unfinished_run(cluster: Cluster, tmp_path: Path) -> None:
    site = str(cluster.site_config)
    project = tmp_path / "p"
    wheels = fresh_wheels_folder()
    build_wheel(project / wheels)
    env_project(project, index_requirements(wheels))
    (project / "use.py").write_text(
        "import time, hpcrun_testpkg\nprint('using it', flush=True)\ntime.sleep(60)\n"
    )
    run = hpcrun("submit", "use", "--site", site, "-d", cwd=project).stdout.strip()
    wait_state(run, {"running"}, timeout=120)
    log = ""
    for _ in range(60):
        log = hpcrun("logs", run).stdout
        if "using it" in log:
            break
        cluster.ssh("sleep 1")
    [(in_use, _)] = ENV_LINE.findall(log)
    unused = f"py3.11-{uuid.uuid4().hex[:16]}"
    cluster.ssh_ok(f"mkdir -p ~/hpcrun/envs/{unused}/bin && echo x > ~/hpcrun/envs/{unused}/bin/x")
    for name in (unused, in_use):  # both look unused for years; only one is
        folder = f"~/hpcrun/envs/{name}"
        cluster.ssh_ok(
            f"touch -d '{LONG_AGO}' {folder}/.hpcrun-used {folder}/.hpcrun-ready {folder}"
        )
    try:
        dry = hpcrun("prune", "--older-than", AGE, "--site", site, "--dry-run", "--json")
        assert dry.returncode == 0, dry.stderr
        listed = [e["path"].rsplit("/", 1)[1] for e in json.loads(dry.stdout)["envs"]]
        assert unused in listed and in_use not in listed
        assert exists(cluster, f"~/hpcrun/envs/{unused}")

        result = hpcrun("prune", "--older-than", AGE, "--site", site)
        assert result.returncode == 0, result.stderr
        assert f"/envs/{unused} (" in result.stdout
        assert not exists(cluster, f"~/hpcrun/envs/{unused}")
        assert exists(cluster, f"~/hpcrun/envs/{in_use}/.hpcrun-ready")
        assert run_of(run)["state"] == "running"  # unfinished runs are never pruned
    finally:
        hpcrun("cancel", run)
        wait_state(run, {"cancelled", "completed", "failed"}, timeout=60)
        # both keys are this test's own (a fresh wheels folder): leave no aged folder behind
        cluster.ssh(f"rm -rf ~/hpcrun/envs/{unused} ~/hpcrun/envs/{in_use}")
