"""The warning reaches an interruptible program where the controller warns no batch shell.

Without SlurmctldParameters=preempt_send_user_signal, a preemption's only signal is
slurmctld's ``job_signal(job, SIGTERM, 0)``: SIGTERM to the job's steps, never to the batch
shell, then SIGKILL after GraceTime (the case issue 11 measured on Slurm 22.05). The job
script of an interruptible run keeps a sleeping step (``hpcrun-watch``) that hears it.

``scancel --signal=TERM JOB`` (no --batch, no --full) makes that same controller call, so
the test cluster, which does send the user signal at preemption, shows the other kind of
site's behaviour without being reconfigured.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.cli import hpcrun
from tests.integration.conftest import Cluster, wait_for
from tests.integration.preemption import PreemptionSite
from tests.integration.remote import wait_state
from tests.integration.test_interruptible import (
    assert_every_step_once,
    preempted_run,
    project,
    remote_text,
)


def test_sigterm_to_the_steps_only_warns_the_program(cluster: Cluster, tmp_path: Path) -> None:
    project(tmp_path, 60, resources="      interruptible: true\n")
    submitted = hpcrun("submit", "train", "--site", str(cluster.site_config), "-d", cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    run = submitted.stdout.strip()
    record = wait_state(run, {"running"}, timeout=60)
    job = record["job_id"]
    wait_for("the first step", lambda: "step 0 done" in hpcrun("logs", run).stdout)
    steps = lambda: cluster.ssh_ok(f"squeue -h -s -j {job} -o %j").split()  # noqa: E731
    wait_for("the watching step", lambda: "hpcrun-watch" in steps(), timeout=30)

    cluster.ssh_ok(f"scancel --signal=TERM {job}")  # what a preemption sends on such sites

    final = wait_state(run, {"failed", "completed", "cancelled", "preempted"}, timeout=60)
    log = hpcrun("logs", run).stdout
    assert "Slurm is stopping the job's steps" in log, log
    assert "received SIGUSR1" in log and "received SIGTERM" not in log, log
    # the program itself got the warning, and nothing else (the batch shell got no SIGTERM)
    assert remote_text(cluster, final, "output/signals.txt") == "attempt 1: SIGUSR1\n"
    assert "stopping after step" in log  # it saved its checkpoint and stopped
    assert "hpcrun-watch" not in steps()  # the watcher went with the program


@contextmanager
def controller_without_user_signal(cluster: Cluster) -> Iterator[None]:
    """The test cluster's slurmctld without SlurmctldParameters=preempt_send_user_signal
    (as many sites run it), restored afterwards."""
    conf = cluster.state_dir / "etc" / "slurm.conf"
    original = conf.read_text()
    assert "\nSlurmctldParameters=preempt_send_user_signal\n" in original
    conf.write_text(original.replace("\nSlurmctldParameters=", "\n#SlurmctldParameters=", 1))
    try:
        subprocess.run(["scontrol", "reconfigure"], check=True, timeout=60)
        shown = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True)
        assert "preempt_send_user_signal" not in shown.stdout
        yield
    finally:
        conf.write_text(original)
        subprocess.run(["scontrol", "reconfigure"], check=True, timeout=60)


@pytest.mark.serial  # reconfigures slurmctld
def test_a_real_preemption_without_the_user_signal_warns_resumes_and_completes(
    cluster: Cluster, preemption: PreemptionSite, tmp_path: Path
) -> None:
    with controller_without_user_signal(cluster):
        run, record, final, log = preempted_run(
            cluster, preemption, tmp_path, str(cluster.site_config)
        )
    assert final["state"] == "completed", log
    assert "Slurm is stopping the job's steps" in log, log
    assert "[hpcrun] attempt 2 started (previous attempt ended: preempted)" in log
    assert remote_text(cluster, record, "output/signals.txt") == "attempt 1: SIGUSR1\n"
    assert_every_step_once(cluster, run, record, 14, tmp_path / "fetched")
