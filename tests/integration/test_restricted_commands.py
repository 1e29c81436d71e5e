"""A restricted automation key (site option ``restricted_commands: true``): the test
cluster's user hpcauto can only run single allow-listed commands through
scripts/restricted-wrapper (sshd's forced command: mkdir -p, rsync --server, cat, sbatch,
squeue, scancel; no sacct, no shell). Submit, ps, logs, artifacts and cancel work through
it, and the wrapper's log of refused commands stays empty: hpcrun never sent anything
else."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli import hpcrun, ps_json
from tests.integration.conftest import Cluster
from tests.integration.remote import run_of, site_variant, wait_state, workflows

USER = "hpcauto"
WORKFLOW = """workflows:
  - name: auto
    provider: python
    file: job.py
    version: "3.11"
    artifacts: [out]
  - name: fails
    provider: bash
    version: "3.11"
    commands:
      - echo "about to fail"
      - exit 3
  - name: sleeps
    provider: bash
    version: "3.11"
    commands:
      - sleep 120
"""
DEPENDENT = """  - name: after
    provider: bash
    version: "3.11"
    deps:
      - workflow: auto
    commands:
      - ls
"""
JOB = """import os, pathlib
print("line from the restricted job in", os.getcwd())
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/result.txt").write_text("made through the wrapper")
pathlib.Path(os.environ["OUTPUT_FOLDER"], "o.txt").write_text("output folder")
"""


def refused_log(cluster: Cluster) -> Path:
    return cluster.state_dir / "restricted" / "refused.log"


@pytest.fixture(params=["paramiko", "openssh"])
def site(cluster: Cluster, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A restricted site as hpcauto (on both transports); fails the test if the wrapper
    refused anything."""
    log = refused_log(cluster)
    assert log.exists(), "scripts/test-cluster up did not set up the restricted user"
    before = log.stat().st_size
    login = {"user": USER, "transport": request.param}
    yield site_variant(cluster.site_config, tmp_path, login=login, restricted_commands=True)
    with log.open("rb") as handle:
        handle.seek(before)
        refused = handle.read().decode()
    assert refused == "", f"the wrapper refused commands hpcrun sent:\n{refused}"


def test_the_wrapper_refuses_shell_and_sacct(cluster: Cluster) -> None:
    """The harness is real: a compound command and sacct are refused (and logged)."""
    argv = cluster.ssh_argv("unused")
    argv[argv.index(f"{cluster.user}@{cluster.host}")] = f"{USER}@{cluster.host}"
    log = refused_log(cluster)
    before = log.stat().st_size
    refusals = {"squeue; id": "forbidden character ';'", "sacct -X": "not in the allow-list"}
    for command in refusals:
        done = subprocess.run([*argv[:-1], command], capture_output=True, text=True,
                              timeout=60, check=False)  # fmt: skip
        assert done.returncode == 126, done.stderr
    with log.open() as handle:
        handle.seek(before)
        logged = handle.read().splitlines()
    assert [line.split("\t", 1)[1] for line in logged] == [
        f"{why}\t{command!r}" for command, why in refusals.items()
    ]
    allowed = subprocess.run([*argv[:-1], "squeue --noheader --name=no-such-job"],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr


def test_submit_ps_logs_artifacts_through_the_wrapper(site: str, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    workflows(project, WORKFLOW, **{"job.py": JOB})
    submitted = hpcrun("submit", "auto", "--site", site, cwd=project)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert "line from the restricted job in" in submitted.stdout
    run = submitted.stderr.split("submitted ", 1)[1].split()[0]
    record = run_of(run)
    assert (record["state"], record["exit_code"]) == ("completed", 0)
    assert f"/home/{USER}/hpcrun/runs/{run}/code" in submitted.stdout  # --chdir + run dir
    fetched = Path(record["artifacts_dir"])
    assert (fetched / "out" / "result.txt").read_text() == "made through the wrapper"

    logs = hpcrun("logs", run)
    assert logs.returncode == 0, logs.stderr
    assert "line from the restricted job in" in logs.stdout

    again = tmp_path / "again"
    artifacts = hpcrun("artifacts", run, "--dest", str(again))
    assert artifacts.returncode == 0, artifacts.stderr
    assert (again / "out" / "result.txt").read_text() == "made through the wrapper"


def test_exit_code_without_sacct_and_cancel(site: str, tmp_path: Path) -> None:
    project = tmp_path / "proj"
    workflows(project, WORKFLOW, **{"job.py": JOB})
    failing = hpcrun("submit", "fails", "--site", site, "-d", cwd=project)
    sleeping = hpcrun("submit", "sleeps", "--site", site, "-d", cwd=project)
    assert failing.returncode == 0, failing.stderr
    assert sleeping.returncode == 0, sleeping.stderr
    failed_run = failing.stderr.split("submitted ", 1)[1].split()[0]
    sleeping_run = sleeping.stderr.split("submitted ", 1)[1].split()[0]

    record = wait_state(failed_run, {"failed", "completed"}, timeout=120)
    assert (record["state"], record["exit_code"]) == ("failed", 3)

    wait_state(sleeping_run, {"running"}, timeout=120)
    cancelled = hpcrun("cancel", sleeping_run)
    assert cancelled.returncode == 0, cancelled.stderr
    record = wait_state(sleeping_run, {"cancelled", "failed", "unknown"}, timeout=60)
    assert record["state"] == "cancelled"


def test_operations_that_need_a_shell_say_so(site: str, tmp_path: Path) -> None:
    """Never sent (so never refused): a clear failure naming the option."""
    checked = hpcrun("site", "check", site)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "is not available with restricted_commands" in checked.stdout
    assert "Traceback" not in checked.stdout + checked.stderr


def test_a_second_submission_of_a_run_takes_its_job(site: str, tmp_path: Path) -> None:
    """No lock and no .jobid without a shell: sbatch again for the same run (a retry after
    a lost answer) finds the job by its unique name instead of queueing a second one."""
    from types import SimpleNamespace

    from hpcrun.ops.session import Session

    project = tmp_path / "proj"
    workflows(project, WORKFLOW, **{"job.py": JOB})
    sleeping = hpcrun("submit", "sleeps", "--site", site, "-d", cwd=project)
    assert sleeping.returncode == 0, sleeping.stderr
    run = sleeping.stderr.split("submitted ", 1)[1].split()[0]
    record = run_of(run)
    with Session() as session:
        loaded, _ = session.site(site)
        transport, backend = session.transport(loaded), session.backend(loaded)
        again = backend.submit(transport, f"/home/{USER}/hpcrun/runs/{run}",
                               SimpleNamespace(run=run))  # fmt: skip
        assert again == record["job_id"]
        named = backend.jobs_named(transport, {f"{run}": 0.0})
    assert named == {run: record["job_id"]}
    assert hpcrun("cancel", run).returncode == 0


def test_deps_say_they_need_a_shell(site: str, tmp_path: Path) -> None:
    """(Sweeps work through the wrapper: test_restricted_sweep.py.)"""
    linked = tmp_path / "linked"
    workflows(linked, WORKFLOW + DEPENDENT, **{"job.py": JOB})
    refused = hpcrun("submit", "after", "--site", site, "-d", cwd=linked)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "deps (linking an upstream run's artifacts" in refused.stderr
    assert "is not available with restricted_commands" in refused.stderr
    assert not [r for r in ps_json() if r["workflow"] == "after"]  # refused before recording
