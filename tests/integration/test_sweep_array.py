"""The rendered sweep array script in real Slurm, before the cron tick exists: render a 2x2
sweep, upload the script and its point table by hand, `sbatch --array=0-3%2` it from the
chunk folder, and check that every array task ran its own point."""

from __future__ import annotations

import base64
import json
import re
import shlex
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcrun.ops.sweep_render import PreparedSweep, prepare_target
from hpcrun.sweep.chunks import split
from tests.conftest import write
from tests.integration.conftest import Cluster, wait_for

WORKFLOWS = """workflows:
  - name: grid
    provider: python
    version: "3.11"
    file: train.py
    args: ["--lr=${{ lr }}", "${{ opt }}"]
    max_duration: 2m
    sweep:
      matrix: {lr: [0.1, 0.01], opt: [adam, "s g d"]}
      max_parallel: 2
"""
TRAIN = """import json, os, sys
record = {"argv": sys.argv[1:], "point": os.environ["HPCRUN_POINT"],
          "lr": os.environ["HPCRUN_PARAM_LR"], "opt": os.environ["HPCRUN_PARAM_OPT"],
          "task": os.environ["SLURM_ARRAY_TASK_ID"], "job": os.environ["JOB_ID"]}
json.dump(record, open(os.path.join(os.environ["OUTPUT_FOLDER"], "record.json"), "w"))
"""
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}


@pytest.fixture
def sweep_dir(cluster: Cluster) -> Iterator[str]:
    path = f"sweep-test/{uuid.uuid4().hex[:8]}"
    yield path
    cluster.ssh(f"rm -rf {path}")


def upload(cluster: Cluster, remote: str, text: str) -> None:
    data = base64.b64encode(text.encode()).decode()
    folder = remote.rsplit("/", 1)[0]
    cluster.ssh_ok(f"mkdir -p {folder} && echo {data} | base64 -d > {shlex.quote(remote)}")


def test_array_tasks_run_their_own_points(cluster: Cluster, tmp_path: Path,
                                          sweep_dir: str) -> None:  # fmt: skip
    write(tmp_path / "train.py", TRAIN)
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    prepared = prepare_target(tmp_path / "workflows.yaml", "grid", site=str(cluster.site_config))
    assert isinstance(prepared, PreparedSweep)
    (chunk,) = split("grid", prepared.points, max_array_size=1001)
    chunk_dir = f"{sweep_dir}/chunks/{chunk.id}"
    upload(cluster, f"{sweep_dir}/code/train.py", TRAIN)
    upload(cluster, f"{chunk_dir}/sweep.sbatch", prepared.script)
    upload(cluster, f"{chunk_dir}/points.tsv", prepared.table)

    options = " ".join(shlex.quote(o) for o in chunk.sbatch_options(2))
    assert options.startswith("--array=0-3%2 ")
    array_id = cluster.sbatch(f"{options} sweep.sbatch", cwd=chunk_dir)
    try:
        job = cluster.ssh_ok(f"scontrol show job {array_id}")  # kept MinJobAge after the end
        assert re.search(r"ArrayTaskThrottle=2\b", job), job
        assert f"JobName={chunk.job_name}" in job

        def finished() -> list[list[str]] | None:
            out = cluster.ssh_ok(f"sacct -j {array_id} -X -n -P -o JobID,State,JobName")
            rows = [line.split("|") for line in out.splitlines() if line.strip()]
            tasks = [r for r in rows if re.fullmatch(rf"{array_id}_\d+", r[0])]
            done = len(tasks) == 4 and all(r[1].split()[0] in FINAL for r in tasks)
            return tasks if done else None

        tasks = wait_for("the 4 array tasks to finish", finished, timeout=240, interval=2)
    finally:
        cluster.ssh(f"scancel {array_id}")
    assert all(r[1] == "COMPLETED" for r in tasks), tasks  # type: ignore[union-attr]
    assert {r[2] for r in tasks} == {chunk.job_name}  # type: ignore[union-attr]

    for index, point in enumerate(prepared.points):
        folder = f"{sweep_dir}/points/{point.id}"
        record = json.loads(cluster.ssh_ok(f"cat {folder}/output/record.json"))
        lr, opt = point.params["lr"], point.params["opt"]
        assert record["argv"] == [f"--lr={lr}", opt]
        assert (record["lr"], record["opt"], record["point"]) == (lr, opt, point.id)
        assert record["task"] == str(index)
        log = cluster.ssh_ok(f"cat {folder}/job.log")
        assert f"point {point.id}: job {record['job']} (array {array_id} task {index})" in log
        slurm_log = cluster.ssh_ok(f"cat {chunk_dir}/slurm-{array_id}_{index}.log")
        assert f"array task {index}: point {point.id}" in slurm_log
