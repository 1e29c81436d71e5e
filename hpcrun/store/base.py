"""The connection: WAL mode, busy timeout, migrations, one short write transaction.

Several hpcrun processes (an attached ``submit``, a cron ``sweep``, ``ps``) may use the same
database at once, so it runs in WAL mode with a busy timeout and every write is one short
``BEGIN IMMEDIATE`` transaction (taking the write lock up front avoids lock-upgrade deadlocks).
"""

from __future__ import annotations

import functools
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from hpcrun.store_faults import StoreError, busy_timeout_s, translate

_F = TypeVar("_F", bound=Callable[..., Any])


def faults_explained(method: _F) -> _F:
    """sqlite3 and OS errors leave the store as StoreErrors that name the file and the fix
    (disk full, locked, corrupt, unusable HPCRUN_HOME), never as bare sqlite3 errors."""

    @functools.wraps(method)
    def wrapper(self: StoreBase, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            raise translate(exc, self.path) from exc

    return wrapper  # type: ignore[return-value]


def utc_now() -> str:
    """Now, as ISO-8601 UTC with second precision: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _migrations() -> tuple[str, ...]:
    # Read through the package at call time: tests replace ``hpcrun.store.MIGRATIONS``.
    from hpcrun import store

    return store.MIGRATIONS


class StoreBase:
    """One SQLite file. Use as a context manager, or call ``close()``."""

    @faults_explained
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        parent = self.path.parent
        if parent.exists() and not parent.is_dir():
            raise translate(NotADirectoryError(20, "not a folder", str(parent)), self.path)
        if not parent.exists():
            # Only a folder we create is ours to restrict; runs may reference private paths.
            parent.mkdir(parents=True, exist_ok=True)
            os.chmod(parent, 0o700)
        timeout = busy_timeout_s()
        self._db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One short write transaction; rolled back on any error."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            # SQLite may already have rolled back by itself (e.g. on a full disk); a second
            # ROLLBACK would fail and hide the real error.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        migrations = _migrations()
        with self._write() as db:
            # Read inside the lock: another process may have migrated meanwhile.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > len(migrations):
                raise StoreError(
                    f"the database {self.path} has schema version {version}, newer than this "
                    f"hpcrun knows ({len(migrations)})",
                    "upgrade hpcrun, or point HPCRUN_HOME elsewhere",
                )
            for number, script in enumerate(migrations[version:], start=version + 1):
                # executescript() would COMMIT our transaction; run statements one by one.
                for statement in script.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {number}")

    @property
    @faults_explained
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])
