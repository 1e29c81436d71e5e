"""A real 2x3 sweep on the local site, run to its end by `hpcrun sweep --watch`, then its
results: metrics collected from each point's OUTPUT_FOLDER/metrics.json (a broken one is a
warning naming the point), `sweep status --sort`, `--csv`, and `sweep report`."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.cli import hpcrun
from tests.conftest import write

WORKFLOWS = """workflows:
  - name: grid
    provider: python
    file: train.py
    args: ["--lr=${{ lr }}"]
    sweep:
      matrix:
        lr: [0.1, 0.01, 0.001]
        opt: [adam, sgd]
      retries: 1
"""

TRAIN = """import json, os, sys
lr, opt = float(sys.argv[1].split("=")[1]), os.environ["HPCRUN_PARAM_OPT"]
if (lr, opt) == (0.001, "sgd"):
    sys.exit(3)
metrics = {"loss": round(lr * 10 + (0.5 if opt == "sgd" else 0.0), 4), "acc": 1 - lr}
if (lr, opt) == (0.01, "sgd"):
    metrics["history"] = [1, 2, 3]  # nested: dropped with a warning, the rest kept
with open(os.path.join(os.environ["OUTPUT_FOLDER"], "metrics.json"), "w") as out:
    json.dump(metrics, out)
"""


def test_local_sweep_results_status_and_report(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "workflows.yaml", WORKFLOWS)
    write(project / "train.py", TRAIN)
    dest = tmp_path / "results"
    run = hpcrun("sweep", "grid", "--watch", "--interval", "0.5", "--dest", str(dest),
                 cwd=project, timeout=180)  # fmt: skip
    assert run.returncode == 1, run.stderr  # one point is out of retries
    assert "5 completed" in run.stdout and "1 failed" in run.stdout
    assert "'history': a list values are not allowed" in run.stderr
    status = hpcrun("sweep", "status", "grid", "--sort", "loss", cwd=project)
    assert status.returncode == 0, status.stderr
    lines = status.stdout.splitlines()
    assert lines[1].split() == ["point", "lr", "opt", "state", "run", "time", "acc", "loss"]
    rows = [line.split() for line in lines[2:]]
    assert [(r[1], r[2]) for r in rows] == [
        ("0.001", "adam"), ("0.01", "adam"), ("0.01", "sgd"), ("0.1", "adam"), ("0.1", "sgd"),
        ("0.001", "sgd")]  # fmt: skip
    assert rows[-1][3:6] == ["failed", "(retry", "1/1)"]

    table = hpcrun("sweep", "status", "grid", "--csv", cwd=project)
    by_point = {(r["lr"], r["opt"]): r for r in csv.DictReader(io.StringIO(table.stdout))}
    assert by_point[("0.01", "sgd")]["loss"] == "0.6" and "history" not in by_point[("0.1", "adam")]
    assert by_point[("0.001", "sgd")]["attempts"] == "2"
    document = json.loads(hpcrun("sweep", "status", "grid", "--json", cwd=project).stdout)
    for point in document["points"]:
        folder = Path(point["artifacts_dir"])
        assert folder.parent.parent == dest and folder.name == point["point"]
        assert (folder / "job.log").is_file()

    report = hpcrun("sweep", "report", "grid", cwd=project)
    assert report.returncode == 0, report.stderr
    page = Path(report.stdout.strip())
    assert page.parent.parent == dest and page.name == "report.html"
    html = page.read_text(encoding="utf-8")
    assert html.count('class="cell st-completed"') == 5
    assert "failed (retry 1/1)" in html and html.count('<figure class="chart"') == 4
