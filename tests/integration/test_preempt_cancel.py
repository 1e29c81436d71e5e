"""A site that cancels preempted jobs instead of requeueing them (PreemptMode=CANCEL, with
GraceTime): hpcrun's job script requeues the job itself (`scontrol requeue`), and the
example training loop resumes from its checkpoint and completes with every step done once
(docs/interruptible.md). The test cluster's `preempt-cancel` partition is such a site
(scripts/test-cluster: GraceTime=5, same node and GPUs as the other partitions).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.cli import hpcrun
from tests.integration.conftest import Cluster
from tests.integration.preemption import PreemptionSite
from tests.integration.remote import site_variant
from tests.integration.test_interruptible import (
    SEEN,
    assert_every_step_once,
    partition_of,
    preempted_run,
    remote_text,
    warned_once,
)


def test_cancelled_at_preemption_the_job_requeues_itself_and_completes(
    cluster: Cluster, preemption: PreemptionSite, tmp_path: Path
) -> None:
    shown = cluster.ssh_ok(f"scontrol show partition {preemption.cancel_partition}")
    assert "PreemptMode=CANCEL" in shown and "GraceTime=" in shown, shown
    site = site_variant(
        cluster.site_config, tmp_path, interruptible={"partition": preemption.cancel_partition}
    )
    run, record, final, log = preempted_run(cluster, preemption, tmp_path, site)
    assert partition_of(cluster, final["job_id"]) == preemption.cancel_partition
    assert final["state"] == "completed", log
    assert final["restarts"] >= 1
    assert "failed" not in SEEN[run] and "cancelled" not in SEEN[run], SEEN[run]
    # Slurm did not requeue it (its restart count had not gone up): the job script did
    assert re.search(
        r"\[hpcrun\] requeueing job \d+ to continue from the checkpoint \(preempted\)", log
    ), log
    assert "Slurm requeues the job" not in log
    assert "[hpcrun] attempt 1 ended: preempted (exit 3)" in log
    assert "[hpcrun] attempt 2 started (previous attempt ended: preempted)" in log
    assert re.search(r"attempt 2: resuming after step \d+", log), log
    assert "attempt 3 started" not in log
    warned_once(cluster, record, preemption.signal)
    assert_every_step_once(cluster, run, record, 14, tmp_path / "fetched")


def test_with_requeue_off_a_preempted_run_ends_preempted(
    cluster: Cluster, preemption: PreemptionSite, tmp_path: Path
) -> None:
    """`requeue: false`: --no-requeue, and the run ends `preempted` (final), not failed or
    completed, although Slurm records FAILED with the program's exit code 3."""
    site = site_variant(cluster.site_config, tmp_path, interruptible={"requeue": False})
    run, record, final, log = preempted_run(cluster, preemption, tmp_path, site)
    assert (final["state"], final["final"]) == ("preempted", True), log
    assert "[hpcrun] attempt 1 ended: preempted (exit 3)" in log
    assert "requeueing" not in log and "attempt 2 started" not in log
    assert "#SBATCH --no-requeue" in remote_text(cluster, record, "job.sh")
    warned_once(cluster, record, preemption.signal)
    assert run in hpcrun("ps", "-a", "--state", "preempted").stdout
