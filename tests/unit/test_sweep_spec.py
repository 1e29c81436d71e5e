"""The ``sweep:`` block: located errors and warnings, and ${{ parameter }} placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcrun.errors import SpecError, UsageError
from hpcrun.ops.prepare import prepare
from hpcrun.spec.load import load_workflows
from hpcrun.spec.sweep import MAX_POINTS
from tests.conftest import write

HEAD = "workflows:\n  - name: s\n    provider: python\n    file: t.py\n"


def load(tmp_path: Path, body: str, variables: str | None = None, **cli: str):
    write(tmp_path / "t.py", "")
    if variables is not None:
        write(tmp_path / "variables.yaml", variables)
    return load_workflows(write(tmp_path / "workflows.yaml", HEAD + body), cli)


def problems(loaded) -> list[str]:
    return [p.render() for p in loaded.problems.get("s", [])]


def warnings(loaded) -> list[str]:
    return [p.render() for p in loaded.warnings.get("s", [])]


def test_parameters_stay_placeholders_where_allowed(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        '    args: "--lr=${{ lr }} --tag ${{ tag }}"\n'
        "    environment:\n      LR: 'x${{lr}}'\n"
        "    env: ['BS=${{ bs }}']\n"
        "    working_dir: 'runs/${{ bs }}'\n"
        "    sweep:\n      matrix: {lr: [0.1, 0.01], bs: [32]}\n",
        "variables:\n  global: {tag: v1}\n",
    )
    workflow = loaded.get("s")
    assert workflow.args == ["--lr=${{lr}}", "--tag", "v1"]  # one word; variables filled in
    assert workflow.environment == {"LR": "x${{lr}}"}
    assert workflow.env == ["BS=${{bs}}"]
    assert workflow.working_dir == "runs/${{bs}}"
    assert workflow.sweep.matrix == {"lr": ["0.1", "0.01"], "bs": ["32"]}
    assert warnings(loaded) == []


def test_a_parameter_wins_over_a_variable_of_the_same_name(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "    args: ['${{ lr }}']\n    sweep: {matrix: {lr: [1]}}\n",
        "variables:\n  global: {lr: 5}\n",
    )
    assert loaded.get("s").args == ["${{lr}}"]


def test_parameter_outside_its_fields_is_a_located_error(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "    resources:\n      cpu: ${{ n }}\n    before_run: ['echo ${{ n }}']\n"
        "    sweep: {matrix: {n: [1, 2]}}\n",
    )
    found = problems(loaded)
    assert len(found) == 2
    assert "workflows[s].resources.cpu" in found[0] and ":6:" in found[0]
    assert "workflows[s].before_run[0]" in found[1] and ":7:" in found[1]
    assert "args, environment/env and working_dir" in found[0]
    assert "$HPCRUN_PARAM_N" in found[0]


def test_unknown_reference_is_an_error_with_its_line(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, "    args: ['${{ lr }}', '${{ nope }}']\n    sweep: {matrix: {lr: [1]}}\n"
    )
    (found,) = problems(loaded)
    assert ":5:" in found and "undefined variable 'nope'" in found


@pytest.mark.parametrize(
    ("sweep", "line", "field", "message"),
    [
        ("{matrix: {lr: []}}", 6, "sweep.matrix.lr", "at least one value"),
        ("{matrix: {lr: [1, [2]]}}", 6, "sweep.matrix.lr[1]", "must be a scalar"),
        ("{matrix: {lr: [1, {a: 2}]}}", 6, "sweep.matrix.lr[1]", "must be a scalar"),
        ("{matrix: {lr: [1, ~]}}", 6, "sweep.matrix.lr[1]", "got null"),
        ('{matrix: {lr: ["a\\tb"]}}', 6, "sweep.matrix.lr[0]", "tab, a line break"),
        ("{matrix: {my-lr: [1]}}", 6, "sweep.matrix.my-lr", "parameter name 'my-lr'"),
        ("{matrix: {lr: [1], LR: [2]}}", 6, "sweep.matrix.LR", "both become HPCRUN_PARAM_LR"),
        ("{matrix: {lr: [1]}, include: [{lr: 2, bs: 3}]}", 6, "sweep.include[0]",
         "has unknown bs"),
        ("{matrix: {lr: [1], bs: [2]}, include: [{lr: 2}]}", 6, "sweep.include[0]", "misses bs"),
        ("{matrix: {lr: [1]}, exclude: [{bs: 1}]}", 6, "sweep.exclude[0]", "unknown parameters"),
        ("{matrix: {lr: [1]}, exclude: [{lr: 1}]}", 6, "workflows[s].sweep", "no points"),
        ("{matrix: {lr: [1]}, max_parallel: 0}", 6, "sweep.max_parallel", "greater than"),
        ("{matrix: {lr: [1]}, retries: -1}", 6, "sweep.retries", "greater than"),
        ("{}", 6, "workflows[s].sweep", "needs parameters"),
        ("{matrix: {lr: [1]}, retry: 2}", 6, "sweep.retry", "unknown key"),
    ],
)  # fmt: skip
def test_sweep_mistakes_are_located(
    tmp_path: Path, sweep: str, line: int, field: str, message: str
) -> None:
    loaded = load(tmp_path, f"    args: [x]\n    sweep: {sweep}\n")
    found = problems(loaded)
    assert found, "expected a problem"
    assert any(f":{line}:" in p and field in p and message in p for p in found), found
    with pytest.raises(SpecError):
        loaded.get("s")


def test_huge_sweep_is_refused(tmp_path: Path) -> None:
    values = ", ".join(str(i) for i in range(400))
    loaded = load(tmp_path, f"    sweep:\n      matrix: {{a: [{values}], b: [{values}]}}\n")
    (found,) = problems(loaded)
    assert f"more than the limit of {MAX_POINTS:,}" in found and ":6:" in found


def test_warnings_are_located_and_do_not_stop_the_workflow(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "    args: ['${{ lr }}']\n"
        "    sweep:\n"
        "      matrix: {lr: [0.1, 0.2], seed: [1]}\n"
        "      exclude: [{lr: 0.10}]\n",
    )
    assert loaded.get("s").sweep.parameters == ("lr", "seed")
    found = warnings(loaded)
    assert len(found) == 2
    assert ":8:" in found[0] and "exclude[0] matches no point" in found[0]
    assert ":7:" in found[1] and "'seed' is not used" in found[1]
    assert "$HPCRUN_PARAM_SEED" in found[1]


def test_single_values_and_options(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "    args: ['${{ a }}', '${{ b }}']\n"
        "    sweep: {matrix: {a: 1, b: [true, x]}, max_parallel: 3, retries: 2}\n",
    )
    sweep = loaded.get("s").sweep
    assert sweep.matrix == {"a": ["1"], "b": ["true", "x"]}
    assert (sweep.max_parallel, sweep.retries) == (3, 2)


def test_a_sweep_is_not_submitted_as_one_job(tmp_path: Path) -> None:
    write(tmp_path / "t.py", "")
    path = write(
        tmp_path / "workflows.yaml",
        HEAD + "    args: ['${{ lr }}']\n    sweep: {matrix: {lr: [1]}}\n",
    )
    with pytest.raises(UsageError, match="is a parameter sweep") as caught:
        prepare(path, "s", site="local")
    assert "hpcrun sweep" in (caught.value.hint or "")


def test_validate_checks_every_points_folder_and_shows_warnings(tmp_path: Path) -> None:
    from hpcrun.ops.validate import validate_file

    write(tmp_path / "runs" / "a" / "t.py", "")
    body = "    working_dir: runs/${{ d }}\n    sweep: {matrix: {d: [a, b], unused: [1]}}\n"
    write(tmp_path / "workflows.yaml", HEAD + body)
    report = validate_file(tmp_path / "workflows.yaml")
    assert report.valid == []
    (problem,) = report.problems
    assert problem.field == "workflows[s].working_dir"
    assert "point d=b," in problem.message and "does not exist" in problem.message
    (warning,) = report.warnings
    assert "'unused' is not used" in warning.message
    write(tmp_path / "runs" / "b" / "t.py", "")
    report = validate_file(tmp_path / "workflows.yaml")
    assert (report.valid, report.problems, len(report.warnings)) == (["s"], [], 1)
