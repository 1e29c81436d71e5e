"""`hpcrun sweep` ticks through a restricted automation key (``restricted_commands: true``):
the test cluster's user hpcauto, whose key runs only single allow-listed commands through
scripts/restricted-wrapper (mkdir -p, rsync --server, cat, sbatch, squeue, scancel; no
sacct, no scontrol, no shell). Points are submitted as job arrays, tracked without sacct
(exit codes from the points' own records), fetched, and never submitted twice, and the
wrapper's log of refused commands stays empty."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpcrun.sweep.tick import KILL_AFTER_SBATCH_ENV
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant, workflows
from tests.integration.test_sweep_tick import arrays_in_slurm

USER = "hpcauto"
SWEEP = """workflows:
  - name: grid
    provider: bash
    version: "3.11"
    max_duration: 2m
    commands:
      - echo "x=$HPCRUN_PARAM_X" > "$OUTPUT_FOLDER/x.txt"
      - test "$HPCRUN_PARAM_X" != 3 || exit 3
    sweep:
      matrix:
        x: [1, 2, 3]
      retries: {retries}
"""


@pytest.fixture
def site(cluster: Cluster, tmp_path: Path) -> Iterator[str]:
    """hpcauto's restricted site, with MaxArraySize given (the key cannot run scontrol) at 2,
    so that 3 points make 2 arrays; fails the test if the wrapper refused anything."""
    log = cluster.state_dir / "restricted" / "refused.log"
    assert log.exists(), "scripts/test-cluster up did not set up the restricted user"
    before = log.stat().st_size
    login = {"user": USER, "transport": "paramiko"}
    yield site_variant(cluster.site_config, tmp_path, login=login, restricted_commands=True,
                       max_array_size=2)  # fmt: skip
    with log.open("rb") as handle:
        handle.seek(before)
        refused = handle.read().decode()
    assert refused == "", f"the wrapper refused commands hpcrun sent:\n{refused}"
    shutil.rmtree(f"/home/{USER}/hpcrun/sweeps", ignore_errors=True)


def tick(root: Path, site: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "hpcrun", "sweep", "grid", "--site", site, "--json"]
    return subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})  # fmt: skip


def until_done(root: Path, site: str, limit: float = 150) -> tuple[int, dict[str, Any]]:
    deadline = time.monotonic() + limit
    while True:
        done = tick(root, site)
        assert done.returncode in (0, 1), done.stderr
        state = json.loads(done.stdout)
        if state["done"]:
            return done.returncode, state
        assert time.monotonic() < deadline, state["summary"]
        time.sleep(2)


def test_a_sweep_runs_through_the_wrapper_without_sacct(
    cluster: Cluster, site: str, tmp_path: Path, isolated_home: Path
) -> None:
    root = tmp_path / "p"
    workflows(root, SWEEP.format(retries=1))
    first = tick(root, site)
    assert first.returncode == 0, first.stderr
    state = json.loads(first.stdout)
    assert state["tick"]["sbatch_calls"] == 2  # 3 points, arrays of at most 2
    code, state = until_done(root, site)
    assert code == 1, state  # point x=3 failed, was retried once (a new array), failed again
    assert state["summary"].startswith("2 completed, 0 running, 1 failed"), state["summary"]
    by_x = {p["params"]["x"]: p for p in state["points"]}
    assert (by_x["3"]["state"], by_x["3"]["exit_code"]) == ("failed", 3)  # from .attempts
    assert by_x["3"]["retries_used"] == 1
    assert [by_x[x]["exit_code"] for x in ("1", "2")] == [0, 0]
    dest = isolated_home / "sweeps" / state["sweep"]
    for x, point in by_x.items():
        assert (dest / point["point"] / "output" / "x.txt").read_text() == f"x={x}\n"
    assert sorted(arrays_in_slurm(cluster, state["sweep"], 4, USER).values()) == [1, 1, 2]
    again = tick(root, site)  # nothing left to submit
    assert again.returncode == 1 and json.loads(again.stdout)["tick"]["sbatch_calls"] == 0


def test_a_tick_killed_after_sbatch_never_submits_twice(
    cluster: Cluster, site: str, tmp_path: Path
) -> None:
    """The tick dies after sbatch returned, before recording the arrays: the next tick
    finds them by their job names (squeue --name; held, so no task has started and
    written its array id) instead of submitting them again."""
    held = site_variant(Path(site), tmp_path, sbatch=["--hold"])
    root = tmp_path / "p"
    workflows(root, SWEEP.format(retries=0))
    try:
        killed = tick(root, held, {KILL_AFTER_SBATCH_ENV: "1"})
        assert killed.returncode == -9, killed.stderr
        adopted = tick(root, held)
        assert adopted.returncode == 0, adopted.stderr
        state = json.loads(adopted.stdout)
        assert state["tick"]["sbatch_calls"] == 0
        lines = adopted.stderr.splitlines()
        assert len([line for line in lines if "found in Slurm by its job name" in line]) == 2
        out = cluster.ssh_ok(f"squeue --noheader --array --user={USER} --format='%F|%j'")
        queued = Counter(line.split("|")[0] for line in out.split()
                         if f"|hpcrun-sweep.{state['sweep']}." in line)  # fmt: skip
        assert sorted(queued.values()) == [1, 2], out  # 2 arrays, 3 tasks: none twice
    finally:
        argv = cluster.ssh_argv("unused")
        argv[argv.index(f"{cluster.user}@{cluster.host}")] = f"{USER}@{cluster.host}"
        subprocess.run([*argv[:-1], f"scancel --user={USER}"], capture_output=True,
                       timeout=60, check=False)  # fmt: skip
