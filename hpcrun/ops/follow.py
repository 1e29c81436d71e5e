"""Follow a run: stream its log as it is written and report state changes until it ends."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh


@dataclass(frozen=True)
class Backoff:
    """Poll quickly while things happen, slower while nothing does."""

    first: float = 1.0
    longest: float = 10.0
    factor: float = 1.5

    def next(self, current: float, progressed: bool) -> float:
        return self.first if progressed else min(self.longest, current * self.factor)


LOCAL_BACKOFF = Backoff(first=0.2, longest=2.0)


def follow(
    session: Session,
    run: str,
    out: BinaryIO | None,
    *,
    on_event: Callable[[str], None] = lambda _: None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """Poll until the run is final; write new log bytes to ``out`` (None: don't stream).
    Returns the final RunRecord."""
    store = session.store
    record = store.get(run)
    site = session.site_of(record)
    # a local poll is a few file reads; a Slurm poll is a squeue on a shared controller
    backoff = backoff or (LOCAL_BACKOFF if site.scheduler == "local" else Backoff())
    transport = session.transport(site)
    backend = session.backend(site)
    offset, interval, last_state, outage = 0, backoff.first, None, None
    while True:
        report = refresh(session, [record]) if not record.final else None
        record = store.get(run)
        if report and report.unavailable and outage is None:
            outage = next(iter(report.unavailable.values()))
            on_event(f"{outage}; retrying")
        elif report and not report.unavailable and outage is not None:
            outage = None
            on_event("the scheduler answers again")
        progressed = False
        if out is not None and record.job_id:
            # the log first: a final state is announced after the lines that led to it
            chunk = transport.read_from(backend.log_path(record.remote_dir, record.job_id), offset)
            if chunk:
                out.write(chunk)
                out.flush()
                offset += len(chunk)
                progressed = True
        if record.state != last_state:
            on_event(f"{record.run}: {record.state}")
            last_state = record.state
        if record.final:
            return record
        interval = backoff.next(interval, progressed)
        sleep(interval)
