"""`hpcrun rerun` of a Slurm run on the real cluster: the same args, flags and site config
(its snapshot: the YAML is gone by then), with a flag given to rerun winning."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import hpcrun
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant, workflows

WORKFLOWS = """workflows:
  - name: echo
    provider: python
    file: echo.py
    version: "3.11"
"""
ECHO = "import os, sys\nprint('ARGS', sys.argv[1:], 'X', os.environ.get('X'), flush=True)\n"


def test_rerun_of_a_cluster_run(cluster: Cluster, tmp_path: Path) -> None:
    site = Path(site_variant(cluster.site_config, tmp_path / "sites"))
    project = workflows(tmp_path / "proj", WORKFLOWS, **{"echo.py": ECHO}).parent
    first = hpcrun("submit", "echo", "--site", str(site), "-e", "X=1", "--time", "5m",
                   "--", "a b", cwd=project, timeout=180)  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "ARGS ['a b'] X 1" in first.stdout
    run = first.stderr.split("submitted ", 1)[1].split()[0]
    site.unlink()  # rerun uses the run's recorded site config, not the YAML

    again = hpcrun("rerun", run, "-e", "X=2", cwd=tmp_path, timeout=180)
    assert again.returncode == 0, again.stderr
    assert "ARGS ['a b'] X 2" in again.stdout
    new = again.stderr.split("submitted ", 1)[1].split()[0]
    shown = json.loads(hpcrun("show", new, "--json").stdout)
    assert shown["overrides"] == {"args": ["a b"], "env": ["X=2"], "time": "5m"}
    assert shown["site"] == json.loads(hpcrun("show", run, "--json").stdout)["site"]
    assert [e["state"] for e in shown["state_history"]][-1] == "completed"
    assert shown["job_id"] and shown["code_hash"].startswith("sha256:")
