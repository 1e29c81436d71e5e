"""Realistic sweep results for the views' tests, built directly (no tick, no store): a 2x3
sweep (lr x opt) with metrics, one point that failed after its retries, one still running,
each finished point with a fetched folder (job.log, output/metrics.json)."""

from __future__ import annotations

import json
from pathlib import Path

from hpcrun.sweep.points import make_point
from hpcrun.sweep.results import PointRow, SweepView
from tests.conftest import write

PARAMETERS = ("lr", "opt")
LRS = ("0.1", "0.01", "0.001")
OPTS = ("adam", "sgd")


def sample_view(dest: Path | None = None, name: str = "grid-1a2b") -> SweepView:
    """The 2x3 sweep; with ``dest``, each point that ran gets ``dest/<point>/`` with a
    ``job.log`` and ``output/metrics.json``, and the rows point there."""
    rows = []
    for i, lr in enumerate(LRS):
        for j, opt in enumerate(OPTS):
            point = make_point("grid", PARAMETERS, {"lr": lr, "opt": opt})
            state, attempts, metrics = (
                "completed",
                1,
                {
                    "loss": round(0.9 / (i + 1) + 0.05 * j, 4),
                    "acc": round(0.6 + 0.1 * i - 0.03 * j, 3),
                    "epochs": 10 + i,
                    "converged": i > 0,
                    "note": f"opt {opt}",
                },
            )
            if (lr, opt) == ("0.001", "sgd"):
                state, attempts, metrics = "failed", 3, {}
            if (lr, opt) == ("0.01", "sgd"):
                state, metrics = "running", {}
            folder = log = None
            if dest is not None and state != "running":
                folder = dest / point.id
                write(folder / "job.log", f"training {lr} {opt}\n")
                if metrics:
                    write(folder / "output" / "metrics.json", json.dumps(metrics))
                log = str(folder / "job.log")
            rows.append(PointRow(
                id=point.id, params=point.values, state=state, attempts=attempts, retries=2,
                retries_used=attempts - 1,
                exit_code=1 if state == "failed" else (0 if state == "completed" else None),
                job_id=f"41_{len(rows)}", run_seconds=None if state == "running" else 30.0 + 17 * len(rows),
                metrics=metrics, log_path=log, artifacts_dir=str(folder) if folder else None,
            ))  # fmt: skip
    return SweepView(name=name, workflow="grid", parameters=PARAMETERS, rows=tuple(rows),
                     site="local")  # fmt: skip
