"""``hpcrun sweep status`` and ``hpcrun sweep report`` on a sweep recorded in the store as
the tick records it (written here through the store's API, so states, retries and metrics
are exactly known): the table, sorting, --json, --csv, the report file and its links."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from hpcrun.store import ChunkRecord, SweepRecord, default_store
from hpcrun.sweep.points import Point, make_point
from hpcrun.sweep.progress import sweep_name
from tests.cli import hpcrun
from tests.conftest import write

WORKFLOWS = """workflows:
  - name: grid
    provider: python
    file: train.py
    args: ["--lr=${{ lr }}", "--opt=${{ opt }}"]
    sweep:
      matrix:
        lr: [0.1, 0.01, 0.001]
        opt: [adam, sgd]
      retries: 2
"""
LOSS = {("0.1", "adam"): 0.9, ("0.1", "sgd"): 0.95, ("0.01", "adam"): 0.45,
        ("0.001", "adam"): 0.3}  # fmt: skip


def _finish(store: Any, name: str, point: Point, job: str, attempt: int, state: str,
            exit_code: int | None) -> None:  # fmt: skip
    """One attempt of ``point`` as the tick records it: chunk submitting, submitted, ended."""
    chunk = f"c{point.id[:6]}{attempt}"
    store.chunk_submitting(ChunkRecord(name, chunk, f"hpcrun-sweep.{name}.{chunk}",
                                       "submitting", (point.id,), attempt=attempt))  # fmt: skip
    store.chunk_submitted(name, chunk, job)
    store.update_points(name, [{
        "point": point.id, "array_job_id": job, "state": state, "final": state != "running",
        "exit_code": exit_code, "started_at": "2026-11-29T10:00:00Z",
        "finished_at": None if state == "running" else f"2026-11-29T10:0{attempt}:30Z",
    }])  # fmt: skip


Recorded = tuple[Path, str, Path]  # project, sweep name, dest


@pytest.fixture
def recorded(tmp_path: Path) -> Recorded:
    return record_sample_sweep(tmp_path)


def record_sample_sweep(tmp_path: Path) -> tuple[Path, str, Path]:
    """(project, sweep name, dest): 4 completed with metrics, 1 failed after 2 retries,
    1 running; one point's metrics name is hostile."""
    project = tmp_path / "project"
    write(project / "workflows.yaml", WORKFLOWS)
    write(project / "train.py", "print('hi')\n")
    name = sweep_name("grid", "local", str(project.resolve()))
    dest = tmp_path / "sweeps" / name
    with default_store() as store:
        store.save_sweep(SweepRecord(name, "grid", "local", "/site.yaml", str(project.resolve()),
                                     dest=str(dest), parameters=("lr", "opt"), retries=2,
                                     remote_dir=str(tmp_path / "remote")))  # fmt: skip
        points = [make_point("grid", ("lr", "opt"), {"lr": lr, "opt": opt})
                  for lr in ("0.1", "0.01", "0.001") for opt in ("adam", "sgd")]  # fmt: skip
        store.sync_points(name, [(p.id, p.label, p.params) for p in points])
        for job, point in enumerate(points, start=10):
            key = (point.params["lr"], point.params["opt"])
            if key == ("0.01", "sgd"):
                for attempt in (1, 2, 3):
                    _finish(store, name, point, f"{job}{attempt}", attempt, "failed", 3)
                    if attempt < 3:
                        store.point_for_retry(name, point.id, automatic=True)
                continue
            _finish(store, name, point, str(job), 1,
                    "completed" if key in LOSS else "running", 0 if key in LOSS else None)  # fmt: skip
            if key in LOSS:
                folder = dest / point.id
                write(folder / "job.log", "training\n")
                metrics = {"loss": LOSS[key], "acc": round(1 - LOSS[key], 2)}
                if key == ("0.1", "adam"):
                    metrics["<b>x</b>"] = 1
                store.point_fetched(name, point.id, str(folder), str(folder / "job.log"),
                                    metrics)  # fmt: skip
    return project, name, dest


def test_status_prints_the_point_table_sorted_by_a_metric(recorded: Recorded) -> None:
    project, name, _ = recorded
    result = hpcrun("sweep", "status", "grid", "--sort", "loss", cwd=project)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (f"sweep {name}: 4 completed, 1 running, 1 failed (1 out of retries), "
                        "0 pending")  # fmt: skip
    assert lines[1].split() == ["point", "lr", "opt", "state", "run", "time", "<b>x</b>",
                                "acc", "loss"]  # fmt: skip
    body = [line.split() for line in lines[2:]]
    assert [(r[1], r[2], r[-1]) for r in body[:4]] == [
        ("0.001", "adam", "0.3"), ("0.01", "adam", "0.45"), ("0.1", "adam", "0.9"),
        ("0.1", "sgd", "0.95")]  # fmt: skip
    # no loss: last, in the sweep's order
    assert body[4][1:6] == ["0.01", "sgd", "failed", "(retry", "2/2)"]
    assert body[5][1:4] == ["0.001", "sgd", "running"]
    assert len(body) == 6

    down = hpcrun("sweep", "status", "grid", "--sort", "-acc", cwd=project)
    accs = [line.split()[-2] for line in down.stdout.splitlines()[2:6]]
    assert accs[:4] == ["0.7", "0.55", "0.1", "0.05"]

    bad = hpcrun("sweep", "status", "grid", "--sort", "los", cwd=project)
    assert bad.returncode == 2
    assert "no such metric or parameter" in bad.stderr and "did you mean 'loss'?" in bad.stderr


def test_status_json_and_csv_export_every_point(recorded: Recorded) -> None:
    project, name, dest = recorded
    result = hpcrun("sweep", "status", "grid", "--json", cwd=project)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["sweep"] == name and document["parameters"] == ["lr", "opt"]
    points = {(p["params"]["lr"], p["params"]["opt"]): p for p in document["points"]}
    failed = points[("0.01", "sgd")]
    assert (failed["state"], failed["attempts"], failed["retries_used"], failed["retries"],
            failed["exit_code"], failed["run_seconds"]) == ("failed", 3, 2, 2, 3, 210.0)  # fmt: skip
    assert failed["job_id"] == "133_0"
    best = points[("0.001", "adam")]
    assert best["metrics"] == {"loss": 0.3, "acc": 0.7}
    assert best["artifacts_dir"] == str(dest / best["point"])
    assert best["log"] == str(dest / best["point"] / "job.log")

    table = hpcrun("sweep", "status", "grid", "--csv", "--sort", "-loss", cwd=project)
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert list(rows[0]) == ["lr", "opt", "point", "state", "attempts", "retries_used",
                             "exit_code", "run_seconds", "<b>x</b>", "acc", "loss"]  # fmt: skip
    assert [r["loss"] for r in rows] == ["0.95", "0.9", "0.45", "0.3", "", ""]

    both = hpcrun("sweep", "status", "grid", "--json", "--csv", cwd=project)
    assert both.returncode == 2


def test_report_is_written_next_to_the_points_with_relative_links(recorded: Recorded) -> None:
    project, _, dest = recorded
    result = hpcrun("sweep", "report", "grid", cwd=project)
    assert result.returncode == 0, result.stderr
    page = Path(result.stdout.strip())
    assert page == dest / "report.html"
    html = page.read_text(encoding="utf-8")
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert html.count('class="cell st-completed"') == 4
    assert "failed (retry 2/2)" in html
    first = next(p for p in dest.iterdir() if p.is_dir())
    assert f'href="{first.name}/job.log"' in html

    elsewhere = hpcrun("sweep", "report", "grid", "--html", "out/r.html", cwd=project)
    assert elsewhere.returncode == 0, elsewhere.stderr
    assert (project / "out" / "r.html").is_file()
    assert f'href="../../sweeps/{dest.name}/{first.name}/job.log"' in (
        project / "out" / "r.html").read_text(encoding="utf-8")  # fmt: skip


def test_status_of_a_sweep_never_ticked_says_how_to_start_it(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    result = hpcrun("sweep", "status", "grid", cwd=tmp_path)
    assert result.returncode == 2
    assert "no sweep of workflow 'grid' on site 'local'" in result.stderr
    assert "hpcrun sweep grid" in result.stderr
