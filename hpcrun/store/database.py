"""``Store``: the one class the rest of hpcrun uses, combining the kinds of records."""

from __future__ import annotations

from hpcrun.paths import hpcrun_home
from hpcrun.store.base import StoreBase
from hpcrun.store.runs import RunsMixin
from hpcrun.store.sweeps import SweepsMixin


class Store(RunsMixin, SweepsMixin, StoreBase):
    """Runs, tags and sweeps in one SQLite file. Use as a context manager, or call
    ``close()``."""

    def __enter__(self) -> Store:
        return self


def default_store() -> Store:
    """The store under ``$HPCRUN_HOME`` (see hpcrun.paths)."""
    return Store(hpcrun_home() / "hpcrun.db")
