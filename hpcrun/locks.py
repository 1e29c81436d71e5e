"""Advisory file locks under $HPCRUN_HOME/locks: held by a process while it submits a run,
so another hpcrun process can tell "still being submitted" from "its submitter died".

A lock file exists only while its lock is held: the holder unlinks it before releasing.
That is safe because a process that opened the file before the unlink and then wins the
flock checks that the path still names the very file it locked (same inode); if not, it
retries with the new file. So two holders never exist at once, and no files pile up.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hpcrun.paths import hpcrun_home


def _lock_path(name: str, create_folder: bool = True) -> Path:
    folder = hpcrun_home() / "locks"
    if create_folder:
        folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.lock"


def _still_linked(fd: int, path: Path) -> bool:
    """True if ``path`` still names the file open as ``fd`` (not unlinked or replaced)."""
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)


@contextmanager
def holding(name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the duration of the block (released if the process dies)."""
    with _held(name, wait=True):
        yield


@contextmanager
def holding_if_free(name: str) -> Iterator[bool]:
    """Hold the lock ``name`` if no other process does: yields True (held for the block),
    or False at once (another process holds it; nothing is held)."""
    with _held(name, wait=False) as acquired:
        yield acquired


@contextmanager
def _held(name: str, wait: bool) -> Iterator[bool]:
    path = _lock_path(name)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        except BaseException:
            os.close(fd)
            raise
        if _still_linked(fd, path):
            break
        os.close(fd)  # the previous holder removed it meanwhile: lock the new file
    try:
        yield True
    finally:
        # Unlink while still holding: a waiter on this inode then sees it is stale.
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)


def is_held(name: str) -> bool:
    """True while another process holds ``name``. Creates nothing."""
    path = _lock_path(name, create_folder=False)
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False  # holders keep their file, so no file means no holder
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return True
    try:
        if _still_linked(fd, path):
            path.unlink()  # left by a holder that was killed; we hold it, so this is safe
    except OSError:
        pass  # a read-only locks folder: the stale file is harmless
    finally:
        os.close(fd)
    return False
