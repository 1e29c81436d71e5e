"""GPU types selected by a node constraint (Perlmutter's `-C gpu&hbm80g`, Jean Zay's
`-C v100-32g`) or with no gres type at all: how the constraint combines with the run's and
the site's, and the #SBATCH lines it renders to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hpcrun.ops.prepare import prepare
from hpcrun.site.constraints import combine, directive_value
from hpcrun.site.models import Site
from tests.conftest import write

SITE = """\
name: constrained
scheduler: slurm
login: {host: login.example.org, user: alice}
modules: {python: "python/{version}"}
gpus:
  A100: {constraint: gpu, memory: 40GB}
  A100-80: {constraint: gpu&hbm80g, memory: 80GB}
  V100-32: {gres: v100, constraint: v100-32g, memory: 32GB}
  T4: {partition: gpu-t4}
defaults: {time: "01:00:00"}
sbatch: [--constraint=gpu, --exclusive]
"""

WORKFLOWS = """\
workflows:
  - name: train
    provider: python
    version: "3.11"
    file: train.py
    resources:
      gpu: {name: A100-80, count: 2}
  - name: by-memory
    provider: python
    version: "3.11"
    file: train.py
    resources:
      gpu: {count: 1, memory: 60GB}
  - name: amd-only
    provider: python
    version: "3.11"
    file: train.py
    resources:
      gpu: {name: A100-80, count: 1}
    slurm: {constraint: "amd|milan"}
  - name: typed
    provider: python
    version: "3.11"
    file: train.py
    resources:
      gpu: {name: V100-32, count: 4}
  - name: by-partition
    provider: python
    version: "3.11"
    file: train.py
    resources:
      gpu: {name: T4, count: 1}
  - name: cpu-only
    provider: python
    version: "3.11"
    file: train.py
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "train.py", "print('train')\n")
    write(tmp_path / "site.yaml", SITE)
    return write(tmp_path / "workflows.yaml", WORKFLOWS)


def sbatch_lines(project: Path, workflow: str) -> list[str]:
    prepared = prepare(project, workflow, site=str(project.parent / "site.yaml"), run="r-0001")
    return [line for line in prepared.script.splitlines() if line.startswith("#SBATCH ")]


def test_a_gpu_constraint_joins_the_sites_and_each_feature_comes_once(project: Path) -> None:
    lines = sbatch_lines(project, "train")
    assert "#SBATCH --gres=gpu:2" in lines  # no gres type: any GPU of the chosen nodes
    assert [line for line in lines if "constraint" in line] == ["#SBATCH --constraint=gpu&hbm80g"]
    assert "#SBATCH --exclusive" in lines  # the site's other lines stay


def test_a_type_chosen_by_memory_brings_its_constraint(project: Path) -> None:
    lines = sbatch_lines(project, "by-memory")
    assert "#SBATCH --constraint=gpu&hbm80g" in lines and "#SBATCH --gres=gpu:1" in lines


def test_the_workflows_constraint_replaces_the_sites_and_joins_the_gpus(project: Path) -> None:
    lines = sbatch_lines(project, "amd-only")
    # the site's `gpu` is replaced by the run's; an OR is grouped so `&` binds it whole
    assert [line for line in lines if "constraint" in line] == [
        "#SBATCH --constraint=gpu&hbm80g&(amd|milan)"
    ]


def test_a_typed_gres_with_a_constraint(project: Path) -> None:
    lines = sbatch_lines(project, "typed")
    assert "#SBATCH --gres=gpu:v100:4" in lines
    assert [line for line in lines if "constraint" in line] == ["#SBATCH --constraint=v100-32g&gpu"]


def test_a_type_selected_by_partition_only(project: Path) -> None:
    lines = sbatch_lines(project, "by-partition")
    assert "#SBATCH --partition=gpu-t4" in lines and "#SBATCH --gres=gpu:1" in lines
    # no constraint of its own: the site's line is left as it was
    assert "#SBATCH --constraint=gpu" in lines


def test_without_a_gpu_the_sites_constraint_line_is_unchanged(project: Path) -> None:
    lines = sbatch_lines(project, "cpu-only")
    assert not any(line.startswith("#SBATCH --gres") for line in lines)
    assert lines[-2:] == ["#SBATCH --constraint=gpu", "#SBATCH --exclusive"]


def test_a_gpu_constraint_is_validated_like_other_constraints() -> None:
    base: dict[str, Any] = {"name": "s", "scheduler": "slurm", "login": {"host": "h"}}
    with pytest.raises(ValidationError, match="is not a valid Slurm constraint"):
        Site.model_validate({**base, "gpus": {"A100": {"constraint": "gpu; rm -rf ~"}}})
    site = Site.model_validate({**base, "gpus": {"A100": {"memory": "40GB"}}})
    assert site.gpus["A100"].gres is None and site.gpus["A100"].constraint is None


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["gpu&hbm80g", "gpu"], "gpu&hbm80g"),
        (["gpu", None], "gpu"),
        ([None, "a|b"], "a|b"),  # alone: exactly as written
        (["gpu", "a|b"], "gpu&(a|b)"),
        (["v100-32g", "[ib1|ib2]"], "v100-32g&([ib1|ib2])"),
        ([None, None], None),
    ],
)
def test_combine(parts: list[str | None], expected: str | None) -> None:
    assert combine(parts) == expected


@pytest.mark.parametrize(
    ("directive", "value"),
    [
        ("--constraint=gpu", "gpu"),
        ("--constraint gpu&ib", "gpu&ib"),
        ("-C 'gpu'", "gpu"),
        ("--constraint=", None),
    ],
)
def test_directive_value(directive: str, value: str | None) -> None:
    assert directive_value(directive) == value
