"""What went wrong with the local database, in words a user can act on.

The store package (the only code that imports sqlite3) hands every sqlite3 or OS error to
``translate``, which returns a ``StoreError`` subclass naming the database file and the fix.
Classification uses the SQLite result code (Python 3.11+ sets ``sqlite_errorcode``) and
falls back to SQLite's fixed English messages.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from hpcrun.errors import HpcrunError

DB_TIMEOUT_ENV = "HPCRUN_DB_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0

# SQLite primary result codes (https://sqlite.org/rescode.html).
_SQLITE_PERM, _SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY = 3, 5, 6, 8
_SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN = 10, 11, 13, 14
_SQLITE_NOTADB = 26


class StoreError(HpcrunError):
    """The local database refused an operation (duplicate run, unknown run, newer schema)."""


class DatabaseFullError(StoreError):
    """The disk (or quota) holding the database is full."""


class DatabaseLockedError(StoreError):
    """Another process held the database longer than the busy timeout."""


class DatabaseCorruptError(StoreError):
    """The database file is damaged or is not a database."""


class DatabaseUnusableError(StoreError):
    """The database or its folder cannot be opened or written."""


def busy_timeout_s() -> float:
    """Seconds to wait for another process's lock: ``$HPCRUN_DB_TIMEOUT`` or 10."""
    raw = os.environ.get(DB_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise StoreError(
            f"{DB_TIMEOUT_ENV}={raw!r} is not a number of seconds", f"e.g. {DB_TIMEOUT_ENV}=30"
        ) from None
    return max(value, 0.0)


def _code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _kind(exc: BaseException) -> str | None:
    if isinstance(exc, OSError):
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "full"
        if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
            return "unusable"
        return None
    code, text = _code(exc), str(exc).lower()
    if code == _SQLITE_FULL or "database or disk is full" in text:
        return "full"
    if code in (_SQLITE_BUSY, _SQLITE_LOCKED) or "database is locked" in text:
        return "locked"
    if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB) or "malformed" in text or "not a database" in text:
        return "corrupt"
    if code in (_SQLITE_PERM, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_CANTOPEN) or any(
        words in text for words in ("readonly database", "unable to open", "disk i/o error")
    ):
        return "unusable"
    return None


def _why_unwritable(folder: Path) -> str:
    """A clue SQLite's "unable to open database file" does not give."""
    try:
        if os.statvfs(folder).f_flag & os.ST_RDONLY:
            return f" ({folder} is on a read-only filesystem)"
        if not os.access(folder, os.W_OK):
            return f" ({folder} is not writable)"
    except OSError:
        pass
    return ""


def _nearly_full(folder: Path) -> bool:
    """SQLite reports some out-of-space failures (growing the -shm file) as "disk I/O
    error"; the free space tells them apart."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return False
    return stats.f_bavail * stats.f_frsize < 64 * 1024


def translate(exc: BaseException, path: Path) -> StoreError:
    """The ``StoreError`` for ``exc``, raised while using the database at ``path``."""
    folder = path.parent
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    where = getattr(exc, "filename", None) or path
    kind = _kind(exc)
    if kind == "unusable" and _nearly_full(folder):
        kind = "full"
    if kind == "full":
        return DatabaseFullError(
            f"cannot write {where}: the disk is full ({reason})",
            f"free some space on the filesystem of {folder} (see `df -h {folder}`), "
            "or set HPCRUN_HOME to a folder on another disk",
        )
    if kind == "locked":
        return DatabaseLockedError(
            f"the database {path} stayed locked by another process for more than "
            f"{busy_timeout_s():g} s",
            "wait for the other hpcrun command (a long submit, ps or sweep) to finish and "
            f"retry, or set {DB_TIMEOUT_ENV} to a larger number of seconds",
        )
    if kind == "corrupt":
        return DatabaseCorruptError(
            f"the database {path} is damaged ({reason})",
            f"move it aside (`mv {path} {path}.broken`) and rerun: hpcrun starts an empty "
            "database, and `sqlite3 FILE .recover` may rescue the old runs",
        )
    if kind == "unusable":
        reason += _why_unwritable(folder)
        return DatabaseUnusableError(
            f"cannot use {where} for hpcrun's database: {reason}",
            f"HPCRUN_HOME ({folder}) must be a folder you can write to: fix its permissions, "
            "or set HPCRUN_HOME to a writable folder",
        )
    return StoreError(f"the database {path} failed: {reason}")
