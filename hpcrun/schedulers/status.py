"""A job's status as every scheduler backend reports it (Slurm, the local site)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobStatus:
    job_id: str
    state: str  # a DESIGN.md contract state
    raw_state: str  # as Slurm printed it, e.g. 'CANCELLED by 1000'
    final: bool
    # Final states only: from sacct (squeue knows only COMPLETED=0); 0 only if completed.
    exit_code: int | None = None
    reason: str | None = None
    started_at: str | None = None  # ISO-8601 UTC
    ended_at: str | None = None
    # how many times the scheduler restarted the job (requeues); None: not asked
    restarts: int | None = None
    # A final job's use of its allocation (``hpcrun.efficiency.figures``); None: not measured
    usage: dict[str, Any] | None = field(default=None, compare=False)
