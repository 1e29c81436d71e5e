"""A workflow that fits on no node of the real test cluster (one node: 8 CPUs, 8000 MiB,
2 a100 + 2 v100): `render --check` refuses it naming the largest node (exit 2), `submit`
warns before the job is queued, `site check` lists the largest node per partition."""

from __future__ import annotations

from pathlib import Path

from tests.cli import hpcrun
from tests.integration.conftest import Cluster
from tests.integration.remote import workflows

WORKFLOWS = """workflows:
  - name: huge
    provider: bash
    version: "3.11"
    commands: [echo ran]
    resources: {cpu: 100000}
  - name: greedy
    provider: bash
    version: "3.11"
    commands: [echo ran]
    resources: {memory: 64GB, gpu: {name: a100, count: 3}}
  - name: fits
    provider: bash
    version: "3.11"
    commands: [echo ran]
    resources: {cpu: 8, memory: 7GB, gpu: {name: a100, count: 2}}
"""


def test_render_check_refuses_what_no_node_holds(cluster: Cluster, tmp_path: Path) -> None:
    site = str(cluster.site_config)
    workflows(tmp_path, WORKFLOWS)
    huge = hpcrun("render", "huge", "--site", site, "--check", cwd=tmp_path)
    assert huge.returncode == 2, huge.stderr
    assert "100000 CPUs per task, but the largest node of partition 'main' has 8" in huge.stderr
    assert "hpcrun site check" in huge.stderr and "Traceback" not in huge.stderr
    greedy = hpcrun("render", "greedy", "--site", site, "--check", cwd=tmp_path)
    assert greedy.returncode == 2, greedy.stderr
    assert "of memory, but the largest node of partition 'main' has 8000 MiB" in greedy.stderr
    assert "3 a100 GPUs, but the largest node of partition 'main' has 2" in greedy.stderr
    fits = hpcrun("render", "fits", "--site", site, "--check", cwd=tmp_path)
    assert fits.returncode == 0, fits.stderr


def test_submit_warns_before_queueing(cluster: Cluster, tmp_path: Path) -> None:
    workflows(tmp_path, WORKFLOWS)
    result = hpcrun("submit", "huge", "--site", str(cluster.site_config), "-d", cwd=tmp_path)
    run = result.stdout.strip()
    try:
        assert result.returncode == 0, result.stderr
        warning = result.stderr.index("warning: this job fits on no node of site 'testcluster'")
        assert warning < result.stderr.index(f"submitted {run}")
        assert "100000 CPUs per task, but the largest node of partition 'main' has 8" in (
            result.stderr
        )
    finally:
        if run:
            hpcrun("cancel", run)


def test_site_check_lists_the_largest_nodes(cluster: Cluster) -> None:
    result = hpcrun("site", "check", str(cluster.site_config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   nodes main: 1 node(s), largest 8 CPUs, 8000 MiB, 2 a100, 2 v100" in result.stdout
    assert "ok   nodes preempt: 1 node(s)" in result.stdout
