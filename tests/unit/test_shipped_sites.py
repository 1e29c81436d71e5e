"""The shipped site configs (site-configs/): each validates, names the public page it follows,
and turns a GPU workflow into a job that asks that cluster for a GPU its own way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli import hpcrun
from tests.conftest import REPO, write

SITES = sorted((REPO / "site-configs").glob("*.yaml"))
CLUSTERS = [p for p in SITES if p.stem not in ("local", "slurm-generic")]

GPU_WORKFLOW = """\
workflows:
  - name: train
    provider: python
    version: "3.11"
    file: train.py
    resources:
      memory: 8GB
      gpu: {count: 2, memory: 16GB}
"""


@pytest.fixture
def gpu_project(tmp_path: Path) -> Path:
    write(tmp_path / "train.py", "print('training')\n")
    return write(tmp_path / "workflows.yaml", GPU_WORKFLOW)


def test_several_real_cluster_styles_are_shipped() -> None:
    assert len(CLUSTERS) >= 3


@pytest.mark.parametrize("site", CLUSTERS, ids=lambda p: p.stem)
def test_a_real_cluster_config_names_the_public_page_it_follows(site: Path) -> None:
    header = site.read_text(encoding="utf-8").split("\nname:", 1)[0]
    assert re.search(r"^#\s+https://\S+", header, re.MULTILINE), site.name


@pytest.mark.parametrize("site", SITES, ids=lambda p: p.stem)
def test_the_site_validates_and_renders_a_gpu_workflow(site: Path, gpu_project: Path) -> None:
    assert hpcrun("validate", str(gpu_project), "--site", str(site)).returncode == 0
    result = hpcrun("render", str(gpu_project), "train", "--site", str(site))
    assert result.returncode == 0, result.stderr
    if site.stem == "local":
        assert "does not reserve GPUs" in result.stderr
        return
    # typed (gpu:a100:2), or untyped where a constraint or partition selects the GPUs
    assert re.search(r"^#SBATCH --gres=gpu:([a-z0-9_.]+:)?2$", result.stdout, re.MULTILINE)


def _directives(site: str, project: Path, *flags: str) -> list[str]:
    result = hpcrun(
        "submit",
        "--dry-run",
        str(project),
        "train",
        "--site",
        str(REPO / "site-configs" / f"{site}.yaml"),
        *flags,
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("#SBATCH ")]


def test_gpus_by_typed_gres_and_a_required_account(gpu_project: Path) -> None:
    lines = _directives("alliance-narval", gpu_project)
    assert "#SBATCH --gres=gpu:a100:2" in lines
    assert "#SBATCH --account=def-someprof" in lines
    assert not any(line.startswith("#SBATCH --partition") for line in lines)


def test_gpus_by_partition(gpu_project: Path) -> None:
    lines = _directives("csc-puhti", gpu_project)
    assert "#SBATCH --partition=gpu" in lines and "#SBATCH --gres=gpu:v100:2" in lines


def test_gpus_by_constraint_and_preemption_by_qos(gpu_project: Path) -> None:
    lines = _directives("nersc-perlmutter-gpu", gpu_project)
    assert "#SBATCH --constraint=gpu" in lines and "#SBATCH --qos=regular" in lines
    assert "#SBATCH --gres=gpu:2" in lines  # untyped: `-C gpu` picks the nodes
    assert sum(line.startswith("#SBATCH --constraint") for line in lines) == 1
    preemptible = _directives("nersc-perlmutter-gpu", gpu_project, "--interruptible")
    assert "#SBATCH --qos=preempt" in preemptible and "#SBATCH --requeue" in preemptible
    assert not any(line.startswith("#SBATCH --partition") for line in preemptible)


def test_a_gpu_type_by_its_own_constraint(gpu_project: Path) -> None:
    # Perlmutter's 80 GB A100s: `-C gpu&hbm80g`, chosen by name or by gpu.memory
    for flags in (["--gpu", "4", "--gpu-name", "A100-80"], ["--gpu", "4", "--gpu-memory", "60GB"]):
        lines = _directives("nersc-perlmutter-gpu", gpu_project, *flags)
        constraints = [line for line in lines if line.startswith("#SBATCH --constraint")]
        assert constraints == ["#SBATCH --constraint=gpu&hbm80g"], flags
        assert "#SBATCH --gres=gpu:4" in lines


def test_modules_named_differently(gpu_project: Path) -> None:
    result = hpcrun(
        "render", str(gpu_project), "train", "--site", str(REPO / "site-configs/csc-puhti.yaml")
    )
    assert "python-data/3.11-25.03" in result.stdout
    result = hpcrun(
        "render",
        str(gpu_project),
        "train",
        "--site",
        str(REPO / "site-configs/nersc-perlmutter-gpu.yaml"),
    )
    assert re.search(r"module load .*\bpython\b", result.stdout), result.stdout
