"""Issue 8, defect 2: a submitter killed while sbatch waits on a stopped controller. `ps`
in that window must not close the run; once the controller is back, the job that sbatch
queued is adopted by its name and followed to the end. Stops slurmctld: serial."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hpcrun.ops.session import Session
from tests.cli import hpcrun
from tests.integration.conftest import Cluster, wait_for
from tests.integration.remote import run_of, wait_state, workflows

QUICK = (
    'workflows:\n  - name: quick\n    provider: bash\n    version: "3.11"\n'
    "    commands: [echo quick done]\n"
)


def _submitting_run() -> str | None:
    with Session() as session:  # the store only: no poll
        runs = [r for r in session.store.list_runs() if r.state == "submitting"]
    return runs[0].run if runs else None


@pytest.mark.serial
def test_killed_submitter_during_sbatch_is_adopted(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "p"
    workflows(project, QUICK)
    ctld = int((cluster.state_dir / "run" / "slurmctld.pid").read_text())
    os.kill(ctld, signal.SIGSTOP)
    try:
        submitter = subprocess.Popen(
            [sys.executable, "-m", "hpcrun", "submit", "quick", "-d",
             "--site", str(cluster.site_config)],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
        )  # fmt: skip
        run = str(wait_for("a run being submitted", _submitting_run, timeout=60, interval=0.2))
        lock = f"~/hpcrun/runs/{run}/.submit.lock"
        wait_for(  # sbatch is blocked on the stopped controller, holding the run's lock
            "sbatch in flight",
            lambda: cluster.ssh(f"test -e {lock} && ! flock -n {lock} true").returncode == 0,
            timeout=60,
            interval=0.2,
        )
        submitter.send_signal(signal.SIGKILL)
        submitter.communicate(timeout=30)
        listed = hpcrun("ps")
        assert listed.returncode == 0, listed.stderr
        assert "in doubt" in listed.stdout and run in listed.stdout
        record = run_of(run)
        assert (record["state"], record["final"]) == ("pending", False)
        assert "in doubt" in record["state_reason"]
    finally:
        os.kill(ctld, signal.SIGCONT)
    record = wait_state(run, {"completed", "failed", "unknown"}, timeout=240)
    assert record["state"] == "completed" and record["job_id"], record["state_reason"]
    query = f"sacct -n -X -P -S now-1hours --format=JobID --name={run}"
    jobs = wait_for("accounting to record the job", lambda: cluster.ssh_ok(query).split())
    assert jobs == [record["job_id"]]  # exactly one job carries the run's name
    assert "quick done" in hpcrun("logs", run).stdout


def _in_doubt_run(cluster: Cluster, session: Session, run: str, age_minutes: int) -> str:
    """A run left 'submitting' by a submitter that is gone, created ``age_minutes`` ago."""
    from datetime import datetime, timedelta, timezone

    from hpcrun.store import RunRecord

    home = cluster.ssh_ok("echo $HOME").strip()
    run_dir = f"{home}/hpcrun/runs/{run}"
    cluster.ssh_ok(f"mkdir -p {run_dir}/code && touch {run_dir}/job.sh")
    created = datetime.now(timezone.utc) - timedelta(minutes=age_minutes)
    session.store.create_run(
        RunRecord(run=run, workflow="quick", site="test", site_config=str(cluster.site_config),
                  remote_dir=run_dir, created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"))
    )  # fmt: skip
    return run_dir


def test_a_job_carrying_the_run_name_is_adopted(cluster: Cluster, tmp_path: Path) -> None:
    import secrets

    from hpcrun.ops.track import refresh

    run = f"quick-{secrets.token_hex(3)}"
    with Session() as session:
        _in_doubt_run(cluster, session, run, age_minutes=30)  # no .jobid: ask Slurm by name
        job = cluster.sbatch(f"--job-name={run} --output=/dev/null --wrap 'sleep 1'")
        refresh(session)
        record = session.store.get(run)
    assert (record.job_id, record.final) == (job, False)


def test_nothing_queued_is_closed_after_the_grace_period_and_cleaned_up(
    cluster: Cluster, tmp_path: Path
) -> None:
    import secrets

    from hpcrun.ops.track import refresh

    young, retried, old = (f"quick-{secrets.token_hex(3)}" for _ in range(3))
    with Session() as session:
        _in_doubt_run(cluster, session, young, age_minutes=0)
        # created long ago, but its sbatch attempt began just now (the lock file's mtime)
        retried_dir = _in_doubt_run(cluster, session, retried, age_minutes=30)
        cluster.ssh_ok(f"cd {retried_dir} && exec 8>.submit.lock")
        old_dir = _in_doubt_run(cluster, session, old, age_minutes=30)
        refresh(session)
        kept = [session.store.get(run) for run in (young, retried)]
        closed = session.store.get(old)
    for record in kept:
        assert (record.state, record.final) == ("submitting", False)
        assert "no job carries its name yet" in record.state_reason
    assert (closed.state, closed.final) == ("failed", True)
    assert "confirmed that no job carries its name" in closed.state_reason
    assert cluster.ssh(f"test -e {old_dir}").returncode == 1  # the abandoned upload is gone
