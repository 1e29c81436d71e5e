"""The Python API and ``hpcrun wait``/``cancel`` of several runs on the real test cluster."""

from __future__ import annotations

import json
from pathlib import Path

import hpcrun
from tests.cli import hpcrun as cli
from tests.integration.conftest import Cluster
from tests.integration.remote import workflows

WORKFLOWS = """\
workflows:
  - name: quick
    provider: bash
    version: "3.11"
    commands: [mkdir -p out, echo "value $VALUE" | tee out/v.txt, exit 4]
    artifacts: [out]
  - name: sleepy
    provider: bash
    version: "3.11"
    commands: [sleep 60]
"""


def test_api_and_wait_and_cancel_on_the_cluster(cluster: Cluster, tmp_path: Path) -> None:
    spec = workflows(tmp_path / "project", WORKFLOWS)
    site = str(cluster.site_config)
    quick = hpcrun.submit(spec, workflow="quick", site=site, env={"VALUE": "7"}, time="5m")
    again = hpcrun.submit(spec, workflow="quick", site=site, env={"VALUE": "8"}, time="5m")
    sleepers = [hpcrun.submit(spec, workflow="sleepy", site=site, time="5m") for _ in range(2)]
    try:
        _check(cluster, tmp_path, quick, sleepers)
        _check_wait_fetches(again)
    finally:  # never leave a sleeping job on the shared cluster
        cli("cancel", "--all")


def _check_wait_fetches(run: hpcrun.Run) -> None:
    """Run.wait() is a follower like `hpcrun wait`: it fetches a detached run's artifacts."""
    assert run.wait(timeout=120) is run and run.exit_code == 4
    assert run.to_dict()["artifacts_fetched_at"] and run.artifacts_dir is not None
    assert (run.artifacts_dir / "out" / "v.txt").read_text() == "value 8\n"


def _check(cluster: Cluster, tmp_path: Path, quick: hpcrun.Run, sleepers: list) -> None:
    assert quick.job_id and quick.job_id.isdigit()

    waited = cli("wait", quick.name, "--timeout", "120")
    assert waited.returncode == 4, waited.stderr
    assert waited.stdout.strip() == f"{quick.name} failed (exit code 4)"
    quick.refresh()
    assert (quick.state, quick.exit_code) == ("failed", 4)
    assert "value 7" in quick.logs()
    assert (quick.artifacts(tmp_path / "got") / "out" / "v.txt").read_text() == "value 7\n"

    names = [s.name for s in sleepers]
    cancelled = cli("cancel", *names, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert [(o["run"], o["outcome"]) for o in json.loads(cancelled.stdout)] == [
        (name, "cancelled") for name in names
    ]
    for job in (s.job_id for s in sleepers):
        assert cluster.ssh_ok(f"squeue -h -j {job},{job} -o %T || true").strip() == ""
    assert {r.name for r in hpcrun.runs(state="cancelled")} == set(names)
    assert sleepers[0].refresh().state == "cancelled"
