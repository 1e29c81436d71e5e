"""Issue 8, defect 1 on the real test cluster: a workflow name that is a `../` chain used to
make `submit ... down` delete `~/victim` on the cluster (`rm -rf` of the dependency's link
target) and exit 0. Now it is refused where the file is read: exit 2, nothing submitted,
the victim intact. The cluster-side guard in the link step is checked too, with a symlink
in a run's tree that points at the victim."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from hpcrun.ops.stage import link_dependency
from hpcrun.site.load import load_site
from hpcrun.transport.base import CommandFailed
from hpcrun.transport.factory import open_transport
from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster
from tests.integration.remote import workflows

ISSUE_YAML = """workflows:
  - {name: ../../../../victim, provider: bash, commands: [echo up]}
  - {name: down, provider: bash, commands: [echo down], deps: [../../../../victim]}
"""
RULE = "1 to 64 characters from A-Z a-z 0-9 . _ -, starting with a letter or a digit"


@pytest.fixture
def victim(cluster: Cluster) -> str:
    """~/victim on the cluster with a file of this test's own; removed afterwards."""
    marker = f"victim/hpcrun-test-{uuid.uuid4().hex[:8]}.txt"
    cluster.ssh_ok(f"mkdir -p ~/victim && echo precious > ~/{marker}")
    yield marker
    cluster.ssh(f"rm -f ~/{marker}; rmdir ~/victim 2>/dev/null; true")


def job_names_since(cluster: Cluster, start: str) -> list[str]:
    out = cluster.ssh_ok(f"sacct -n -X -P -S {start} -o JobName; squeue -h -o %j")
    return [line.strip() for line in out.splitlines() if line.strip()]


def test_the_issue_yaml_is_refused_and_the_victim_survives(
    cluster: Cluster, victim: str, tmp_path: Path
) -> None:
    project = tmp_path / "proj"
    site = str(cluster.site_config)
    start = cluster.ssh_ok("date +%Y-%m-%dT%H:%M:%S").strip()
    before = set(job_names_since(cluster, start))
    for depth in (4, 3, 5, 6):  # the issue's chain, and the ones deeper/shallower
        chain = "../" * depth + "victim"
        workflows(project, ISSUE_YAML.replace("../../../../victim", chain))
        result = hpcrun("submit", "workflows.yaml", "down", "--site", site, cwd=project)
        assert result.returncode == 2, result.stdout + result.stderr
        assert RULE in result.stderr and "workflows.yaml:3:" in result.stderr
        assert "Traceback" not in result.stderr
        checked = hpcrun("validate", "--site", site, cwd=project)
        assert checked.returncode == 2 and RULE in checked.stderr
    assert ps_json() == []  # nothing recorded, so nothing submitted ...
    new = set(job_names_since(cluster, start)) - before
    assert not [n for n in new if n.startswith(("down", "victim"))]  # ... and Slurm agrees
    assert cluster.ssh_ok(f"cat ~/{victim}") == "precious\n"


def test_the_link_step_refuses_a_symlink_out_of_the_run_folder(
    cluster: Cluster, victim: str
) -> None:
    """Defence in depth: even with clean names, `rm -rf` never follows a link out."""
    run = f"guard-{uuid.uuid4().hex[:8]}"
    cluster.ssh_ok(
        f"mkdir -p ~/hpcrun/runs/{run}/code && ln -s ~/victim ~/hpcrun/runs/{run}/code/data"
    )
    site, _ = load_site(str(cluster.site_config))
    transport = open_transport(site)
    try:
        home = transport.home()
        up = SimpleNamespace(
            record=SimpleNamespace(
                remote_dir=f"{home}/hpcrun/runs/{run}-up", workflow="up", run=f"{run}-up"
            ),
            working_dir=None,
            paths=(f"data/{Path(victim).name}",),  # the link target resolves to the victim
        )
        with pytest.raises(CommandFailed, match="outside the run folder"):
            link_dependency(transport, f"{home}/hpcrun/runs/{run}", None, up)
    finally:
        transport.close()
        cluster.ssh(f"rm -rf ~/hpcrun/runs/{run}")
    assert cluster.ssh_ok(f"cat ~/{victim}") == "precious\n"
    assert cluster.ssh_ok(f"test -L ~/{victim} && echo link || echo file").strip() == "file"
