"""Follow a run: stream its log as it is written and report state changes until it ends.

A pending job's reason is reported each time Slurm changes it; when Slurm says it can never
start (``schedulers.slurm_reasons.never_starts``), following stops with JobNeverStartsError
(exit 1) and leaves the job queued and the run pending: nothing is cancelled or closed.

A lost connection to the login node is ridden out (``ops.reconnect``): streaming resumes
at the same offset once it is back; past the limit, ConnectionLostError (exit code 75)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from hpcrun.ops.reconnect import Reconnecting
from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh
from hpcrun.transport.base import TransportError


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
    last_reason: str | None = None
    folder_checked = False
    reconnecting = Reconnecting(
        site.login.host if site.login else site.name,
        f"{run} may still be running",
        f"re-attach with: hpcrun logs {run} -f",
        on_event,
    )
    while True:
        try:
            report, chunk = _poll(
                session, record, offset if out is not None else None, transport, backend
            )
            if out is not None and not chunk:
                folder_checked = _check_folder(transport, store.get(run), offset, folder_checked)
        except TransportError as error:
            sleep(reconnecting.failed(error))  # never concludes anything about the job
            continue
        reconnecting.succeeded()
        record = store.get(run)
        if report and report.unavailable and outage is None:
            outage = next(iter(report.unavailable.values()))
            on_event(f"{outage}; retrying")
        elif report and not report.unavailable and outage is not None:
            outage = None
            on_event("the scheduler answers again")
        progressed = False
        if out is not None and chunk:
            # the log first: a final state is announced after the lines that led to it
            out.write(chunk)
            out.flush()
            offset += len(chunk)
            progressed = True
        # during an outage the recorded reason is the outage's, not Slurm's
        reason = _pending_reason(record) if outage is None else None
        if record.state != last_state or (reason is not None and reason != last_reason):
            on_event(_state_line(record, reason))
            last_state, last_reason = record.state, reason
        if record.final:
            return record
        if reason is not None and site.scheduler == "slurm":
            _stop_if_never_starts(record, reason)
        interval = backoff.next(interval, progressed)
        sleep(interval)


def _check_folder(transport: Any, record: Any, offset: int, checked: bool) -> bool:
    """An empty read is also what a removed run folder gives (``ops.gone``): ask whether
    the folder is there once, and again at the end if nothing was ever read, rather than
    at every poll. RunFolderGoneError (exit 1) when it has gone. Returns ``checked``."""
    from hpcrun.ops.gone import check_run_folder

    if record is None or not record.job_id:
        return checked
    if not checked or (record.final and offset == 0):
        check_run_folder(transport, record)
        return True
    return checked


def _pending_reason(record: Any) -> str | None:
    """Slurm's reason for a queued job that waits (None: none, or not pending)."""
    return record.state_reason if record.state == "pending" and record.job_id else None


def _state_line(record: Any, reason: str | None) -> str:
    """``train-7f3k: pending (Resources: waiting for free nodes)``, or ``train-7f3k: running``."""
    from hpcrun.schedulers.slurm_reasons import explain

    explained = explain(reason)
    return f"{record.run}: {record.state}" + (f" ({explained})" if explained else "")


def _stop_if_never_starts(record: Any, reason: str) -> None:
    """JobNeverStartsError when Slurm's ``reason`` says the job can never start. The job is
    left queued and the run pending, as Slurm has it: the user cancels or fixes it."""
    from hpcrun.errors import JobNeverStartsError
    from hpcrun.schedulers.slurm_reasons import never_starts

    stuck = never_starts(reason)
    if stuck is None:
        return
    raise JobNeverStartsError(
        f"{record.run} (job {record.job_id}) can never start: Slurm says {stuck.reason}: "
        f"{stuck.meaning}. It stays queued",
        f"cancel it with `hpcrun cancel {record.run}`, then {stuck.fix}",
    )


def _poll(
    session: Session, record: Any, offset: int | None, transport: Any, backend: Any
) -> tuple[Any, bytes]:
    """One refresh and the log's new bytes from ``offset`` (None: not wanted);
    TransportError when the login node is lost."""
    report = refresh(session, [record]) if not record.final else None
    if report and report.lost:
        raise TransportError(next(iter(report.lost.values())))
    record = session.store.get(record.run)
    if offset is None or not record.job_id:
        return report, b""
    return report, transport.read_from(backend.log_path(record.remote_dir, record.job_id), offset)
