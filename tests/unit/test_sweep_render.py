"""A sweep renders as ONE array script plus a point table; values arrive byte for byte."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpcrun.errors import SpecError
from hpcrun.ops.sweep_render import PreparedSweep, prepare_target
from hpcrun.plan import JobPlan
from hpcrun.render import render_sweep_script, shell_word
from hpcrun.sweep.points import make_point
from hpcrun.sweep.table import SweepScript, parse_table, render_table
from tests.conftest import write
from tests.sweeps import lay_out, run_task

RECORDER = """import json, os, sys
names = sorted(n for n in os.environ if n.startswith(("HPCRUN_", "P_")) or n in (
    "RUN_NAME", "JOB_ID", "OUTPUT_FOLDER", "INPUT_FOLDER"))
out = os.path.join(os.environ["OUTPUT_FOLDER"], "record.json")
json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(),
           "env": {n: os.environ[n] for n in names}}, open(out, "w"))
"""

# every kind of trouble a value can carry on one line (tabs and line breaks are refused)
HOSTILE = [
    "$(touch CANARY)", "`touch CANARY`", "'; touch CANARY; '", '"; touch CANARY; "',
    "x; touch CANARY", "*", "~", "$HOME", "${PATH}", "héllo wörld ✓ 日本", "--help", "-n",
    "", " ", "  two  spaces  ", "\\", "trailing\\", "it's", "!event", "a && b || c | d > e",
    "${{", "${{ lr", "}}", "=", "a=b,c=d", "%s%n", "\x1b[31mred",
]  # fmt: skip


def shell(word: str) -> str:
    """What bash makes of one word (with HPCRUN_PARAM_LR='L V')."""
    out = subprocess.run(
        ["bash", "-c", f"printf '%s\\0' {word}"], env={"HPCRUN_PARAM_LR": "L V"},
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return out


def test_shell_word_quotes_literals_and_expands_parameters() -> None:
    params = {"lr": "HPCRUN_PARAM_LR"}
    assert shell_word("--lr=${{lr}}", params) == '--lr="$HPCRUN_PARAM_LR"'
    assert shell_word("${{lr}}", params) == '"$HPCRUN_PARAM_LR"'
    assert shell_word("", params) == "''"
    assert shell_word("${{other}}", params) == "'${{other}}'"  # not a parameter: literal
    for text in ("--lr=${{lr}}", "a '${{lr}}' b", "$x${{lr}}$(y)", "${{lr}}${{lr}}", "`;"):
        expected = text.replace("${{lr}}", "L V")
        assert shell(shell_word(text, params)) == expected + "\0"


def sweep_project(tmp_path: Path, matrix: dict, **workflow: object) -> Path:
    project = tmp_path / "project"
    write(project / "rec.py", RECORDER)
    spec = {"name": "s", "provider": "python", "file": "rec.py", **workflow,
            "sweep": {"matrix": matrix}}  # fmt: skip
    write(project / ".dstack" / "workflows.yaml", json.dumps({"workflows": [spec]}))
    return project


def render(project: Path, site: str = "local") -> PreparedSweep:
    prepared = prepare_target(project / ".dstack" / "workflows.yaml", "s", site=site)
    assert isinstance(prepared, PreparedSweep)
    return prepared


def test_hostile_values_reach_the_program_byte_for_byte(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    values = [v.replace("CANARY", str(canary)) for v in HOSTILE]
    project = sweep_project(
        tmp_path, {"lr": values, "bs": ["1"]},
        args=["--lr=${{ lr }}", "${{lr}}", "x ${{ bs }} y"],
        environment={"P_LR": "<${{ lr }}>"},
    )  # fmt: skip
    prepared = render(project)
    assert "eval " not in prepared.script and "source " not in prepared.script
    chunk = lay_out(tmp_path / "sweep", project, prepared.script, prepared.table)
    for index, point in enumerate(prepared.points):
        result = run_task(chunk, index, home=tmp_path)
        assert result.returncode == 0, result.stderr
        folder = tmp_path / "sweep" / "points" / point.id
        record = json.loads((folder / "output" / "record.json").read_text())
        value = point.params["lr"]
        assert record["argv"] == [f"--lr={value}", value, "x 1 y"]
        assert record["env"]["HPCRUN_PARAM_LR"] == value
        assert record["env"]["HPCRUN_PARAM_BS"] == "1"
        assert record["env"]["P_LR"] == f"<{value}>"
        assert record["env"]["HPCRUN_POINT"] == point.id
        assert record["env"]["HPCRUN_SWEEP"] == "s"
        assert record["env"]["HPCRUN_RUN"] == f"s-{point.id}"
        assert record["env"]["RUN_NAME"] == f"s-{point.id}"
        assert record["env"]["JOB_ID"] == str(200 + index)
        assert record["env"]["OUTPUT_FOLDER"] == str(folder / "output")
        assert "starting python" in (folder / "job.log").read_text()
    assert sorted(p.params["lr"] for p in prepared.points) == sorted(values)
    assert not canary.exists()


def test_script_refuses_a_wrong_task_or_table(tmp_path: Path) -> None:
    project = sweep_project(tmp_path, {"lr": ["1", "2"]}, args=["${{ lr }}"])
    prepared = render(project)
    chunk = lay_out(tmp_path / "sweep", project, prepared.script, prepared.table)
    for index, message in (("2", "no row 2"), ("", "not an array task"), ("1x", "not an array")):
        result = run_task(chunk, index, home=tmp_path)
        assert result.returncode == 2 and message in result.stderr, result.stderr
    write(chunk / "points.tsv", prepared.table.replace("\tlr\n", "\tLR\n"))
    result = run_task(chunk, 0, home=tmp_path)
    assert result.returncode == 2 and "header differs" in result.stderr
    write(chunk / "points.tsv", prepared.table.replace("\t1\n", "\t1\textra\n"))
    result = run_task(chunk, 0, home=tmp_path)
    assert result.returncode == 2 and "malformed" in result.stderr
    assert not (tmp_path / "sweep" / "points").exists()


def test_working_dir_per_point(tmp_path: Path) -> None:
    project = sweep_project(tmp_path, {"d": ["a", "b"]}, working_dir="runs/${{ d }}",
                            args=["${{ d }}"])  # fmt: skip
    for name in ("a", "b"):
        write(project / "runs" / name / "rec.py", RECORDER)
    prepared = render(project)
    assert 'cd runs/"$HPCRUN_PARAM_D"\n' in prepared.script
    chunk = lay_out(tmp_path / "sweep", project, prepared.script, prepared.table)
    for index, point in enumerate(prepared.points):
        assert run_task(chunk, index, home=tmp_path).returncode == 0
        record = json.loads(
            (tmp_path / "sweep" / "points" / point.id / "output" / "record.json").read_text()
        )
        assert record["cwd"] == str(tmp_path / "sweep" / "code" / "runs" / point.params["d"])


@pytest.mark.parametrize(
    ("value", "message"),
    [("..", "uses '..'"), ("/etc", "is absolute"), ("missing", "does not exist")],
)
def test_every_points_working_dir_is_checked(tmp_path: Path, value: str, message: str) -> None:
    project = sweep_project(tmp_path, {"d": ["a", value]}, working_dir="${{ d }}")
    write(project / "a" / "rec.py", "")
    with pytest.raises(SpecError) as caught:
        render(project)
    (problem,) = caught.value.problems
    assert problem.field == "workflows[s].working_dir"
    assert f"point d={value}" in problem.message and message in problem.message
    assert problem.location is not None and problem.location.line == 1


def test_plain_workflows_render_as_before(tmp_path: Path) -> None:
    project = tmp_path / "p"
    write(project / "t.py", "")
    write(project / "workflows.yaml", "workflows:\n  - {name: w, provider: python, file: t.py}\n")
    prepared = prepare_target(project / "workflows.yaml", "w", site="local")
    assert not isinstance(prepared, PreparedSweep)
    assert "#SBATCH --output=slurm-%j.log" in prepared.script


def test_ten_thousand_points_render_fast(tmp_path: Path) -> None:
    values = [str(i) for i in range(100)]
    project = sweep_project(tmp_path, {"a": values, "b": values}, args=["${{a}}", "${{b}}"])
    render(project)  # templates compiled, modules imported: what remains is per sweep
    started = time.process_time()
    prepared = render(project)
    elapsed = time.process_time() - started
    assert len(prepared.points) == 10_000
    assert len(parse_table(prepared.table)[1]) == 10_000
    assert prepared.script.count("hpcrun_child=$!") == 1  # one script, not one per point
    assert elapsed < 1.0, f"rendering 10,000 points took {elapsed:.2f} s of CPU"


def test_rendered_sweep_is_valid_bash_on_a_slurm_site(tmp_path: Path) -> None:
    from tests.conftest import DATA

    project = sweep_project(tmp_path, {"lr": ["1"]}, args=["${{ lr }}"],
                            resources={"cpu": 2}, max_duration="10m")  # fmt: skip
    prepared = render(project, site=str(DATA / "sites" / "gpu-cluster.yaml"))
    script = prepared.script
    assert "#SBATCH --output=slurm-%A_%a.log\n" in script
    assert "#SBATCH --cpus-per-task=2\n" in script and "#SBATCH --time=00:10:00\n" in script
    assert "--array" not in script.split("set -euo")[0].replace("#   sbatch --array", "")
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)


one_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r\x00"),
    max_size=30,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.lists(one_line, min_size=1, max_size=3, unique=True))
def test_any_one_line_value_is_looked_up_byte_for_byte(tmp_path: Path, values: list[str]) -> None:
    """The table lookup alone (a bash workflow, no Python start-up): random values."""
    points = [make_point("w", ("v",), {"v": value}) for value in values]
    plan = JobPlan(
        run="w", workflow="w", site="local", scheduler="local", job_name="w",
        env=(("X", "<${{v}}>"),),
        commands=('printf "%s\\0" "$HPCRUN_PARAM_V" "$X" "$HPCRUN_POINT" >"$OUTPUT_FOLDER/out"',),
    )  # fmt: skip
    script = render_sweep_script(plan, SweepScript("w", ("v",)))
    sweep_dir = tmp_path / f"s{uuid.uuid4().hex[:8]}"
    (sweep_dir / "code").mkdir(parents=True)
    chunk = lay_out(sweep_dir, sweep_dir / "code", script, render_table(("v",), points))
    for index, point in enumerate(points):
        result = run_task(chunk, index, home=tmp_path)
        assert result.returncode == 0, result.stderr
        out = (sweep_dir / "points" / point.id / "output" / "out").read_bytes()
        expected = [point.params["v"], f"<{point.params['v']}>", point.id]
        assert out == b"".join(v.encode() + b"\0" for v in expected)
