"""Cancel several runs: ONE cancel call (one scancel) per cluster login for all their jobs,
then wait (up to a limit) for the scheduler to confirm. Each run gets an outcome."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hpcrun.errors import HpcrunError
from hpcrun.ops.session import Session, group_by_login
from hpcrun.ops.track import refresh

# cancelled: by this call; ended: it had already ended (state says how); no_job: nothing
# to cancel yet (being submitted, or in doubt); error: the scheduler or connection failed
# (signalled: `cancel --signal` sent the signal, see ops.send_signal)
Outcome = Literal["cancelled", "signalled", "ended", "no_job", "error"]


@dataclass(frozen=True)
class Cancelled:
    record: Any
    outcome: Outcome
    message: str

    def to_json(self) -> dict[str, Any]:
        data = self.record.to_json()
        return {"run": data["run"], "outcome": self.outcome, "state": data["state"],
                "job_id": data["job_id"], "exit_code": data["exit_code"],
                "message": self.message}  # fmt: skip


def cancel_runs(session: Session, records: Sequence[Any], wait: float = 15.0) -> list[Cancelled]:
    """Cancel the runs' jobs; outcomes in the order given. A run the scheduler has not
    confirmed after ``wait`` seconds is recorded as cancelled (as ``cancel_run`` does)."""
    store = session.store
    refresh(session, [r for r in records if not r.final])
    records = [store.get(r.run) or r for r in records]
    outcomes: dict[str, Cancelled] = {}
    live: list[Any] = []
    for record in records:
        if record.final:
            outcomes[record.run] = Cancelled(record, "ended", f"had already ended: {record.state}")
        elif not record.job_id:
            # a job may still appear: calling the run cancelled could leave it untracked
            why = record.state_reason or "being submitted"
            outcomes[record.run] = Cancelled(record, "no_job", f"has no job id yet ({why}); "
                                             "retry once `hpcrun ps` shows one")  # fmt: skip
        else:
            live.append(record)
    groups, unloadable = group_by_login(session, live)
    for record in live:
        if record.run in unloadable:
            outcomes[record.run] = Cancelled(record, "error", unloadable[record.run])
    asked: list[Any] = []
    for site, group in groups:
        try:
            jobs = {r.job_id: r.remote_dir for r in group}
            session.backend(site).cancel(session.transport(site), jobs)
        except HpcrunError as exc:
            for record in group:
                outcomes[record.run] = Cancelled(record, "error", exc.message)
            continue
        asked += group
    deadline = time.monotonic() + wait
    while asked:
        refresh(session, asked)
        asked = [store.get(r.run) or r for r in asked]
        for record in [r for r in asked if r.final]:
            outcomes[record.run] = _after_cancel(record)
        asked = [r for r in asked if not r.final]
        if not asked or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    for record in asked:  # not confirmed in time: recorded as cancelled, like cancel_run
        record = store.update_state(record.run, "cancelled", reason="cancelled by user",
                                    final=True)  # fmt: skip
        outcomes[record.run] = Cancelled(record, "cancelled", "cancelled")
    return [outcomes[r.run] for r in records]


def _after_cancel(record: Any) -> Cancelled:
    if record.state == "cancelled":
        return Cancelled(record, "cancelled", "cancelled")
    return Cancelled(record, "ended", f"had already ended: {record.state}")
