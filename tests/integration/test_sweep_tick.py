"""`hpcrun sweep` ticks against the real test cluster (MaxArraySize=8, QOS 'sweeplimit'
with MaxSubmitJobsPerUser=6): arrays per chunk, never a point twice, retries, deferral,
and recovery from a tick killed right after sbatch."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpcrun.sweep.progress import sweep_name
from tests.cli import hpcrun
from tests.conftest import write
from tests.integration.conftest import Cluster

WORKFLOWS = """workflows:
  - name: grid
    provider: python
    version: "3.11"
    file: train.py
    args: ["${{{{ a }}}}", "${{{{ b }}}}"]
    max_duration: 2m
    sweep:
      matrix:
        a: [{a}]
        b: [{b}]
      retries: {retries}
"""
TRAIN = """import json, os, sys
a, b = sys.argv[1:3]
if a == "bad":
    sys.exit(4)
out = os.environ["OUTPUT_FOLDER"]
json.dump({"score": len(a) + len(b)}, open(os.path.join(out, "metrics.json"), "w"))
open(os.path.join(out, "who.txt"), "w").write(os.environ["HPCRUN_POINT"])
"""


def project(root: Path, a: str = "x, yy", b: str = "1, 22, 333", retries: int = 0) -> Path:
    write(root / "train.py", TRAIN)
    write(root / "workflows.yaml", WORKFLOWS.format(a=a, b=b, retries=retries))
    return root


def tick(root: Path, site: str | Path, *extra: str, env: dict[str, str] | None = None
         ) -> tuple[int, dict[str, Any], str]:  # fmt: skip
    argv = [sys.executable, "-m", "hpcrun", "sweep", "grid", "--site", str(site), "--json",
            *extra]  # fmt: skip
    proc = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def until_done(root: Path, site: str | Path, limit: float = 180) -> tuple[int, dict[str, Any]]:
    deadline = time.monotonic() + limit
    while True:
        code, state, _ = tick(root, site)
        if state["done"]:
            return code, state
        assert time.monotonic() < deadline, state["summary"]
        time.sleep(1)


def arrays_in_slurm(cluster: Cluster, sweep: str, tasks: int, user: str = "") -> Counter[str]:
    """Array job id -> number of task records, for every job whose name is one of the
    sweep's chunks: accounting sees every job ever submitted. Waits (briefly) until it
    lists ``tasks`` tasks, since slurmdbd records them a moment after squeue shows them."""
    deadline = time.monotonic() + 30
    while True:
        who = f" -u {user}" if user else ""  # default: the login user's own jobs
        out = cluster.ssh_ok(f"sacct -n -P -X{who} --starttime=now-30minutes -o JobID,JobName")
        found: Counter[str] = Counter()
        for line in out.splitlines():
            job, _, name = line.partition("|")
            if name.startswith(f"hpcrun-sweep.{sweep}."):
                found[job.split("_")[0]] += 1
        if sum(found.values()) >= tasks or time.monotonic() > deadline:
            return found
        time.sleep(1)


@pytest.fixture(autouse=True)
def remove_remote_sweeps(cluster: Cluster, tmp_path: Path) -> Iterator[None]:
    """Every test's sweep folders on the cluster go away after it (all its points ended)."""
    yield
    root = str((tmp_path / "p").resolve())
    names = [sweep_name("grid", site, root) for site in ("testcluster", "limited")]
    cluster.ssh(" ".join(["rm -rf", *(f"hpcrun/sweeps/{name}" for name in names)]))


@pytest.fixture
def limited_site(cluster: Cluster, tmp_path: Path) -> Path:
    """The test cluster's site config with the QOS that allows 6 submitted jobs per user."""
    text = cluster.site_config.read_text().replace("qos: null", "qos: sweeplimit")
    return write(tmp_path / "limited.yaml", text.replace("name: testcluster", "name: limited"))


def test_a_2x3_sweep_completes_and_a_second_tick_submits_nothing(
    cluster: Cluster, tmp_path: Path, isolated_home: Path
) -> None:
    root = project(tmp_path / "p")
    started = time.monotonic()
    code, first, _ = tick(root, cluster.site_config)
    print(f"first tick: {time.monotonic() - started:.1f} s")
    assert (code, first["tick"]["sbatch_calls"]) == (0, 1)
    code, state = until_done(root, cluster.site_config)
    assert code == 0 and state["summary"] == "6 completed, 0 running, 0 failed, 0 pending"
    dest = isolated_home / "sweeps" / state["sweep"]
    for point in state["points"]:
        assert (dest / point["point"] / "output" / "who.txt").read_text() == point["point"]
        assert point["metrics"] == {"score": len(point["params"]["a"]) + len(point["params"]["b"])}
        assert point["job_id"] == f"{point['array_job_id']}_{point['task_index']}"
    code, again, _ = tick(root, cluster.site_config)
    assert (code, again["tick"]["sbatch_calls"]) == (0, 0)
    assert list(arrays_in_slurm(cluster, state["sweep"], 6).values()) == [6]


def test_a_failing_point_is_retried_then_reported(cluster: Cluster, tmp_path: Path) -> None:
    root = project(tmp_path / "p", a="x, bad", b="1", retries=1)
    code, state = until_done(root, cluster.site_config)
    assert code == 1
    assert state["summary"] == "1 completed, 0 running, 1 failed (1 out of retries), 0 pending"
    (bad,) = [p for p in state["points"] if p["params"]["a"] == "bad"]
    assert (bad["state"], bad["exit_code"], bad["attempt"], bad["exhausted"]) == ("failed", 4, 2,
                                                                                  True)  # fmt: skip
    # the first array (2 tasks) and the retry's own array (1 task)
    assert sorted(arrays_in_slurm(cluster, state["sweep"], 3).values()) == [1, 2]


def test_ticks_started_at_the_same_moment_submit_once(cluster: Cluster, tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    argv = [sys.executable, "-m", "hpcrun", "sweep", "grid", "--site", str(cluster.site_config),
            "--json"]  # fmt: skip
    procs = [subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True) for _ in range(3)]  # fmt: skip
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    states = [json.loads(out) for out, _ in outputs]
    assert sum(s.get("tick", {}).get("sbatch_calls", 0) for s in states) == 1
    sweep = states[0]["sweep"]
    assert list(arrays_in_slurm(cluster, sweep, 6).values()) == [6]


def test_a_tick_killed_right_after_sbatch_is_not_submitted_again(
    cluster: Cluster, tmp_path: Path
) -> None:
    root = project(tmp_path / "p")
    argv = [sys.executable, "-m", "hpcrun", "sweep", "grid", "--site", str(cluster.site_config)]
    killed = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "HPCRUN_TEST_KILL_AFTER_SBATCH": "1"})  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # the store never heard of the array; take the chunk folder's .jobid away too, so only
    # Slurm (by the chunk's job name) can tell
    status = hpcrun("sweep", "status", "grid", "--site", str(cluster.site_config), "--json",
                    cwd=root)  # fmt: skip
    assert status.returncode == 0, status.stderr
    sweep = json.loads(status.stdout)["sweep"]
    cluster.ssh_ok(f"rm -f hpcrun/sweeps/{sweep}/chunks/*/.jobid")
    code, state, err = tick(root, cluster.site_config)
    assert code == 0 and state["tick"]["sbatch_calls"] == 0, err
    assert "found in Slurm by its job name" in err
    (chunk,) = state["chunks"]
    assert chunk["state"] == "submitted" and chunk["job_id"]
    code, state = until_done(root, cluster.site_config)
    assert state["summary"].startswith("6 completed")
    assert list(arrays_in_slurm(cluster, state["sweep"], 6).values()) == [6]


def test_a_sweep_larger_than_max_array_size_is_split(cluster: Cluster, tmp_path: Path) -> None:
    root = project(tmp_path / "p", a="p, q", b="1, 2, 3, 4, 5")  # 10 points, MaxArraySize 8
    _, first, _ = tick(root, cluster.site_config)
    assert [s["points"] for s in first["tick"]["submitted"]] == [8, 2]
    _, state = until_done(root, cluster.site_config)
    assert state["summary"].startswith("10 completed")
    assert sorted(arrays_in_slurm(cluster, state["sweep"], 10).values()) == [2, 8]
    assert sorted(p["task_index"] for p in state["points"]) == [0, 0, 1, 1, *range(2, 8)]


def test_a_submit_limit_defers_points_to_a_later_tick(
    cluster: Cluster, tmp_path: Path, limited_site: Path
) -> None:
    root = project(tmp_path / "p", a="p, q", b="1, 2, 3, 4, 5")  # 10 points, 6 allowed
    # no point may end during the first tick (freeing room under the limit): they take 4 s
    write(root / "train.py", "import time\ntime.sleep(4)\n" + TRAIN)
    code, first, err = tick(root, limited_site)
    assert code == 0, err
    assert sum(s["points"] for s in first["tick"]["submitted"]) == 6
    assert first["tick"]["deferred"] == 4 and "deferred to the next tick" in first["summary"]
    assert "submit limit" in err
    code, state = until_done(root, limited_site)
    assert code == 0 and state["summary"].startswith("10 completed")
    tasks = arrays_in_slurm(cluster, state["sweep"], 10)
    assert sum(tasks.values()) == 10  # every point ran exactly once


def test_a_tick_needs_no_terminal_agent_or_environment(
    cluster: Cluster, tmp_path: Path, isolated_home: Path
) -> None:
    root = project(tmp_path / "p", a="x", b="1, 2")
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path / "h"),
           "HPCRUN_HOME": str(isolated_home)}  # fmt: skip
    argv = ["env", "-i", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m", "hpcrun",
            "sweep", str(root / "workflows.yaml"), "grid", "--site", str(cluster.site_config)]  # fmt: skip
    deadline = time.monotonic() + 120
    while True:  # no SSH_AUTH_SOCK, no TERM, no stdin, not even a session of its own
        proc = subprocess.run(argv, cwd="/", capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        if proc.stdout.startswith("2 completed") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert proc.stdout.strip() == "2 completed, 0 running, 0 failed, 0 pending"


def test_max_parallel_holds_across_arrays(cluster: Cluster, tmp_path: Path) -> None:
    """%N throttles one array only: a second chunk must wait for the first (afterany), so
    that no more than max_parallel points of the sweep run at any moment."""
    root = tmp_path / "p"
    write(root / "train.py", "import time\ntime.sleep(2)\n")
    spec = WORKFLOWS.format(a="p, q", b="1, 2, 3, 4, 5", retries=0)  # 10 points: 8 + 2
    write(root / "workflows.yaml", spec + "      max_parallel: 2\n")
    _, first, _ = tick(root, cluster.site_config)
    arrays = [s["array_job_id"] for s in first["tick"]["submitted"]]
    assert [s["points"] for s in first["tick"]["submitted"]] == [8, 2], first["tick"]
    shown = cluster.ssh_ok(f"scontrol show job {arrays[1]} | grep -o 'Dependency=[^ ]*'")
    assert f"afterany:{arrays[0]}" in shown
    _, state = until_done(root, cluster.site_config)
    assert state["summary"].startswith("10 completed")
    deadline = time.monotonic() + 30  # slurmdbd records tasks a moment after they end
    while True:
        out = cluster.ssh_ok(f"sacct -n -P -X -j {','.join(arrays)} -o JobID,Start,End")
        spans = [tuple(line.split("|")[1:]) for line in out.splitlines()]
        if len(spans) >= 10 and all(end[:1].isdigit() for _, end in spans):
            break
        assert time.monotonic() < deadline, out
        time.sleep(1)
    assert len(spans) == 10
    most = max(sum(1 for s, e in spans if s < end and start < e) for start, end in spans)
    assert most <= 2, spans
