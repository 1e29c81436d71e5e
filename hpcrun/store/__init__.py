"""The local SQLite store: the only package that touches the database.

One module per kind of record (``runs``: runs and tags; ``sweeps``: sweeps, their chunks
and points), the schema in ``migrations``, the connection in ``base``. Everything other
modules import is re-exported here.
"""

from __future__ import annotations

import secrets  # noqa: F401  (tests make run names predictable through hpcrun.store.secrets)

from hpcrun.store.base import utc_now
from hpcrun.store.database import Store, default_store
from hpcrun.store.migrations import MIGRATIONS
from hpcrun.store.runs import (
    CONTRACT_STATES,
    STATES,
    SUBMITTING,
    RunRecord,
    sanitize_workflow_name,
)
from hpcrun.store.sweeps import (
    RETRYABLE,
    ChunkRecord,
    PointRecord,
    SweepRecord,
    SweepState,
)
from hpcrun.store_faults import StoreError, busy_timeout_s

__all__ = [
    "CONTRACT_STATES",
    "MIGRATIONS",
    "RETRYABLE",
    "STATES",
    "SUBMITTING",
    "ChunkRecord",
    "PointRecord",
    "RunRecord",
    "Store",
    "StoreError",
    "SweepRecord",
    "SweepState",
    "busy_timeout_s",
    "default_store",
    "sanitize_workflow_name",
    "utc_now",
]
