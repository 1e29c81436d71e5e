"""``hpcrun ps``: runs and their states (refreshed with one poll per site)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import click

from hpcrun.cli.common import site_runs, warn

RECENT = timedelta(hours=24)


def _recent(record: Any, now: datetime) -> bool:
    if not record.final or not record.finished_at:
        return True
    finished = datetime.strptime(record.finished_at, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc
    )
    return now - finished < RECENT


@click.command(short_help="List runs and their states.")
@click.argument("run", required=False)
@click.option(
    "-a", "--all", "show_all", is_flag=True, help="All runs, not only unfinished and recent ones."
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="A JSON array, one object per run (fields: docs/running.md#ps).",
)
@click.option(
    "--site",
    "site",
    metavar="SITE",
    default=None,
    help="Only the runs of this site, refreshed with this config (a YAML path or a name): "
    "for when the site's login changed; kept for later commands.",
)
@click.option(
    "--state",
    "states",
    multiple=True,
    metavar="STATE",
    help="Only runs in this state (pending, running, failed...). Repeatable.",
)
@click.option(
    "--workflow",
    "workflows",
    multiple=True,
    metavar="NAME",
    help="Only runs of this workflow. Repeatable.",
)
@click.option(
    "--tag", "tags", multiple=True, metavar="TAG", help="Only the run(s) with this tag. Repeatable."
)
@click.option("--since", metavar="AGE",
              help="Runs created in the last AGE (e.g. 2h, 3d), finished or not; "
              "replaces the 24-hour window.")  # fmt: skip
def ps(
    run: str | None,
    show_all: bool,
    as_json: bool,
    site: str | None,
    states: tuple[str, ...],
    workflows: tuple[str, ...],
    tags: tuple[str, ...],
    since: str | None,
) -> None:
    """List runs: unfinished ones and those that ended in the last 24 hours (-a: all).
    With RUN: everything recorded about that run, as `hpcrun show RUN`."""
    from hpcrun.cli.ps_filter import RunFilter, parse_since
    from hpcrun.ops.session import Session
    from hpcrun.ops.track import refresh

    if run is not None:
        from hpcrun.cli.show import show_run

        show_run(run, as_json)
        return
    _check_states(states)
    age = parse_since(since) if since else None
    with Session() as session:
        only = site_runs(session, site) if site else None
        report = refresh(session, None if only is None else [r for r in only if not r.final])
        for name, why in report.unavailable.items():
            warn(f"site {name}: {why} (states shown may be stale)")
        now = datetime.now(timezone.utc)
        records = session.store.list_runs()
        if only is not None:
            wanted = {r.run for r in only}
            records = [r for r in records if r.run in wanted]
        if age is None:
            records = [r for r in records if show_all or _recent(r, now)]
        tags_by_run = {r.run: session.store.tags_of(r.run) for r in records}
        wanted_runs = RunFilter(
            frozenset(states), frozenset(workflows), frozenset(tags),
            None if age is None else now - age, tags_by_run,
        )  # fmt: skip
        records = [r for r in records if wanted_runs.matches(r)]
    if as_json:
        click.echo(json.dumps([{**r.to_json(), "tags": tags_by_run[r.run]} for r in records],
                              indent=2))  # fmt: skip
        return
    _print_table(records, tags_by_run)


def _check_states(states: tuple[str, ...]) -> None:
    from hpcrun.errors import UsageError
    from hpcrun.store import CONTRACT_STATES

    for state in states:
        if state not in CONTRACT_STATES:
            raise UsageError(
                f"--state: no state '{state}'", f"use one of: {', '.join(CONTRACT_STATES)}"
            )


def fetched_mark(record: Any) -> str:
    """The FETCHED cell: whether an ended run's artifacts were fetched since it ended
    (``yes``/``no``); blank while it runs or when it never got a job (nothing to fetch yet).
    Where to: ``show``/``--json`` (a path would widen every row)."""
    if not record.final or not record.job_id:
        return ""
    return "yes" if record.artifacts_fetched_at else "no"


def _print_table(records: list[Any], tags_by_run: dict[str, list[str]]) -> None:
    import shutil
    import sys

    from hpcrun.cli.ps_filter import fit_rows

    rows = [("RUN", "WORKFLOW", "SITE", "JOB", "STATE", "EXIT", "FETCHED", "SUBMITTED", "TAGS")]
    for r in records:
        # the reason matters while a run is unfinished, or when it never got a job
        show_reason = r.state_reason and (not r.final or not r.job_id)
        state = r.state + (f" ({r.state_reason})" if show_reason else "")
        if r.restarts:  # requeued (preempted, or past its time limit): which attempt
            state += f" (attempt {r.restarts + 1})"
        exit_code = "" if r.exit_code is None else str(r.exit_code)
        rows.append(
            (r.run, r.workflow, r.site, r.job_id or "-", state, exit_code, fetched_mark(r),
             r.submitted_at or "-", ",".join(tags_by_run.get(r.run, ())))
        )  # fmt: skip
    # At a terminal a long reason must not widen every row (full text: `hpcrun show RUN`,
    # --json); piped into a script or a file, every row is printed whole.
    if sys.stdout.isatty():
        rows = fit_rows(rows, 4, shutil.get_terminal_size((100, 24)).columns)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
