"""workflows.yaml loading: every field, every alias, and errors that say where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcrun.errors import SpecError, UsageError
from hpcrun.spec.load import load_workflows
from hpcrun.spec.models import BashWorkflow, PythonWorkflow, env_pairs
from tests.conftest import write


def load(project: Path, text: str, cli_vars: dict[str, str] | None = None):
    return load_workflows(write(project / ".dstack" / "workflows.yaml", text), cli_vars or {})


def only(project: Path, text: str, name: str = "w", **kwargs):
    return load(project, text, **kwargs).get(name)


def test_every_python_field(project: Path) -> None:
    workflow = only(
        project,
        """
workflows:
  - name: w
    help: Trains
    provider: python
    file: train.py
    args: ["--epochs", 10, --lr, 2e-5]
    before_run: [echo hi]
    requirements: requirements.txt
    version: "3.9"
    environment: {PYTHONPATH: src, SEED: 1, DEBUG: true}
    env: [A=1, B]
    artifacts: [out, {path: model, mount: true}]
    working_dir: src
    deps: [prepare:latest, ":best", {workflow: other}, {tag: t1}]
    resources:
      cpu: 4
      memory: 16GB
      gpu: {count: 2, name: A100, memory: 40GB}
      shm_size: 1GiB
      interruptible: true
""",
    )
    assert isinstance(workflow, PythonWorkflow)
    assert workflow.file == "train.py"
    assert workflow.args == ["--epochs", "10", "--lr", "2e-5"]  # as written, not 2e-05
    assert workflow.before_run == ["echo hi"]
    assert workflow.version == "3.9"
    assert workflow.environment == {"PYTHONPATH": "src", "SEED": "1", "DEBUG": "true"}
    assert env_pairs(workflow)[-2:] == [("A", "1"), ("B", None)]
    assert [a.path for a in workflow.artifacts] == ["out", "model"]
    assert workflow.artifacts[1].mount is True
    assert [d.text for d in workflow.deps] == ["prepare:latest", ":best", "other", ":t1"]
    resources = workflow.resources
    assert (resources.cpu, int(resources.memory), resources.interruptible) == (4, 16 * 10**9, True)
    assert (resources.gpu.count, resources.gpu.name, int(resources.gpu.memory)) == (
        2,
        "A100",
        40 * 10**9,
    )
    assert int(resources.shm_size) == 2**30


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("version: 3.10", "3.10"),  # a YAML float would be 3.1
        ("version: 3.8", "3.8"),
        ('version: "3.9"', "3.9"),
        ("python: 3.10", "3.10"),
        ("", "3.10"),
    ],
)
def test_version_keeps_its_text(project: Path, line: str, expected: str) -> None:
    text = f"workflows:\n  - name: w\n    provider: python\n    file: a.py\n    {line}\n"
    assert only(project, text).version == expected


@pytest.mark.parametrize("key", ["file", "script", "python_script"])
def test_file_aliases(project: Path, key: str) -> None:
    text = f"workflows:\n  - name: w\n    provider: python\n    {key}: main.py\n"
    assert only(project, text).file == "main.py"


def test_depends_on_alias(project: Path) -> None:
    text = "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    depends-on: [a:latest]\n"
    assert only(project, text).deps[0].workflow == "a"


def test_args_string_is_split_like_a_shell(project: Path) -> None:
    text = """workflows:\n  - name: w\n    provider: python\n    file: a.py\n    args: --name "two words" -x\n"""
    assert only(project, text).args == ["--name", "two words", "-x"]


@pytest.mark.parametrize(
    ("gpu", "count", "name"),
    [
        ("1", 1, None),
        ("4", 4, None),
        ("{name: V100}", 1, "V100"),
        ("{name: K80, count: 4}", 4, "K80"),
    ],
)
def test_gpu_forms(project: Path, gpu: str, count: int, name: str | None) -> None:
    text = f"workflows:\n  - name: w\n    provider: python\n    file: a.py\n    resources:\n      gpu: {gpu}\n"
    workflow = only(project, text)
    assert (workflow.resources.gpu.count, workflow.resources.gpu.name) == (count, name)


def test_legacy_gpu_key(project: Path) -> None:
    text = "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    resources:\n      K80/gpu: 2\n"
    gpu = only(project, text).resources.gpu
    assert (gpu.name, gpu.count) == ("K80", 2)


def test_zero_gpus_means_none(project: Path) -> None:
    text = "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    resources:\n      gpu: 0\n"
    assert only(project, text).resources.gpu is None


def test_bash_provider(project: Path) -> None:
    text = "workflows:\n  - name: w\n    provider: bash\n    commands:\n      - echo 1\n      - echo 2\n"
    workflow = only(project, text)
    assert isinstance(workflow, BashWorkflow)
    assert workflow.commands == ["echo 1", "echo 2"]


def test_misspelled_key_names_line_and_suggests(project: Path) -> None:
    text = "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    requirement: r.txt\n"
    with pytest.raises(SpecError) as caught:
        only(project, text)
    [problem] = caught.value.problems
    assert (problem.location.line, problem.location.column) == (5, 5)
    assert problem.field == "workflows[w].requirement"
    assert "unknown key 'requirement'" in problem.message
    assert problem.hint == "did you mean 'requirements'?"
    rendered = caught.value.render()
    assert (
        f"{project}/.dstack/workflows.yaml:5:5: workflows[w].requirement: unknown key" in rendered
    )


def test_all_problems_are_reported_at_once_in_file_order(project: Path) -> None:
    text = """workflows:
  - name: w
    provider: python
    file: a.py
    gpu: 1
    resources:
      memory: 16
      cpu: many
      gpu: {name: V100, cont: 2}
"""
    with pytest.raises(SpecError) as caught:
        only(project, text)
    lines = [(p.location.line, p.field) for p in caught.value.problems]
    assert lines == [
        (5, "workflows[w].gpu"),
        (7, "workflows[w].resources.memory"),
        (8, "workflows[w].resources.cpu"),
        (9, "workflows[w].resources.gpu.cont"),
    ]
    hints = [p.hint for p in caught.value.problems]
    assert "belongs under 'resources:'" in hints[0]
    assert hints[3] == "did you mean 'count'?"


def test_missing_file_field(project: Path) -> None:
    with pytest.raises(SpecError, match="1 problem") as caught:
        only(project, "workflows:\n  - name: w\n    provider: python\n")
    assert caught.value.problems[0].message == "this field is required"
    assert caught.value.problems[0].field == "workflows[w].file"


def test_alias_and_canonical_together_is_an_error(project: Path) -> None:
    text = "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    script: b.py\n"
    with pytest.raises(SpecError) as caught:
        only(project, text)
    assert "'file' and 'script' mean the same thing" in caught.value.problems[0].message


@pytest.mark.parametrize(
    ("provider", "fragment", "hint"),
    [
        ("python==3.8", "the Python version goes in its own field", 'version: "3.8"'),
        ("python train.py --x", "takes one word", "args:"),
        ("streamlit", "not supported by hpcrun", "other workflows"),
        ("pyhton", "unknown provider", "did you mean 'python'?"),
    ],
)
def test_provider_errors(project: Path, provider: str, fragment: str, hint: str) -> None:
    text = f"workflows:\n  - name: w\n    provider: {provider}\n    file: a.py\n  - name: ok\n    provider: python\n    file: b.py\n"
    loaded = load(project, text)
    assert loaded.get("ok").file == "b.py"  # the other workflow is not blocked
    with pytest.raises(SpecError) as caught:
        loaded.get("w")
    [problem] = caught.value.problems
    assert fragment in problem.message
    assert hint in problem.hint
    assert problem.location.line == 3


def test_unknown_workflow_suggests(project: Path) -> None:
    loaded = load(project, "workflows:\n  - name: train\n    provider: python\n    file: a.py\n")
    with pytest.raises(UsageError, match="no workflow named 'trian'") as caught:
        loaded.get("trian")
    assert caught.value.hint == "did you mean 'train'?"


def test_yaml_syntax_error_has_position(project: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load(project, "workflows:\n  - name: w\n    provider: [python\n")
    problem = caught.value.problems[0]
    assert problem.location.line >= 3
    assert "invalid YAML" in problem.message


def test_duplicate_names_and_keys(project: Path) -> None:
    text = "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    file: b.py\n  - name: w\n    provider: python\n    file: c.py\n"
    loaded = load(project, text)
    messages = [p.message for p in loaded.all_problems()]
    assert "'file' is given twice in this mapping" in messages
    assert "a workflow named 'w' is already defined above" in messages


def test_not_a_workflows_file(project: Path) -> None:
    loaded = load(project, "jobs:\n  - name: w\n")
    with pytest.raises(SpecError, match="cannot be read as workflows"):
        loaded.get("w")


# --- variables -----------------------------------------------------------------------

VARIABLES = """variables:
  train:
    gpu: 2
    lr: 0.001
  global:
    epochs: 5
"""
TRAIN = """workflows:
  - name: train
    provider: python
    file: train.py
    args: [--lr, "${{ lr }}", "--epochs=${{ epochs }}"]
    resources:
      gpu: ${{ gpu }}
  - name: other
    provider: python
    file: other.py
    resources:
      gpu: ${{ gpu }}
"""


def test_variables_from_file_per_workflow_and_global(project: Path) -> None:
    write(project / ".dstack" / "variables.yaml", VARIABLES)
    workflow = load(project, TRAIN).get("train")
    assert workflow.args == ["--lr", "0.001", "--epochs=5"]
    assert workflow.resources.gpu.count == 2


def test_cli_variables_override_the_file(project: Path) -> None:
    write(project / ".dstack" / "variables.yaml", VARIABLES)
    workflow = load(project, TRAIN, {"gpu": "3", "epochs": "9"}).get("train")
    assert workflow.resources.gpu.count == 3
    assert workflow.args[-1] == "--epochs=9"


def test_undefined_variable_names_it_and_where_it_is_defined(project: Path) -> None:
    write(project / ".dstack" / "variables.yaml", VARIABLES)
    loaded = load(project, TRAIN)
    with pytest.raises(SpecError) as caught:
        loaded.get("other")
    [problem] = caught.value.problems
    assert problem.message == "undefined variable 'gpu'"
    assert problem.location.line == 12
    assert "defined for workflow 'train' only" in problem.hint
    assert "--var gpu=VALUE" in problem.hint
