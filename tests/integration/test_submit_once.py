"""Never submit a job twice for the same request, even after a crash or a dropped
connection: the run folder's .jobid, written under a lock, is the record."""

from __future__ import annotations

from pathlib import Path

from hpcrun.ops import stage
from hpcrun.ops.backends.slurm import SlurmBackend
from hpcrun.ops.prepare import build_job, load_target
from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh
from hpcrun.store import RunRecord
from tests.integration.conftest import Cluster
from tests.integration.remote import workflows

PY = "3.11"


def staged_run(session: Session, cluster: Cluster, project: Path):
    workflows(project, f'workflows:\n  - name: once\n    provider: python\n    file: once.py\n    version: "{PY}"\n',
              **{"once.py": "import time\ntime.sleep(3)\nprint('ran once')\n"})  # fmt: skip
    site, site_path = session.site(str(cluster.site_config))
    target = load_target(project / "workflows.yaml", "once")
    prepared = build_job(target, site, site_path, run=session.store.unique_run_name("once"))
    transport = session.transport(site)
    run_dir = stage.run_dir_for(transport, prepared.plan)
    stage.make_run_dir(transport, run_dir)
    stage.upload_code(transport, project, run_dir, None)
    stage.write_job_script(transport, prepared.script, run_dir)
    return prepared, transport, run_dir, site, site_path


def test_a_retried_submission_returns_the_same_job(cluster: Cluster, tmp_path: Path) -> None:
    with Session() as session:
        prepared, transport, run_dir, *_ = staged_run(session, cluster, tmp_path / "p")
        backend = SlurmBackend()
        first = backend.submit(transport, run_dir, prepared.plan)
        second = backend.submit(
            transport, run_dir, prepared.plan
        )  # e.g. after a dropped connection
    assert first == second
    name = prepared.plan.job_name
    # every job of that name the controller or accounting knows about: exactly one
    ids = cluster.ssh_ok(f"squeue -h --states=all -n {name} -o %i; "
                         f"sacct -n -X -P -o JobID --name {name} -S now-1hours")  # fmt: skip
    assert set(ids.split()) == {first}


def test_a_run_left_submitting_is_adopted_not_resubmitted(cluster: Cluster, tmp_path: Path) -> None:
    """The CLI died after sbatch but before recording the job id: `ps` finds the id in the
    run folder and follows that job."""
    with Session() as session:
        prepared, transport, run_dir, site, site_path = staged_run(session, cluster, tmp_path / "p")
        job_id = SlurmBackend().submit(transport, run_dir, prepared.plan)
        session.store.create_run(
            RunRecord(run=prepared.plan.run, workflow="once", site=site.name,
                      site_config=str(site_path), remote_dir=run_dir)
        )  # fmt: skip
        refresh(session)
        record = session.store.get(prepared.plan.run)
    assert record.job_id == job_id
    assert record.state in {"pending", "running", "completed"}


def test_a_run_that_never_reached_sbatch_is_not_submitted_later(
    cluster: Cluster, tmp_path: Path
) -> None:
    with Session() as session:
        prepared, _transport, run_dir, site, site_path = staged_run(
            session, cluster, tmp_path / "p"
        )
        session.store.create_run(
            RunRecord(run=prepared.plan.run, workflow="once", site=site.name,
                      site_config=str(site_path), remote_dir=run_dir)
        )  # fmt: skip
        refresh(session)
        record = session.store.get(prepared.plan.run)
    # no job carries its name, but it was created moments ago: it stays in doubt (a delayed
    # sbatch could still queue it) until the grace period is over (test_interrupted_submission)
    assert (record.state, record.final, record.job_id) == ("submitting", False, None)
    assert (
        "in doubt" in record.state_reason and "no job carries its name yet" in record.state_reason
    )
    assert not cluster.ssh_ok(f"squeue -h -n {prepared.plan.job_name} -o %i").strip()
