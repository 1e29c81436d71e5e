"""A sweep tick submits ALL its chunks in ONE remote command (issue 14), against the real
test cluster (MaxArraySize=8): one command, one submit RPC per chunk, and a tick killed
while that command runs never leads to a chunk submitted twice."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpcrun.sweep.progress import sweep_name
from tests.conftest import write
from tests.integration.conftest import Cluster

WORKFLOWS = """workflows:
  - name: grid
    provider: python
    version: "3.11"
    file: train.py
    args: ["${{ a }}", "${{ b }}"]
    max_duration: 2m
    sweep:
      matrix:
        a: [p, q, r]
        b: [1, 2, 3, 4, 5, 6, 7, 8]
"""  # 24 points: 3 chunks of 8
TRAIN = "import sys\n"
POINTS, CHUNKS = 24, 3


@pytest.fixture
def root(cluster: Cluster, tmp_path: Path) -> Iterator[Path]:
    """The project; afterwards its sweep's arrays are cancelled and its folders removed."""
    project = tmp_path / "p"
    write(project / "train.py", TRAIN)
    write(project / "workflows.yaml", WORKFLOWS)
    yield project
    name = sweep_name("grid", "testcluster", str(project.resolve()))
    cluster.ssh(f"scancel $(squeue -h -u $USER -o '%i %j' | awk '$2 ~ /{name}/ {{print $1}}') "
                f"2>/dev/null; rm -rf hpcrun/sweeps/{name}")  # fmt: skip


def submit_rpcs(cluster: Cluster) -> int:
    """The controller's REQUEST_SUBMIT_BATCH_JOB count (sdiag, since its last reset)."""
    out = cluster.ssh_ok("sdiag")
    match = re.search(r"REQUEST_SUBMIT_BATCH_JOB\s+\(\s*\d+\)\s+count:(\d+)", out)
    return int(match.group(1)) if match else 0


def arrays_by_name(cluster: Cluster, sweep: str, tasks: int) -> dict[str, set[str]]:
    """Job name -> the array ids Slurm accounted for it (every job ever submitted), once
    accounting lists ``tasks`` tasks of the sweep (it records them a moment late)."""
    deadline = time.monotonic() + 30
    while True:
        out = cluster.ssh_ok("sacct -n -P -X --starttime=now-30minutes -o JobID,JobName")
        found: dict[str, set[str]] = defaultdict(set)
        seen: set[tuple[str, int]] = set()
        for line in out.splitlines():
            job, _, name = line.partition("|")
            if name.startswith(f"hpcrun-sweep.{sweep}."):
                found[name].add(job.split("_")[0])
                seen |= task_ids(job)
        if len(seen) >= tasks or time.monotonic() > deadline:
            return dict(found)
        time.sleep(1)


def task_count(job: str) -> int:
    """Array tasks one sacct line stands for: ``12_3`` is one, ``12_[0-5%2]`` (tasks not
    started, folded) six."""
    return len(task_ids(job))


def task_ids(job: str) -> set[tuple[str, int]]:
    """(array id, task index) of each task one sacct line stands for. While tasks start,
    accounting may list a task both in the folded line of the pending ones and on its own,
    so tasks are counted as a set, not line by line."""
    array, _, tasks = job.partition("_")
    folded = re.fullmatch(r"\[([0-9,\-]+)(?:%\d+)?\]", tasks)
    if folded is None:
        return {(array, int(tasks))} if tasks.isdigit() else {(array, -1)}
    indexes: set[int] = set()
    for part in folded.group(1).split(","):
        first, _, last = part.partition("-")
        indexes.update(range(int(first), int(last or first) + 1))
    return {(array, index) for index in indexes}


def tick_process(root: Path, site: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    argv = [sys.executable, "-m", "hpcrun", "sweep", "grid", "--site", str(site), "--json"]
    return subprocess.Popen(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True,
                            env={**os.environ, **(env or {})})  # fmt: skip


def tick(root: Path, site: Path) -> tuple[dict[str, Any], str]:
    proc = tick_process(root, site)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out), err


def test_a_tick_of_three_chunks_runs_one_submit_command(
    cluster: Cluster, root: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpcrun.ops.session import Session
    from hpcrun.sweep.tick import TickRequest
    from hpcrun.sweep.tick import tick as run_tick
    from hpcrun.transport import factory

    commands: list[str] = []
    opened = factory.open_transport

    class Counted:
        """The real transport, remembering every command it runs."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def run(self, command: Any, **kwargs: Any) -> Any:
            commands.append(getattr(command, "code", None) or " ".join(command))
            return self.inner.run(command, **kwargs)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(factory, "open_transport", lambda site: Counted(opened(site)))
    before = submit_rpcs(cluster)
    with Session() as session:
        result = run_tick(session, TickRequest(root / "workflows.yaml", "grid",
                                               site=str(cluster.site_config)))  # fmt: skip
    rpcs = submit_rpcs(cluster) - before
    assert [n for _, _, n in result.submitted] == [8, 8, 8]
    assert (result.sbatch_calls, result.submit_commands) == (CHUNKS, 1)
    sbatch_commands = [c for c in commands if "sbatch --parsable" in c]
    assert len(sbatch_commands) == 1, commands
    assert rpcs == CHUNKS  # one submit RPC per chunk
    arrays = arrays_by_name(cluster, result.sweep, POINTS)
    assert len(arrays) == CHUNKS and all(len(ids) == 1 for ids in arrays.values()), arrays
    # no max_parallel: the arrays do not wait for each other
    shown = cluster.ssh_ok(f"scontrol show job {result.submitted[-1][1]} | "
                           "grep -o 'Dependency=[^ ]*' || true")  # fmt: skip
    assert "afterany" not in shown


def test_a_tick_killed_during_its_submit_command_submits_no_chunk_twice(
    cluster: Cluster, root: Path
) -> None:
    sweep = sweep_name("grid", "testcluster", str(root.resolve()))
    chunks = f"hpcrun/sweeps/{sweep}/chunks"
    # the batch pauses 6 s after its first chunk: kill the tick there
    killed = tick_process(root, cluster.site_config, {"HPCRUN_TEST_SUBMIT_PAUSE": "1:6"})
    deadline = time.monotonic() + 60
    while cluster.ssh(f"ls {chunks}/*/.jobid 2>/dev/null").stdout.count(".jobid") < 1:
        assert killed.poll() is None and time.monotonic() < deadline, killed.communicate()
        time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    killed.communicate(timeout=30)
    # the matrix grows (p9, q9, r9 in spec order): were the killed tick's unreached chunks
    # freed and chunked again, they would be new chunks (other ids, other job names) while
    # the killed batch may still submit the old ones
    write(root / "workflows.yaml", WORKFLOWS.replace("7, 8]", "7, 8, 9]"))

    # at once: the killed tick's batch may still be running on the cluster
    first, err = tick(root, cluster.site_config)
    adopted = [c for c in first["chunks"] if c["state"] == "submitted"]
    assert adopted, err  # the first chunk's .jobid
    # then until every point is queued: each unreached chunk is either adopted (the killed
    # batch got to it) or freed once that batch has ended, and submitted by a later tick
    deadline = time.monotonic() + 60
    while True:
        state, err = tick(root, cluster.site_config)
        if all(p["array_job_id"] for p in state["points"]):
            break
        assert time.monotonic() < deadline, (state["chunks"], err)
        time.sleep(1)
    submitted = [c for c in state["chunks"] if c["state"] == "submitted"]
    assert sum(len(c["points"]) for c in submitted) == POINTS + 3, state["chunks"]
    arrays = arrays_by_name(cluster, sweep, POINTS + 3)
    assert all(len(ids) == 1 for ids in arrays.values()), arrays  # no chunk twice
    assert {c["job_id"] for c in submitted} == {i for ids in arrays.values() for i in ids}
    out = cluster.ssh_ok("sacct -n -P -X --starttime=now-30minutes -o JobID,JobName")
    tasks = [job for job, _, name in (line.partition("|") for line in out.splitlines())
             if name.startswith(f"hpcrun-sweep.{sweep}.")]  # fmt: skip
    assert len(set().union(*map(task_ids, tasks))) == POINTS + 3  # no point in two arrays
