"""Inputs that used to be accepted silently are clear errors (issue 8, defect 9): an
environment variable name ending in a newline, zero or negative sizes, duplicate workflow
names. (Cycles and missing deps, where validate and submit must agree, are driven through
the CLI in tests/local/test_hostile_names.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hpcrun.errors import SpecError, UsageError
from hpcrun.spec.load import load_workflows
from hpcrun.spec.models import BashWorkflow
from hpcrun.spec.overrides import Overrides, apply_overrides
from tests.cli import hpcrun
from tests.conftest import DATA, write

SITE = str(DATA / "sites" / "gpu-cluster.yaml")


def workflow(**fields: object) -> BashWorkflow:
    return BashWorkflow.model_validate(
        {"name": "w", "provider": "bash", "commands": ["true"], **fields}
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"environment": {"A\n": "1"}},
        {"environment": ["A\n=1"]},
        {"env": ["A\n=1"]},
        {"env": ["A\n"]},
        {"env": {"A\n": "1"}},
        {"environment": {"A B": "1"}},
    ],
)
def test_env_name_with_a_newline_or_space_is_refused(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="is not a valid environment variable name"):
        workflow(**fields)


def test_env_name_with_a_newline_from_the_command_line_is_refused() -> None:
    with pytest.raises(UsageError, match="-e/--env: 'A\\\\n'.* not a valid environment"):
        apply_overrides(workflow(), Overrides(env=("A\n=1",)))
    assert apply_overrides(workflow(), Overrides(env=("A_1=x",))).env == ["A_1=x"]


@pytest.mark.parametrize(
    "resources",
    [
        {"memory": "0GB"},
        {"memory": "0"},
        {"memory": "0.0MiB"},
        {"shm_size": "0MB"},
        {"gpu": {"count": 1, "memory": "0GB"}},
    ],
)
def test_zero_sizes_are_refused_not_dropped(resources: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="greater than zero|has no unit"):
        workflow(resources=resources)


@pytest.mark.parametrize("size", ["-1GB", "-0GB"])
def test_negative_sizes_are_refused(size: str) -> None:
    with pytest.raises(ValidationError, match="is not a size"):
        workflow(resources={"memory": size})


@pytest.mark.parametrize(
    ("overrides", "flag"),
    [
        (Overrides(memory="0GB"), "--memory"),
        (Overrides(shm_size="0GB"), "--shm-size"),
        (Overrides(gpu=1, gpu_memory="0GB"), "--gpu-memory"),
        (Overrides(memory="-2GB"), "--memory"),
    ],
)
def test_zero_sizes_from_the_command_line_are_refused(overrides: Overrides, flag: str) -> None:
    with pytest.raises(UsageError, match=f"{flag}: .*(greater than zero|not a size)"):
        apply_overrides(workflow(), overrides)


def test_memory_zero_flag_is_refused_by_submit(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", "workflows:\n  - {name: w, provider: bash, commands: [x]}\n")
    result = hpcrun("submit", "w", "--memory", "0GB", "--dry-run", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "--memory: memory '0GB' is not a size greater than zero" in result.stderr


DUPLICATED = """workflows:
  - {name: w, provider: bash, commands: [echo first]}
  - {name: other, provider: bash, commands: [echo other]}
  - {name: w, provider: bash, commands: [echo second]}
"""


def test_a_duplicated_name_cannot_be_picked(tmp_path: Path) -> None:
    loaded = load_workflows(write(tmp_path / "workflows.yaml", DUPLICATED))
    with pytest.raises(SpecError, match="'w' is defined 2 times") as caught:
        loaded.get("w")
    [problem] = caught.value.problems
    assert problem.location is not None and problem.location.line == 4
    assert loaded.get("other").name == "other"  # the rest of the file still works


@pytest.mark.parametrize("command", [["render"], ["submit", "--dry-run"], ["submit"]])
def test_render_and_submit_refuse_a_duplicated_name(tmp_path: Path, command: list[str]) -> None:
    write(tmp_path / "workflows.yaml", DUPLICATED)
    result = hpcrun(*command, "w", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "workflows.yaml:4:" in result.stderr and "defined 2 times" in result.stderr
    assert "echo first" not in result.stdout


def test_validate_reports_the_duplicate_and_does_not_call_it_ok(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", DUPLICATED)
    result = hpcrun("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "a workflow named 'w' is already defined above" in result.stderr
    assert "ok       other" in result.stdout and "ok       w\n" not in result.stdout


@pytest.mark.parametrize(
    "site",
    [{"partitions": {"default": "main\n"}}, {"defaults": {"time": "01:00:00\n"}}],
)
def test_site_names_and_times_ending_in_a_newline_are_refused(site: dict[str, object]) -> None:
    from hpcrun.site.models import Site

    with pytest.raises(ValidationError, match="is not a (valid Slurm name|time limit)"):
        Site.model_validate({"name": "x", "scheduler": "slurm", **site})


def test_the_legacy_gpu_key_matches_the_whole_key() -> None:
    assert workflow(resources={"K80/gpu": 2}).resources.gpu.name == "K80"
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        workflow(resources={"K80/gpu\n": 1})
