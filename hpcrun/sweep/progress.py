"""Pure decisions of the cron tick: the sweep's name, what a 'submitting' chunk became,
which points are due, and the one-line summary. No I/O."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hpcrun.store.sweeps import RETRYABLE


def sweep_name(workflow: str, site: str, project_root: str) -> str:
    """``<workflow>-<6 hex>``: the same workflow in two projects, or on two sites, are two
    sweeps (their job names differ too), and the name stays short for ``squeue``."""
    from hpcrun.store import sanitize_workflow_name

    digest = hashlib.sha256("\0".join((workflow, site, project_root)).encode()).hexdigest()
    return f"{sanitize_workflow_name(workflow)}-{digest[:6]}"


@dataclass(frozen=True)
class Reconciled:
    """What to do with a chunk recorded 'submitting' by an earlier tick."""

    action: str  # 'adopt' (job_id is its array), 'wait' (may still appear), 'free' (resubmit)
    job_id: str | None = None
    why: str = ""


def reconcile(
    by_name: str | None,
    recorded: str | None,
    in_flight: bool,
    age_s: float,
    grace_s: float,
    abandoned: bool = False,
) -> Reconciled:
    """A 'submitting' chunk: adopt the array Slurm (or the chunk folder's ``.jobid``) knows;
    while an sbatch may still be in flight or reach the controller late, wait; only then is
    it free to be submitted again (never twice: the folder's ``.jobid`` guards that too).
    ``abandoned``: no sbatch ever ran for it and none can any more (its submit command
    ended before reaching it), so nothing can reach the controller late: free at once."""
    if by_name is not None:
        return Reconciled("adopt", by_name, "found in Slurm by its job name")
    if recorded is not None:
        return Reconciled("adopt", recorded, "found recorded in its chunk folder")
    if in_flight:
        return Reconciled("wait", why="an sbatch for it is still running")
    if abandoned:
        return Reconciled("free", why="its submit command ended before running its sbatch")
    if age_s < grace_s:
        return Reconciled("wait", why=f"not in Slurm yet; checked again for {grace_s:.0f} s")
    return Reconciled("free", why="Slurm confirms nothing was queued for it")


def exhausted(point: Any, retries: int) -> bool:
    """Ended without completing and will not be retried: the sweep reports it (exit 1)."""
    if not point.final or point.state == "completed":
        return False
    return not (point.state in RETRYABLE and point.retries_used < retries)


def retry_due(point: Any, retries: int) -> bool:
    return point.final and point.state in RETRYABLE and point.retries_used < retries


@dataclass(frozen=True)
class Counts:
    completed: int = 0
    running: int = 0
    failed: int = 0  # exhausted, plus points on a retry
    retrying: tuple[tuple[int, int], ...] = ()  # (retries used, allowed) of retrying points
    gave_up: int = 0
    pending: int = 0
    deferred: int = 0
    other: tuple[tuple[str, int], ...] = ()  # cancelled, unknown... (final, not retried)

    @property
    def done(self) -> bool:
        return self.running == 0 and self.pending == 0 and not self.retrying

    @property
    def healthy(self) -> bool:
        return self.gave_up == 0 and not self.other


def count(points: Sequence[Any], retries: int) -> Counts:
    """Counts over the points the spec has (``in_spec``)."""
    completed = running = pending = deferred = gave_up = 0
    retrying: list[tuple[int, int]] = []
    other: dict[str, int] = {}
    for p in points:
        if not p.in_spec:
            continue
        if p.state == "completed":
            completed += 1
        elif p.final and p.state in RETRYABLE:
            gave_up += int(exhausted(p, retries))
            if not exhausted(p, retries):
                retrying.append((p.retries_used + 1, retries))
        elif p.final:
            other[p.state] = other.get(p.state, 0) + 1
        elif p.retries_used > 0:
            retrying.append((p.retries_used, retries))
        elif p.state == "running":
            running += 1
        else:
            pending += 1
            deferred += int((p.reason or "").startswith("deferred"))
    return Counts(completed, running, gave_up + len(retrying), tuple(retrying), gave_up,
                  pending, deferred, tuple(sorted(other.items())))  # fmt: skip


def summary_line(counts: Counts) -> str:
    """``12 completed, 3 running, 1 failed (retry 1/2), 0 pending``."""
    failed = f"{counts.failed} failed"
    notes = []
    if len(counts.retrying) == 1:
        notes.append("retry {}/{}".format(*counts.retrying[0]))
    elif counts.retrying:
        notes.append(f"{len(counts.retrying)} retrying")
    if counts.gave_up:
        notes.append(f"{counts.gave_up} out of retries")
    if notes:
        failed += f" ({', '.join(notes)})"
    parts = [f"{counts.completed} completed", f"{counts.running} running", failed]
    parts += [f"{n} {state}" for state, n in counts.other]
    pending = f"{counts.pending} pending"
    if counts.deferred:
        pending += f" ({counts.deferred} deferred to the next tick)"
    return ", ".join([*parts, pending])
