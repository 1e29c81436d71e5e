"""Bring recorded run states up to date: per cluster login, ONE scheduler poll for all
its unfinished runs. A scheduler that does not answer changes nothing but the reason shown.
Runs whose submitter died before recording a job id are settled by ``ops.in_doubt``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from hpcrun.errors import RemoteError
from hpcrun.ops import in_doubt
from hpcrun.ops.backends import SchedulerUnavailable
from hpcrun.ops.session import Session, group_by_login
from hpcrun.transport.base import TransportError


@dataclass
class TrackReport:
    changed: list[Any] = field(default_factory=list)  # RunRecords whose state changed
    unavailable: dict[str, str] = field(default_factory=dict)  # site -> why it did not answer
    lost: dict[str, str] = field(default_factory=dict)  # site -> why the connection failed


def refresh(session: Session, records: Iterable[Any] | None = None) -> TrackReport:
    store = session.store
    pending = list(store.unfinished() if records is None else records)
    report = TrackReport()
    unfinished = [record for record in pending if not record.final]
    groups, unloadable = group_by_login(session, unfinished)
    for record in unfinished:  # its config is gone: the others are still polled
        if record.run in unloadable:
            report.unavailable[record.site] = unloadable[record.run]
    for site, group in groups:
        try:
            _refresh_site(session, site, group, report)
        except (SchedulerUnavailable, RemoteError) as exc:
            report.unavailable[group[0].site] = exc.message
            if isinstance(exc, TransportError):
                report.lost[group[0].site] = exc.message
            for record in group:
                if record.job_id:  # a run in doubt keeps the reason that says so
                    store.update_state(record.run, record.state, reason=exc.message)
    return report


def _refresh_site(session: Session, site: Any, group: list[Any], report: TrackReport) -> None:
    store = session.store
    transport = session.transport(site)
    backend = session.backend(site)
    settled, silent = in_doubt.settle(session, transport, backend, group)
    report.changed += [new for old, new in zip(group, settled, strict=True)
                       if (new.state, new.final) != (old.state, old.final)]  # fmt: skip
    if silent:
        report.unavailable[site.name] = silent
    group = settled
    jobs = {r.job_id: r.remote_dir for r in group if r.job_id}
    statuses = backend.poll(transport, jobs) if jobs else {}
    for record in group:
        status = statuses.get(record.job_id) if record.job_id else None
        if status is None:
            continue
        status = _requeue_shown(backend, transport, record, status)
        if status.restarts is not None and status.restarts > record.restarts:
            record = store.set_restarts(record.run, status.restarts)  # requeued: next attempt
        if status.final and status.usage is not None:
            # the backend measures a job once, in the poll that sees it end
            store.set_efficiency(record.run, status.usage)
        if (status.state, status.final, status.exit_code) != (
            record.state,
            record.final,
            record.exit_code,
        ) or status.reason != record.state_reason:
            updated = store.update_state(
                record.run,
                status.state,
                exit_code=status.exit_code,
                finished_at=status.ended_at,
                reason=status.reason,
                final=status.final,
            )
            if updated.state != record.state or updated.final != record.final:
                report.changed.append(updated)


def _requeue_shown(backend: Any, transport: Any, record: Any, status: Any) -> Any:
    """A job Slurm requeued after a preemption waits (pending, reason BeginTime) before it
    may start again: the run shows ``preempted`` meanwhile, then ``pending``/``running`` with
    its attempt number; a job that requeued itself past its time limit shows ``pending``
    with that reason. The cause is read once, when the restart count goes up."""
    held = status.state == "pending" and status.reason == "BeginTime" and not status.final
    if not held:
        return status
    if status.restarts is not None and status.restarts > record.restarts:
        cause_of = getattr(backend, "requeue_cause", None)
        cause = cause_of(transport, record.remote_dir) if cause_of and record.remote_dir else None
        attempt = status.restarts  # the attempt that ended (attempts count from 1)
        if cause == "time limit":
            reason = f"attempt {attempt} reached its time limit; resuming (held: BeginTime)"
            return replace(status, reason=reason)
        if cause == "completed":  # preempted during its GraceTime, after the program ended
            reason = (
                f"attempt {attempt} completed, then Slurm requeued the job (a preemption);"
                " the next attempt only records that (held: BeginTime)"
            )
            return replace(status, reason=reason)
        reason = f"attempt {attempt} was preempted; requeued (held: BeginTime)"
        return replace(status, state="preempted", reason=reason)
    if record.state == "preempted" and not record.final:  # still held after the preemption
        return replace(status, state="preempted", reason=record.state_reason)
    if record.state_reason and "resuming" in record.state_reason:
        return replace(status, reason=record.state_reason)
    return status
