"""`hpcrun site check` against the live test cluster."""

from __future__ import annotations

from pathlib import Path

from tests.cli import hpcrun
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant


def test_the_test_site_checks_out(cluster: Cluster) -> None:
    result = hpcrun("site", "check", str(cluster.site_config))
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("ok   connect: ssh", "ok   partition default: main", "ok   gpu A100: gres gpu:a100",
                 "python/3.11"):  # fmt: skip
        assert line in result.stdout


def test_a_wrong_site_config_is_caught(cluster: Cluster, tmp_path: Path) -> None:
    site = site_variant(
        cluster.site_config, tmp_path,
        partitions={"default": "gpu"}, gpus={"H100": {"gres": "h100"}},
        modules={"python": {"3.11": "python/3.11", "3.9": "python/3.9"}},
    )  # fmt: skip
    result = hpcrun("site", "check", site)
    assert result.returncode == 1
    assert "FAIL partition default: gpu" in result.stdout
    assert "hint: partitions here: main, preempt, short" in result.stdout
    assert "FAIL gpu H100: gres gpu:h100" in result.stdout
    assert "ok   python 3.11: python/3.11: Python 3.11" in result.stdout
    assert "FAIL python 3.9" in result.stdout


def test_render_check_asks_sbatch_without_queueing(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "p"
    (project).mkdir()
    (project / "a.py").write_text("print(1)\n")
    (project / "workflows.yaml").write_text(
        "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    version: '3.11'\n"
        "    resources:\n      gpu: {name: V100, count: 2}\n"
    )
    good = hpcrun("render", "w", "--site", str(cluster.site_config), "--check", cwd=project)
    assert good.returncode == 0, good.stderr
    assert "to start at" in good.stderr and "#SBATCH --gres=gpu:v100:2" in good.stdout
    bad_site = site_variant(cluster.site_config, tmp_path, partitions={"default": "nosuch"})
    bad = hpcrun("render", "w", "--site", bad_site, "--check", cwd=project)
    assert bad.returncode == 1
    assert "sbatch would reject this script" in bad.stderr and "Invalid partition" in bad.stderr
    # --test-only queues nothing: no job of that name was ever accounted
    assert not cluster.ssh_ok("sacct -n -X -P -o JobID --name w-dryrun -S now-1hours").strip()
    assert not cluster.ssh_ok("ls ~/hpcrun/tmp/ 2>/dev/null || true").strip()
