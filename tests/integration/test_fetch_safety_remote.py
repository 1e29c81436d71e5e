"""Safe artifact fetches from the real test cluster (rsync over both SSH transports): a
real Slurm job leaves a setuid file, a 0777 file and symlinks pointing outside; none of
them comes home, and each refused link is named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.cli import hpcrun
from tests.hostile_artifacts import WORKFLOWS, check_fetched
from tests.integration.conftest import Cluster
from tests.integration.remote import run_of, site_variant, workflows


@pytest.mark.parametrize("transport", ["paramiko", "openssh"])
def test_hostile_artifacts_are_fetched_safely(
    cluster: Cluster, tmp_path: Path, transport: str
) -> None:
    site = site_variant(cluster.site_config, tmp_path, login={"transport": transport})
    project = tmp_path / "proj"
    workflows(project, WORKFLOWS)
    result = hpcrun("submit", "hostile", "--site", site, cwd=project, timeout=240)
    assert result.returncode == 0, result.stderr
    run = result.stderr.split("artifacts of ")[-1].split()[0]
    artifacts = Path(run_of(run)["artifacts_dir"])
    check_fetched(artifacts, result.stderr)

    shutil.rmtree(artifacts)
    again = hpcrun("artifacts", run, "--dest", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    check_fetched(tmp_path / "again", again.stderr)
