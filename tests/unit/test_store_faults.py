"""sqlite3 failures leave the store as StoreErrors that name the database and the fix."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpcrun.store import RunRecord, Store
from hpcrun.store_faults import (
    DatabaseCorruptError,
    DatabaseFullError,
    DatabaseLockedError,
    DatabaseUnusableError,
    StoreError,
    busy_timeout_s,
)


def test_full_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "hpcrun.db"
    with Store(path) as store:
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")  # a real SQLITE_FULL
        record = RunRecord(run="r-1", workflow="w", site="local", site_config="x",
                           artifacts=tuple(f"a{i}" * 50 for i in range(200)))  # fmt: skip
        with pytest.raises(DatabaseFullError) as info:
            store.create_run(record)
        assert str(path) in info.value.message and "disk is full" in info.value.message
        assert "HPCRUN_HOME" in (info.value.hint or "")
        assert store.get("r-1") is None  # rolled back, and the store is still usable
        store._db.execute("PRAGMA max_page_count = 1073741823")
        store.create_run(record)


@pytest.mark.parametrize("damage", ["garbage", "malformed"])
def test_corrupt_database_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "hpcrun.db"
    if damage == "garbage":
        path.write_bytes(b"this is not sqlite\n" * 500)
    else:
        with Store(path) as store:
            for i in range(30):
                store.create_run(RunRecord(run=f"r-{i}", workflow="w", site="s", site_config="c"))
        size = path.stat().st_size
        with path.open("r+b") as stream:  # keep the header page, wreck the rest
            stream.seek(4096)
            stream.write(b"\xff" * (size - 4096))
    with pytest.raises(DatabaseCorruptError) as info, Store(path) as store:
        store.list_runs()
    assert f"the database {path} is damaged" in info.value.message
    assert f"mv {path} {path}.broken" in (info.value.hint or "")


def test_locked_database_waits_the_configured_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hpcrun.db"
    Store(path).close()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sqlite3, sys, time\n"
         f"db = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
         "db.execute('BEGIN EXCLUSIVE')\nprint('locked', flush=True)\ntime.sleep(30)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setenv("HPCRUN_DB_TIMEOUT", "1")
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError) as info:
            Store(path)
        assert 0.9 < time.monotonic() - started < 5
        assert "locked by another process for more than 1 s" in info.value.message
        assert "HPCRUN_DB_TIMEOUT" in (info.value.hint or "")
    finally:
        holder.kill()
        holder.wait()
    Store(path).close()  # usable again once the other process is gone


def test_home_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.write_text("not a folder")
    for path in (home / "hpcrun.db", home / "sub" / "hpcrun.db"):
        with pytest.raises(DatabaseUnusableError) as info:
            Store(path)
        assert str(path.parent) in info.value.message


def test_busy_timeout_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HPCRUN_DB_TIMEOUT", raising=False)
    assert busy_timeout_s() == 10
    monkeypatch.setenv("HPCRUN_DB_TIMEOUT", "2.5")
    assert busy_timeout_s() == 2.5
    monkeypatch.setenv("HPCRUN_DB_TIMEOUT", "soon")
    with pytest.raises(StoreError, match="HPCRUN_DB_TIMEOUT"):
        busy_timeout_s()
