"""`hpcrun sweep` on the local site: the cron tick runs points as local processes, with the
same identities, retries, artifacts and summary as on Slurm."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.cli import hpcrun
from tests.conftest import write

REPO = Path(__file__).resolve().parents[2]

WORKFLOWS = """workflows:
  - name: grid
    provider: python
    file: train.py
    args: ["--lr", "${{{{ lr }}}}", "--bs", "${{{{ bs }}}}"]
    sweep:
      matrix:
        lr: [{lrs}]
        bs: [16, 32, 64]
      max_parallel: 3
      retries: {retries}
"""
TRAIN = """import json, os, sys
lr, bs = sys.argv[2], sys.argv[4]
if lr == "bad":
    sys.exit(3)
out = os.environ["OUTPUT_FOLDER"]
json.dump({"loss": float(lr) * int(bs)}, open(os.path.join(out, "metrics.json"), "w"))
open(os.path.join(out, "who.txt"), "w").write(os.environ["HPCRUN_POINT"])
"""


def make_project(root: Path, lrs: str = "0.1, 0.01", retries: int = 0) -> Path:
    write(root / "train.py", TRAIN)
    write(root / "workflows.yaml", WORKFLOWS.format(lrs=lrs, retries=retries))
    return root


def tick(project: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = hpcrun("sweep", "grid", "--json", *extra, cwd=project)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def until_done(project: Path, *extra: str, limit: float = 60) -> tuple[int, dict[str, Any]]:
    deadline = time.monotonic() + limit
    while True:
        code, state = tick(project, *extra)
        if state["done"] or time.monotonic() > deadline:
            return code, state
        time.sleep(0.5)


def test_a_2x3_sweep_completes_fetches_each_point_and_submits_nothing_twice(
    tmp_path: Path, isolated_home: Path
) -> None:
    project = make_project(tmp_path / "project")
    code, first = tick(project)
    assert code == 0
    assert first["tick"]["sbatch_calls"] == 1  # ONE array for the six points
    assert [s["points"] for s in first["tick"]["submitted"]] == [6]
    code, state = until_done(project)
    assert code == 0, state["summary"]
    assert state["summary"] == "6 completed, 0 running, 0 failed, 0 pending"
    dest = isolated_home / "sweeps" / state["sweep"]
    for point in state["points"]:
        folder = dest / point["point"]
        assert point["artifacts_dir"] == str(folder)
        assert (folder / "output" / "who.txt").read_text() == point["point"]
        assert (folder / "job.log").exists()
        lr, bs = point["params"]["lr"], point["params"]["bs"]
        assert point["metrics"] == {"loss": float(lr) * int(bs)}
        assert point["attempt"] == 1 and point["exit_code"] == 0
    # a second (and third) tick submits nothing
    code, again = tick(project)
    assert (code, again["tick"]["sbatch_calls"], len(again["chunks"])) == (0, 0, 1)
    # growing the matrix submits only the new points
    write(project / "workflows.yaml", WORKFLOWS.format(lrs="0.1, 0.01, 0.5", retries=0))
    code, grown = tick(project)
    assert [s["points"] for s in grown["tick"]["submitted"]] == [3]
    code, grown = until_done(project)
    assert grown["summary"].startswith("9 completed")
    # --rerun runs one completed point again, as attempt 2
    target = grown["points"][0]["point"]
    code, rerun = tick(project, "--rerun", target[:8])
    assert [s["points"] for s in rerun["tick"]["submitted"]] == [1]
    code, done = until_done(project)
    again = {p["point"]: p for p in done["points"]}
    assert again[target]["attempt"] == 2 and again[target]["state"] == "completed"
    assert sum(p["attempt"] for p in done["points"]) == 10


def test_a_failing_point_is_retried_then_reported_with_exit_1(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", lrs="0.1, bad", retries=1)
    code, state = until_done(project)
    assert code == 1
    assert state["summary"] == "3 completed, 0 running, 3 failed (3 out of retries), 0 pending"
    bad = [p for p in state["points"] if p["params"]["lr"] == "bad"]
    assert {(p["state"], p["attempt"], p["retries_used"], p["exit_code"]) for p in bad} == {
        ("failed", 2, 1, 3)
    }
    assert all(p["exhausted"] for p in bad)
    # a retry is a new array (its own identity); each bad point was in exactly one
    first, *retried = state["chunks"]
    assert first["attempt"] == 1 and {c["attempt"] for c in retried} == {2}
    assert sorted(i for c in retried for i in c["points"]) == sorted(p["point"] for p in bad)
    # --rerun-failed starts them afresh
    code, rerun = tick(project, "--rerun-failed")
    assert [s["points"] for s in rerun["tick"]["submitted"]] == [3]


def test_overlapping_ticks_submit_once(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    argv = [sys.executable, "-m", "hpcrun", "sweep", "grid", "--json"]
    ticks = [subprocess.Popen(argv, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=os.environ.copy()) for _ in range(3)]  # fmt: skip
    outputs = [t.communicate(timeout=60) for t in ticks]
    assert [t.returncode for t in ticks] == [0, 0, 0], outputs
    states = [json.loads(out) for out, _ in outputs]
    busy = [s for s in states if s.get("busy")]
    worked = [s for s in states if not s.get("busy")]
    # whichever ticks got the lock, exactly one array holds the six points
    assert sum(s["tick"]["sbatch_calls"] for s in worked) == 1
    for state, (_, err) in zip(states, outputs, strict=True):
        if state in busy:
            assert "another tick" in err
    _, final = until_done(project)
    assert len(final["chunks"]) == 1 and final["summary"].startswith("6 completed")


def test_the_tick_runs_under_a_bare_cron_environment(tmp_path: Path, isolated_home: Path) -> None:
    project = make_project(tmp_path / "project")
    python_dir = str(Path(sys.executable).parent)
    env = {"PATH": f"{python_dir}:/usr/bin:/bin", "HOME": str(tmp_path / "home"),
           "HPCRUN_HOME": str(isolated_home)}  # fmt: skip
    argv = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "hpcrun",
            "sweep", str(project / "workflows.yaml"), "grid"]  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        result = subprocess.run(argv, cwd="/", capture_output=True, text=True,
                                stdin=subprocess.DEVNULL, timeout=60, start_new_session=True)  # fmt: skip
        assert result.returncode == 0, result.stderr
        if result.stdout.startswith("6 completed") or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert result.stdout.strip() == "6 completed, 0 running, 0 failed, 0 pending"


def test_the_example_sweep_runs_in_one_command(tmp_path: Path) -> None:
    example = tmp_path / "sweep"
    shutil.copytree(REPO / "examples" / "sweep", example)
    result = hpcrun("sweep", "grid", "--watch", "--interval", "0.5", cwd=example, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "6 completed, 0 running, 0 failed, 0 pending"
    status = hpcrun("sweep", "status", "grid", "--sort", "loss", "--json", cwd=example)
    assert status.returncode == 0, status.stderr
    assert "loss" in status.stdout
