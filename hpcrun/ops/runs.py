"""Finding runs by name or tag, cancelling them."""

from __future__ import annotations

import time
from typing import Any

from hpcrun.errors import UsageError, did_you_mean
from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh


def find_run(session: Session, name: str) -> Any:
    store = session.store
    record = store.get(name) or store.resolve_tag(name)
    if record is None:
        names = [r.run for r in store.list_runs(limit=200)]
        hint = did_you_mean(name, names) or "see the runs with: hpcrun ps -a"
        raise UsageError(f"no run named '{name}'", hint)
    return record


def cancel_run(session: Session, record: Any, wait: float = 15.0) -> Any:
    """Cancel a run's job; returns its record once the scheduler confirms (or after
    ``wait`` seconds, recorded as cancelled)."""
    store = session.store
    refresh(session, [record])
    record = store.get(record.run)
    if record.final:
        return record
    if not record.job_id:
        # being submitted, or in doubt (ops.in_doubt): a job may still appear, so calling
        # the run cancelled now could leave that job running untracked
        from hpcrun.errors import RemoteError

        raise RemoteError(
            f"{record.run} has no job id yet ({record.state_reason or 'being submitted'}), "
            "so there is nothing to cancel yet",
            f"retry once `hpcrun ps` shows it with a job id (then: hpcrun cancel {record.run}), "
            "or closed because nothing was queued",
        )
    site = session.site_of(record)
    session.backend(site).cancel(session.transport(site), {record.job_id: record.remote_dir})
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        refresh(session, [record])
        record = store.get(record.run)
        if record.final:
            return record
        time.sleep(0.5)
    return store.update_state(record.run, "cancelled", reason="cancelled by user", final=True)
