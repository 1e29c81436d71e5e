"""Runs stand on their own (local site): a run keeps the site config it was submitted
with, so moving, editing or deleting the YAML breaks none of ps, logs, artifacts, cancel;
``--site`` points runs at a new config."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from hpcrun.ops.backends.local import LocalBackend
from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh
from tests.cli import hpcrun, ps_json
from tests.conftest import write

WORKFLOWS = """workflows:
  - name: quick
    provider: python
    file: quick.py
    artifacts: [out]
  - name: long
    provider: python
    file: long.py
"""
QUICK = "import pathlib\nprint('hello from quick')\npathlib.Path('out').mkdir()\n" \
        "pathlib.Path('out/a.txt').write_text('artifact')\n"  # fmt: skip
LONG = "import time\nprint('long started', flush=True)\ntime.sleep(300)\n"


def site_yaml(path: Path, name: str = "mylocal", time_limit: str = "01:00:00") -> Path:
    return write(path, f"name: {name}\nscheduler: local\ndefaults: {{time: '{time_limit}'}}\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    write(folder / "quick.py", QUICK)
    write(folder / "long.py", LONG)
    write(folder / "workflows.yaml", WORKFLOWS)
    return folder


def submit(project: Path, workflow: str, site: Path) -> str:
    result = hpcrun("submit", workflow, "-d", "--site", str(site), cwd=project)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def state_of(run: str) -> dict:
    return next(r for r in ps_json() if r["run"] == run)


def wait_final(run: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while (record := state_of(run))["state"] in ("pending", "running"):
        assert time.monotonic() < deadline, record
        time.sleep(0.3)
    return record


def test_moving_editing_and_deleting_the_yaml_breaks_nothing(tmp_path: Path, project: Path) -> None:
    yaml_path = site_yaml(tmp_path / "sites" / "mylocal.yaml")
    quick, long = submit(project, "quick", yaml_path), submit(project, "long", yaml_path)
    moved = tmp_path / "elsewhere" / "renamed.yaml"
    moved.parent.mkdir()
    yaml_path.rename(moved)
    assert wait_final(quick)["state"] == "completed"
    logs = hpcrun("logs", quick)
    assert logs.returncode == 0, logs.stderr
    assert "hello from quick" in logs.stdout
    # the file at the old path now says something else entirely (and is not even valid)
    write(yaml_path, "name: mylocal\nscheduler: pbs\n")
    listing = hpcrun("ps")
    assert listing.returncode == 0, listing.stderr
    assert "warning" not in listing.stderr and long in listing.stdout
    fetched = hpcrun("artifacts", quick, "--dest", str(tmp_path / "got"))
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "got" / "out" / "a.txt").read_text() == "artifact"
    yaml_path.unlink()
    moved.unlink()
    assert "long started" in hpcrun("logs", long).stdout
    cancelled = hpcrun("cancel", long)
    assert cancelled.returncode == 0, cancelled.stderr
    assert state_of(long)["state"] == "cancelled"


def _forget_snapshot(run: str, home: Path) -> None:
    """Make the run look recorded by an hpcrun from before snapshots (schema 2)."""
    db = sqlite3.connect(home / "hpcrun.db")
    db.execute("UPDATE runs SET site_snapshot = NULL WHERE run = ?", (run,))
    db.commit()
    db.close()


def test_site_points_a_run_at_a_new_config(
    tmp_path: Path, project: Path, isolated_home: Path
) -> None:
    old = site_yaml(tmp_path / "old.yaml")
    run = submit(project, "quick", old)
    wait_final(run)
    _forget_snapshot(run, isolated_home)
    old.unlink()
    lost = hpcrun("logs", run)
    assert lost.returncode == 2
    assert "recorded without a copy of its site config" in lost.stderr
    assert f"hpcrun logs {run} --site SITE" in lost.stderr
    assert "Traceback" not in lost.stderr
    listing = hpcrun("ps")  # the other runs would still be listed: a warning, not a failure
    assert listing.returncode == 0, listing.stderr

    new = site_yaml(tmp_path / "new" / "newlocal.yaml", name="newlocal")
    pointed = hpcrun("logs", run, "--site", str(new))
    assert pointed.returncode == 0, pointed.stderr
    assert "hello from quick" in pointed.stdout
    assert state_of(run)["site"] == "newlocal"
    new.unlink()  # pointed once: the run keeps that config as its own snapshot
    again = hpcrun("artifacts", run, "--dest", str(tmp_path / "got"))
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "got" / "out" / "a.txt").read_text() == "artifact"


def test_ps_site_lists_and_refreshes_the_runs_of_that_site(tmp_path: Path, project: Path) -> None:
    first = submit(project, "long", site_yaml(tmp_path / "a.yaml", name="site-a"))
    other = submit(project, "long", site_yaml(tmp_path / "b.yaml", name="site-b"))
    again = site_yaml(tmp_path / "moved" / "a.yaml", name="site-a", time_limit="2h")
    listing = hpcrun("ps", "--site", str(again))
    assert listing.returncode == 0, listing.stderr
    assert first in listing.stdout and other not in listing.stdout
    assert state_of(first)["site_config"] == str(again.resolve())  # pointed at it
    assert state_of(other)["site_config"] == str((tmp_path / "b.yaml").resolve())
    for run in (first, other):
        assert hpcrun("cancel", run).returncode == 0


def test_site_of_another_kind_is_refused(tmp_path: Path, project: Path) -> None:
    run = submit(project, "quick", site_yaml(tmp_path / "mylocal.yaml"))
    slurm = write(
        tmp_path / "cluster.yaml",
        "name: mylocal\nscheduler: slurm\nlogin: {host: 127.0.0.1, port: 1}\n",
    )
    for command in ("logs", "artifacts", "cancel"):
        result = hpcrun(command, run, "--site", str(slurm))
        assert result.returncode == 2, (command, result.stderr)
        assert "was submitted to a local site" in result.stderr
        assert "--site must name a local site config" in result.stderr
    refused = hpcrun("ps", "--site", str(slurm))
    assert refused.returncode == 2 and "was submitted to a local site" in refused.stderr
    wait_final(run)


def test_runs_of_one_config_share_one_poll_wherever_its_yaml_was(
    tmp_path: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the same content at two paths, and an edited copy: one login, so one poll
    runs = [
        submit(project, "long", site_yaml(tmp_path / "one" / "s.yaml")),
        submit(project, "long", site_yaml(tmp_path / "two" / "s.yaml")),
        submit(project, "long", site_yaml(tmp_path / "three.yaml", time_limit="3h")),
    ]
    polls: list[set[str]] = []
    real_poll = LocalBackend.poll

    def counting_poll(self: LocalBackend, transport: object, jobs: dict) -> dict:
        polls.append(set(jobs))
        return real_poll(self, transport, jobs)

    monkeypatch.setattr(LocalBackend, "poll", counting_poll)
    with Session() as session:
        refresh(session)
        records = [session.store.get(run) for run in runs]
    assert polls == [{r.job_id for r in records}]
    for run in runs:
        assert hpcrun("cancel", run).returncode == 0
