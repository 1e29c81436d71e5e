"""``hpcrun tag RUN NAME``: name a run, so deps can say ``workflow:NAME`` or ``:NAME``."""

from __future__ import annotations

import json

import click


@click.command(short_help="Tag a run for use in deps.")
@click.argument("run")
@click.argument("name")
@click.option(
    "--json", "as_json", is_flag=True,
    help="Print a JSON object {tag, run, workflow, previous} instead of the note.",
)  # fmt: skip
def tag(run: str, name: str, as_json: bool) -> None:
    """Point tag NAME at RUN (moving it if it pointed elsewhere). Workflows can then depend
    on it with deps: [":NAME"] or ["WORKFLOW:NAME"]."""
    from hpcrun.cli.common import note
    from hpcrun.ops.runs import find_run
    from hpcrun.ops.session import Session
    from hpcrun.safepaths import check_name

    check_name(name, "tag")  # before anything is opened
    with Session() as session:
        record = find_run(session, run)
        before = session.store.resolve_tag(name)
        session.store.tag(record.run, name)
    previous = before.run if before is not None and before.run != record.run else None
    if as_json:
        click.echo(json.dumps({"tag": name, "run": record.run, "workflow": record.workflow,
                               "previous": previous}, indent=2))  # fmt: skip
        return
    note(f"{name} -> {record.run}" + (f" (moved from {previous})" if previous else ""))
