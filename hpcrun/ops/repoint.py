"""``--site`` on ``logs``, ``artifacts``, ``cancel`` and ``ps``: point recorded runs at
another site config, for when the login itself changed (a new host name, a new key, a
moved known_hosts). Runs normally need no config at all: each keeps the snapshot of the
config it was submitted with (``hpcrun.site.snapshot``).

A run is pointed at the new config only after the new login is shown to reach it: its run
folder there holds its job id (``.jobid``). So a config of another cluster can never take
over a run, where a job of the same id would then be taken for it. Once pointed, the new
config is recorded as the run's snapshot: later commands need no ``--site`` again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hpcrun.errors import HpcrunError, UsageError
from hpcrun.ops.session import Session, transport_key


@dataclass
class Repointed:
    site: Any
    records: list[Any]  # the runs, re-read where they were pointed at the new config
    refused: list[str] = field(default_factory=list)  # runs left as they were, and why


def point_run(session: Session, record: Any, site_arg: str | None) -> Any:
    """``RUN --site SITE``: the run, pointed at SITE; a UsageError if SITE is of another
    kind or does not reach the run."""
    if site_arg is None:
        return record
    outcome = _point(session, [record], site_arg)
    if outcome.refused:
        raise UsageError(
            outcome.refused[0],
            "--site must reach the cluster and account the run was submitted to "
            "(check login.host, port and user)",
        )
    return outcome.records[0]


def point_site_runs(session: Session, site_arg: str) -> Repointed:
    """``ps --site SITE``: every recorded run of the site named like SITE; its unfinished
    runs pointed at SITE (those it does not reach are refused, not changed)."""
    site, _ = session.site(site_arg)
    records = [r for r in session.store.list_runs() if r.site == site.name]
    unfinished = [r for r in records if not r.final]
    outcome = _point(session, unfinished, site_arg)
    updated = {r.run: r for r in outcome.records}
    outcome.records = [updated.get(r.run, r) for r in records]
    return outcome


def _point(session: Session, records: Sequence[Any], site_arg: str) -> Repointed:
    from hpcrun.site.snapshot import site_snapshot

    site, path = session.site(site_arg)
    snapshot, config = site_snapshot(site), str(path.resolve())
    store = session.store
    outcome = Repointed(site, list(records))
    to_check: list[Any] = []
    for record in records:
        before = _recorded_site(session, record)
        if before is not None and before.scheduler != site.scheduler:
            raise UsageError(
                f"{record.run} was submitted to a {before.scheduler} site ('{record.site}'), "
                f"and {site_arg} is a {site.scheduler} site",
                f"--site must name a {before.scheduler} site config for this run",
            )
        if record.site_snapshot == snapshot or not record.job_id or not record.remote_dir:
            continue  # nothing to change, or no job to find (its config is kept)
        if before is not None and transport_key(before) == transport_key(site):
            _record(outcome, store.repoint_site(record.run, site.name, config, snapshot))
        else:
            to_check.append(record)
    if not to_check:
        return outcome
    backend = session.backend(site)
    traces = backend.inspect_submissions(session.transport(site), [r.remote_dir for r in to_check])
    where = site.login.host if site.login else "this machine"
    for record in to_check:
        trace = traces.get(record.remote_dir)
        if trace is None or trace.job_id != record.job_id:
            outcome.refused.append(
                f"{site_arg} does not reach {record.run}: its run folder {record.remote_dir} "
                f"on {where} does not hold job {record.job_id}"
            )
            continue
        _record(outcome, store.repoint_site(record.run, site.name, config, snapshot))
    return outcome


def _record(outcome: Repointed, updated: Any) -> None:
    outcome.records = [updated if r.run == updated.run else r for r in outcome.records]


def _recorded_site(session: Session, record: Any) -> Any:
    """The run's own config, or None if it can no longer be loaded."""
    try:
        return session.site_of(record)
    except HpcrunError:
        return None
