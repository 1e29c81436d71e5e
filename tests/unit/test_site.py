"""Site configs: the shipped ones are valid, lookups by path and name, located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcrun.errors import SpecError, UsageError
from hpcrun.paths import data_dir
from hpcrun.site.load import load_site
from tests.conftest import DATA, write


@pytest.mark.parametrize(
    "path", sorted(data_dir("site-configs").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_site_configs_are_valid(path: Path) -> None:
    site, found = load_site(str(path))
    assert found == path
    assert site.name == path.stem


def test_default_site_is_local() -> None:
    site, path = load_site(None)
    assert site.name == "local" and site.scheduler == "local"
    assert path.parent == data_dir("site-configs")


def test_hpcrun_site_env_picks_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPCRUN_SITE", str(DATA / "sites" / "gpu-cluster.yaml"))
    site, _ = load_site(None)
    assert site.name == "gpu-cluster"


def test_name_lookup_prefers_the_config_dir(isolated_home: Path) -> None:
    write(isolated_home / "config" / "sites" / "local.yaml", "name: mine\nscheduler: local\n")
    site, _ = load_site("local")
    assert site.name == "mine"


def test_unknown_site_lists_and_suggests() -> None:
    with pytest.raises(UsageError, match="no site named 'locl'") as caught:
        load_site("locl")
    assert caught.value.hint == "did you mean 'local'?"


def test_site_errors_are_located(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.yaml",
        """name: bad
scheduler: slurm
login:
  host: h
  prot: 22
partitions: {default: "has space"}
gpus:
  A100: {gres: a100, memory: 80}
defaults: {time: "1 hour"}
sbatch: ["constraint=x"]
""",
    )
    with pytest.raises(SpecError) as caught:
        load_site(str(path))
    found = {(p.location.line, p.field): (p.message, p.hint) for p in caught.value.problems}
    assert found[(5, "login.prot")][1] == "did you mean 'port'?"
    assert "not a valid Slurm name" in found[(6, "partitions.default")][0]
    assert "has no unit" in found[(8, "gpus.A100.memory")][0]
    assert "not a time limit" in found[(9, "defaults.time")][0]
    assert "not an sbatch option" in found[(10, "sbatch")][0]


def test_python_module_template_needs_version(tmp_path: Path) -> None:
    path = write(tmp_path / "s.yaml", "name: s\nscheduler: slurm\nmodules: {python: python3}\n")
    with pytest.raises(SpecError, match="problems") as caught:
        load_site(str(path))
    assert "{version}" in caught.value.problems[0].message
