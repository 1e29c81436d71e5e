"""`hpcrun site check` against the live test cluster."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import Cluster
from tests.integration.remote import hpcrun, site_variant


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
    assert "hint: partitions here: main, preempt" in result.stdout
    assert "FAIL gpu H100: gres gpu:h100" in result.stdout
    assert "ok   python 3.11: python/3.11: Python 3.11" in result.stdout
    assert "FAIL python 3.9" in result.stdout
