"""Issue 8, defect 10: a submission that fails on the cluster before sbatch (here: the
Python environment cannot be built on the login node, after the code was uploaded) leaves
no run folder behind, and the run is recorded failed with the reason."""

from __future__ import annotations

from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant, workflows

BROKEN = """workflows:
  - name: broken
    provider: python
    file: main.py
    version: "3.12"
    requirements: requirements.txt
"""


def test_failed_staging_leaves_nothing_under_runs(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "p"
    workflows(project, BROKEN, **{"main.py": "print('never')\n", "requirements.txt": "six\n"})
    site = site_variant(cluster.site_config, tmp_path, env_build="login")
    result = hpcrun("submit", "broken", "--site", site, cwd=project)
    assert result.returncode == 1, result.stderr
    assert "building the Python environment" in result.stderr
    [record] = ps_json()
    assert (record["state"], record["final"], record["job_id"]) == ("failed", True, None)
    assert "building the Python environment" in record["state_reason"]
    assert cluster.ssh_ok("ls ~/hpcrun/runs/").split().count(record["run"]) == 0
    assert record["remote_dir"].endswith(f"/hpcrun/runs/{record['run']}")
