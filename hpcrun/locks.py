"""Advisory file locks under $HPCRUN_HOME/locks: held by a process while it submits a run,
so another hpcrun process can tell "still being submitted" from "its submitter died"."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hpcrun.paths import hpcrun_home


def _lock_path(name: str) -> Path:
    folder = hpcrun_home() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{name}.lock"


@contextmanager
def holding(name: str) -> Iterator[None]:
    """Hold the lock ``name`` for the duration of the block (released if the process dies)."""
    fd = os.open(_lock_path(name), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def is_held(name: str) -> bool:
    """True while another process holds ``name``."""
    path = _lock_path(name)
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False
