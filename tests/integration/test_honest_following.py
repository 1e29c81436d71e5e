"""Honest following on the real cluster: a job Slurm says can never start stops an attached
submit and ``logs -f`` with exit 1 and leaves the job queued; a job sbatch refuses gets
Slurm's message and a hint that matches it, and keeps the message in ``ps``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster, wait_for
from tests.integration.remote import site_variant, workflows

WORKFLOW = """workflows:
  - name: hi
    provider: bash
    commands:
      - echo hi
"""


def slurm_state(cluster: Cluster, job_id: str) -> str:
    """The job's state as Slurm has it ("" once it forgot it); two ids keep squeue quiet."""
    listed = cluster.ssh(f"squeue -h --states=all -j {job_id},{job_id} -o %T").stdout.split()
    if listed:
        return listed[0]
    return " ".join(cluster.ssh(f"sacct -n -X -P -j {job_id} -o State").stdout.split())


def test_a_job_that_can_never_start_stops_following(cluster: Cluster, tmp_path: Path) -> None:
    failed = cluster.sbatch("--output=/dev/null --mem=64M --wrap 'exit 3'")
    wait_for("the first job to fail", lambda: "FAILED" in slurm_state(cluster, failed), timeout=60)
    site = site_variant(cluster.site_config, tmp_path, sbatch=[f"--dependency=afterok:{failed}"])
    spec = workflows(tmp_path / "project", WORKFLOW)

    result = hpcrun("submit", str(spec), "hi", "--site", site, timeout=180)

    assert result.returncode == 1, result.stderr
    [run] = ps_json()
    name, job_id = run["run"], run["job_id"]
    assert "Traceback" not in result.stderr
    assert (
        f"error: {name} (job {job_id}) can never start: Slurm says DependencyNeverSatisfied: "
        "a job it depends on failed or was cancelled" in result.stderr
    )
    assert f"hint: cancel it with `hpcrun cancel {name}`" in result.stderr
    assert f"hpcrun: {name}: pending (DependencyNeverSatisfied: " in result.stderr
    # left as Slurm has it: still queued, the run still pending with the reason
    assert slurm_state(cluster, job_id) == "PENDING"
    assert (run["state"], run["final"]) == ("pending", False)
    assert run["state_reason"] == "DependencyNeverSatisfied"
    table = hpcrun("ps").stdout
    assert "pending (DependencyNeverSatisfied)" in table

    again = hpcrun("logs", name, "-f", timeout=120)  # logs -f says the same
    assert again.returncode == 1 and "can never start" in again.stderr, again.stderr

    assert hpcrun("cancel", name).returncode == 0
    wait_for("the job to leave", lambda: slurm_state(cluster, job_id) != "PENDING", timeout=60)


EXAMPLE_HELLO = ["--gpu", "1", "--gpu-name", "a100"]


@pytest.mark.parametrize(
    ("flags", "changes", "quoted", "hint"),
    [
        (["--gpu", "99", "--gpu-name", "a100"], {}, "Requested node configuration is not "
         "available", "99 a100 GPUs, but the largest node of partition 'main' has 2"),
        (["--memory", "10TB"], {}, "Memory specification can not be satisfied",
         "of memory, but the largest node of partition 'main' has"),
        ([], {"partitions": {"default": "nosuch"}}, "Invalid partition name specified",
         "valid partitions: main"),
        (EXAMPLE_HELLO, {"gpus": {"A100": {"gres": "h100", "memory": "80GB"}}},
         "Requested node configuration is not available", "gres type 'h100'"),
    ],
)  # fmt: skip
def test_rejection_quotes_slurm_and_hints_what_to_change(
    cluster: Cluster, tmp_path: Path, flags: list[str], changes: dict, quoted: str, hint: str
) -> None:
    site = site_variant(cluster.site_config, tmp_path, **changes)
    spec = workflows(tmp_path / "project", WORKFLOW)

    result = hpcrun("submit", "-d", str(spec), "hi", "--site", site, *flags)

    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    error = next(line for line in lines if line.startswith("error: "))
    assert error.startswith("error: sbatch rejected the job: ") and quoted in error, lines
    assert hint in next(line for line in lines if line.startswith("  hint: ")), lines
    assert "check the partition and GPU names" not in result.stderr
    # the rejected run keeps Slurm's message, and shows no job id
    [run] = json.loads(hpcrun("ps", "--json").stdout)
    assert (run["state"], run["job_id"], run["final"]) == ("failed", None, True)
    assert quoted in run["state_reason"]
    row = next(line for line in hpcrun("ps").stdout.splitlines() if line.startswith(run["run"]))
    assert " - " in row and "failed (sbatch rejected the job: " in row and quoted in row
