"""``hpcrun cancel RUN... | --all | --workflow NAME``: cancel runs' jobs."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from hpcrun.errors import UsageError


@click.command(short_help="Cancel runs.")
@click.argument("runs", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every unfinished run (of --site, if given).")
@click.option("--workflow", metavar="NAME", help="The unfinished runs of this workflow.")
@click.option(
    "--site", "site", metavar="SITE", default=None,
    help="With RUNs: point them at this site config (a YAML path or a name) when its login "
    "changed. Without: only the unfinished runs of this site (as with ps --site).",
)  # fmt: skip
@click.option(
    "--signal", "signal_name", metavar="NAME", default=None,
    help="Do not cancel: send signal NAME (USR1, USR2, TERM, INT, HUP, URG, XCPU) to the "
    "running program, e.g. to try its checkpoint handler.",
)  # fmt: skip
@click.option(
    "--json", "as_json", is_flag=True,
    help="A JSON array, one object per run: run, outcome, state, job_id, exit_code, message.",
)  # fmt: skip
def cancel(
    runs: tuple[str, ...],
    all_: bool,
    workflow: str | None,
    site: str | None,
    signal_name: str | None,
    as_json: bool,
) -> None:
    """Cancel each RUN's job (scancel on Slurm, one call per cluster for all its jobs; the
    whole process group on the local site), or every unfinished run with --all, of one
    workflow with --workflow, or of one site with --site. Prints each run's outcome; exits
    1 if any run could not be cancelled (no job id yet, or the cluster failed).

    With --signal NAME the runs are not cancelled: their job script receives SIGNAME and
    passes it to the program (scancel --batch --signal on Slurm)."""
    from hpcrun.cli.common import note, warn
    from hpcrun.ops.cancel import cancel_runs
    from hpcrun.ops.session import Session

    if runs and (all_ or workflow):
        raise UsageError("name runs, or select them with --all/--workflow, not both",
                         "e.g. hpcrun cancel RUN1 RUN2, or hpcrun cancel --all")  # fmt: skip
    if not runs and not (all_ or workflow or site):
        raise UsageError("which runs? name them, or use --all, --workflow or --site",
                         "e.g. hpcrun cancel RUN, or hpcrun cancel --all")  # fmt: skip
    with Session() as session:
        records = _selected(session, runs, workflow, site)
        if signal_name is not None:
            from hpcrun.ops.send_signal import signal_runs

            outcomes = signal_runs(session, records, signal_name)
        else:
            outcomes = cancel_runs(session, records)
    if as_json:
        click.echo(json.dumps([o.to_json() for o in outcomes], indent=2))
    else:
        if not outcomes:
            note(f"no unfinished runs to {'signal' if signal_name else 'cancel'}")
        for outcome in outcomes:
            line = f"{outcome.record.run} {outcome.message}"
            (warn if outcome.outcome in ("no_job", "error") else note)(line)
    if any(o.outcome in ("no_job", "error") for o in outcomes):
        sys.exit(1)


def _selected(session: Any, runs: tuple[str, ...], workflow: str | None, site: str | None) -> list:
    """The named runs (pointed at --site), or the unfinished runs the filters select."""
    from hpcrun.cli.common import site_runs
    from hpcrun.ops.repoint import point_run
    from hpcrun.ops.runs import find_run

    if runs:
        named: dict[str, Any] = {}
        for name in runs:
            record = point_run(session, find_run(session, name), site)
            named.setdefault(record.run, record)
        return list(named.values())
    if site is not None:
        candidates = site_runs(session, site)
    else:
        candidates = session.store.list_runs(include_finished=False)
    return [r for r in candidates if not r.final and (workflow is None or r.workflow == workflow)]
