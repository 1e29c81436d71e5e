"""`hpcrun render -o` on a 2x3 sweep, then the rendered array script run with bash once per
SLURM_ARRAY_TASK_ID, as the local site runs plain jobs: each task runs its own point."""

from __future__ import annotations

import json
from pathlib import Path

from hpcrun.sweep.table import parse_table
from tests.cli import hpcrun
from tests.conftest import write
from tests.sweeps import lay_out, run_task

WORKFLOWS = """workflows:
  - name: grid
    provider: python
    file: train.py
    args: ["--lr=${{ lr }}", --opt, "${{ opt }}"]
    environment:
      TAG: "run ${{ opt }}"
    sweep:
      matrix:
        lr: [0.1, 0.01]
        opt: [adam, sgd, "mo mentum"]
      max_parallel: 2
"""

TRAIN = """import json, os, sys
json.dump({"argv": sys.argv[1:], "tag": os.environ["TAG"],
           "lr": os.environ["HPCRUN_PARAM_LR"], "opt": os.environ["HPCRUN_PARAM_OPT"],
           "point": os.environ["HPCRUN_POINT"], "sweep": os.environ["HPCRUN_SWEEP"]},
          open(os.path.join(os.environ["OUTPUT_FOLDER"], "metrics.json"), "w"))
print("trained", os.environ["HPCRUN_PARAM_LR"], os.environ["HPCRUN_PARAM_OPT"])
"""


def test_rendered_sweep_runs_each_point_once(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "train.py", TRAIN)
    write(project / "workflows.yaml", WORKFLOWS)
    out = tmp_path / "rendered"
    result = hpcrun("render", "grid", "-o", str(out), cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(out / "grid.sbatch"), str(out / "points.tsv")]
    script = (out / "grid.sbatch").read_text()
    table = (out / "points.tsv").read_text()
    parameters, points = parse_table(table)
    assert parameters == ("lr", "opt")
    assert [p.label for p in points] == [
        "lr=0.1,opt=adam", "lr=0.1,opt=sgd", "lr=0.1,opt=mo mentum",
        "lr=0.01,opt=adam", "lr=0.01,opt=sgd", "lr=0.01,opt=mo mentum",
    ]  # fmt: skip

    # printed without -o: the same script, then the table after a marker line
    printed = hpcrun("render", "grid", cwd=project)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout == script + "# ==> points.tsv: 6 points <==\n" + table

    sweep_dir = tmp_path / "sweep"
    chunk = lay_out(sweep_dir, project, script, table)
    for index in reversed(range(len(points))):  # any order: the table decides, not the order
        ran = run_task(chunk, index, home=tmp_path)
        assert ran.returncode == 0, ran.stderr
        assert f"array task {index}: point {points[index].id}" in ran.stderr
    for point in points:
        folder = sweep_dir / "points" / point.id
        record = json.loads((folder / "output" / "metrics.json").read_text())
        lr, opt = point.params["lr"], point.params["opt"]
        assert record == {
            "argv": [f"--lr={lr}", "--opt", opt], "tag": f"run {opt}", "lr": lr, "opt": opt,
            "point": point.id, "sweep": "grid",
        }  # fmt: skip
        log = (folder / "job.log").read_text()
        assert f"trained {lr} {opt}" in log and log.count("trained") == 1
    assert sorted(p.name for p in (sweep_dir / "points").iterdir()) == sorted(p.id for p in points)


def test_render_warns_about_unused_parameters(tmp_path: Path) -> None:
    write(tmp_path / "train.py", "")
    write(tmp_path / "workflows.yaml", WORKFLOWS.replace('"${{ opt }}"]', "x]").replace(
        '"run ${{ opt }}"', "run"))  # fmt: skip
    result = hpcrun("render", "grid", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "workflows.yaml:11:9: workflows[grid].sweep.matrix.opt" in result.stderr
    assert "sweep parameter 'opt' is not used" in result.stderr
    assert "$HPCRUN_PARAM_OPT" in result.stderr


def test_submit_refuses_a_sweep(tmp_path: Path) -> None:
    write(tmp_path / "train.py", "")
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    result = hpcrun("submit", "grid", "-d", cwd=tmp_path)
    assert result.returncode == 2
    assert "is a parameter sweep" in result.stderr
