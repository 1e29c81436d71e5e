"""Local faults (full disk, locked or corrupt database, unusable HPCRUN_HOME) are clear
errors naming the path, never "internal error"; a queued job always reaches the user.

The disk-full and read-only cases use a real tiny tmpfs (root only; they skip elsewhere).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from hpcrun.errors import EXIT_QUEUED_NOT_RECORDED
from tests.cli import hpcrun, ps_json
from tests.conftest import write
from tests.local.test_local_site import wait_for
from tests.tinyfs import fill, remount, tiny_tmpfs

WORKFLOWS = "workflows:\n  - {name: w, provider: bash, commands: [echo ran-fine]}\n"


def assert_clear(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    assert "hint:" in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    write(folder / "workflows.yaml", WORKFLOWS)
    return folder


def test_home_that_is_a_file(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = write(tmp_path / "home-file", "oops")
    monkeypatch.setenv("HPCRUN_HOME", str(home))
    assert_clear(hpcrun("ps"), str(home), "HPCRUN_HOME")
    assert_clear(hpcrun("submit", "-d", "w", cwd=project), str(home))
    monkeypatch.setenv("HPCRUN_HOME", str(home / "below"))
    assert_clear(hpcrun("ps"), str(home / "below"))


def test_locks_folder_that_is_a_file(project: Path, isolated_home: Path) -> None:
    write(isolated_home / "locks", "in the way")
    result = hpcrun("submit", "-d", "w", cwd=project)
    assert_clear(result, f"cannot use {isolated_home / 'locks'}")


def test_corrupt_database(isolated_home: Path) -> None:
    (isolated_home / "hpcrun.db").write_bytes(b"\x00garbage" * 2000)
    assert_clear(hpcrun("ps"), f"the database {isolated_home / 'hpcrun.db'} is damaged", "mv ")


def test_locked_database(isolated_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert hpcrun("ps").returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, time\n"
         f"db = sqlite3.connect({str(isolated_home / 'hpcrun.db')!r}, isolation_level=None)\n"
         "db.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("HPCRUN_DB_TIMEOUT", "1")
        started = time.monotonic()
        result = hpcrun("ps")
        assert time.monotonic() - started < 5
        assert_clear(result, "stayed locked by another process for more than 1 s")
    finally:
        holder.kill()
        holder.wait()


def test_read_only_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with tiny_tmpfs(tmp_path / "mnt") as mount:
        monkeypatch.setenv("HPCRUN_HOME", str(mount / "home"))
        assert hpcrun("ps").returncode == 0
        remount(mount, "ro")
        try:
            assert_clear(hpcrun("ps"), str(mount / "home"), "read-only")
            monkeypatch.setenv("HPCRUN_HOME", str(mount / "never-created"))
            assert_clear(hpcrun("ps"), str(mount / "never-created"), "Read-only")
        finally:
            remount(mount, "rw")


def test_full_disk_before_submitting_submits_nothing(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tiny_tmpfs(tmp_path / "mnt") as mount:
        monkeypatch.setenv("HPCRUN_HOME", str(mount / "home"))
        assert hpcrun("ps").returncode == 0
        filler = fill(mount)
        result = hpcrun("submit", "-d", "w", cwd=project)
        assert_clear(result, str(mount / "home"), "disk is full")
        filler.unlink()
        assert ps_json() == []
        assert not (mount / "home" / "local").exists()  # no run folder: nothing was started


def _local_site(tmp_path: Path) -> Path:
    # Run folders on the normal disk: only the database's filesystem fills up.
    return write(
        tmp_path / "site.yaml",
        f"name: faults\nscheduler: local\nremote_root: {tmp_path / 'runs'}\n"
        "modules: {python: null}\n",
    )


def test_full_disk_after_queueing_still_reports_the_job(
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hpcrun.cli.main import main
    from hpcrun.ops.session import Session

    site = _local_site(tmp_path)
    with tiny_tmpfs(tmp_path / "mnt") as mount:
        monkeypatch.setenv("HPCRUN_HOME", str(mount / "home"))
        real_backend = Session.backend

        def filling_backend(self: Session, site: Any) -> Any:
            backend = real_backend(self, site)

            class FillAfterSubmit:  # the real backend; the disk fills once it has queued
                def __getattr__(self, name: str) -> Any:
                    return getattr(backend, name)

                def submit(self, *args: Any, **kwargs: Any) -> str:
                    job_id = backend.submit(*args, **kwargs)
                    fill(mount)
                    return job_id

            return FillAfterSubmit()

        monkeypatch.setattr(Session, "backend", filling_backend)
        with pytest.raises(SystemExit) as exit_info:
            main(["submit", "-d", "--site", str(site), str(project / "workflows.yaml"), "w"])
        monkeypatch.undo()
        err = capsys.readouterr().err
        assert exit_info.value.code == EXIT_QUEUED_NOT_RECORDED, err
        assert "internal error" not in err and "IS queued as job" in err, err
        assert "do not submit it again" in err and "hpcrun ps" in err
        run = err.split("run ", 1)[1].split()[0]
        job_id = err.split("queued as job ", 1)[1].split(",")[0]
        assert run.startswith("w-") and job_id.isdigit()

        (mount / "filler").unlink()
        monkeypatch.setenv("HPCRUN_HOME", str(mount / "home"))

        def adopted() -> Any:
            runs = ps_json()
            return runs if runs and runs[0]["state"] == "completed" else None

        [record] = wait_for(adopted)
        assert (record["run"], record["job_id"]) == (run, job_id)
        log = hpcrun("logs", run)
        assert "ran-fine" in log.stdout, log.stderr


def test_no_lock_files_are_left_behind(project: Path, isolated_home: Path) -> None:
    result = hpcrun("submit", "w", cwd=project)
    assert result.returncode == 0, result.stderr
    assert list((isolated_home / "locks").iterdir()) == []
    assert json.loads(hpcrun("ps", "-a", "--json").stdout)[0]["state"] == "completed"


HOLD = """
import sys, time
from hpcrun.locks import holding
with holding("shared"):
    print("held", flush=True)
    time.sleep(float(sys.argv[1]))
print("released", flush=True)
"""


def test_locks_still_exclude_each_other(isolated_home: Path) -> None:
    from hpcrun.locks import holding, is_held

    assert not is_held("shared") and not (isolated_home / "locks").exists()  # creates nothing
    other = subprocess.Popen([sys.executable, "-c", HOLD, "1.0"], stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "held"
        assert is_held("shared") and (isolated_home / "locks" / "shared.lock").exists()
        started = time.monotonic()
        with holding("shared"):
            waited = time.monotonic() - started
            assert other.stdout.readline().strip() == "released"  # it let go before us
            assert (isolated_home / "locks" / "shared.lock").exists()
        assert waited > 0.5
        assert not is_held("shared")
        assert list((isolated_home / "locks").iterdir()) == []
    finally:
        other.kill()
        other.wait()


def test_many_contenders_never_overlap(isolated_home: Path, tmp_path: Path) -> None:
    """Unlinking on release must not let two processes in at once: each appends
    'in'/'out' to a shared file while holding the lock; the lines must alternate."""
    trace = tmp_path / "trace"
    code = (
        "import sys, time\nfrom hpcrun.locks import holding\n"
        "for _ in range(20):\n"
        "    with holding('race'):\n"
        f"        open({str(trace)!r}, 'a').write('in\\n')\n"
        "        time.sleep(0.002)\n"
        f"        open({str(trace)!r}, 'a').write('out\\n')\n"
    )
    workers = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(4)]
    for worker in workers:
        assert worker.wait(timeout=60) == 0
    lines = trace.read_text().split()
    assert lines == ["in", "out"] * 80
    assert list((isolated_home / "locks").iterdir()) == []
