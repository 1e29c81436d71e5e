"""``hpcrun cancel --signal NAME RUN...``: send a signal to runs' programs without cancelling
them (to try a checkpoint handler). ONE call per cluster login for all its jobs; the job
script's batch shell receives it and passes it to the program (docs/interruptible.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hpcrun.errors import HpcrunError, UsageError
from hpcrun.ops.cancel import Cancelled
from hpcrun.ops.session import Session, group_by_login
from hpcrun.ops.track import refresh


def signal_runs(session: Session, records: Sequence[Any], name: str) -> list[Cancelled]:
    """Outcomes in the order given: ``signalled``, ``ended`` (nothing to signal), ``no_job``
    (not started: a pending job has no program yet) or ``error``."""
    from hpcrun.signals import signal_name

    try:
        name = signal_name(name)
    except ValueError as exc:
        raise UsageError(str(exc), "e.g. hpcrun cancel --signal USR1 RUN") from None
    store = session.store
    refresh(session, [r for r in records if not r.final])
    records = [store.get(r.run) or r for r in records]
    outcomes: dict[str, Cancelled] = {}
    live: list[Any] = []
    for record in records:
        if record.final:
            outcomes[record.run] = Cancelled(record, "ended", f"had already ended: {record.state}")
        elif not record.job_id or record.state != "running":
            outcomes[record.run] = Cancelled(
                record, "no_job", f"is {record.state}, not running: no program to signal yet"
            )
        else:
            live.append(record)
    groups, unloadable = group_by_login(session, live)
    for record in live:
        if record.run in unloadable:
            outcomes[record.run] = Cancelled(record, "error", unloadable[record.run])
    for site, group in groups:
        try:
            missed = session.backend(site).signal(
                session.transport(site), {r.job_id: r.remote_dir for r in group}, name
            )
        except HpcrunError as exc:
            for record in group:
                outcomes[record.run] = Cancelled(record, "error", exc.message)
            continue
        for record in group:
            if record.job_id in missed:
                outcomes[record.run] = Cancelled(
                    record, "no_job", "its program has not started yet (or has just ended)"
                )
            else:
                outcomes[record.run] = Cancelled(record, "signalled", f"sent SIG{name}")
    return [outcomes[r.run] for r in records]
