"""``hpcrun rm RUN...``: remove runs' remote folders, local artifacts and records."""

from __future__ import annotations

import click


@click.command(short_help="Remove runs: remote folder, local artifacts, record.")
@click.argument("runs", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Cancel unfinished runs first, then remove them.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was removed as JSON.")
def rm(runs: tuple[str, ...], force: bool, dry_run: bool, as_json: bool) -> None:
    """Remove each RUN's folder on the cluster (<remote_root>/runs/RUN), its artifacts
    in $HPCRUN_HOME/artifacts/RUN, and its record. An artifacts folder chosen with
    `hpcrun artifacts --dest` is never removed. Unfinished runs are refused unless --force,
    which cancels them first."""
    from hpcrun.cli.removals import report_removals
    from hpcrun.errors import UsageError
    from hpcrun.ops.remove import remove_runs
    from hpcrun.ops.runs import cancel_run, find_run
    from hpcrun.ops.session import Session
    from hpcrun.ops.track import refresh

    with Session() as session:
        records = list({r.run: r for r in (find_run(session, name) for name in runs)}.values())
        refresh(session, [r for r in records if not r.final])
        records = [session.store.get(r.run) for r in records]
        unfinished = [r for r in records if not r.final]
        if unfinished and not force:
            names = " ".join(r.run for r in unfinished)
            raise UsageError(
                "not removing unfinished run(s): "
                + ", ".join(f"{r.run} ({r.state})" for r in unfinished),
                f"wait for them to end, or cancel and remove: hpcrun rm --force {names}",
            )
        if unfinished and not dry_run:
            records = [cancel_run(session, r) if not r.final else r for r in records]
        removals = remove_runs(session, records, dry_run)
    report_removals(removals, dry_run, as_json)
