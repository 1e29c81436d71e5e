"""``hpcrun tag RUN NAME``: name a run, so deps can say ``workflow:NAME`` or ``:NAME``."""

from __future__ import annotations

import click


@click.command(short_help="Tag a run for use in deps.")
@click.argument("run")
@click.argument("name")
def tag(run: str, name: str) -> None:
    """Point tag NAME at RUN (moving it if it pointed elsewhere). Workflows can then depend
    on it with deps: [":NAME"] or ["WORKFLOW:NAME"]."""
    from hpcrun.cli.common import note
    from hpcrun.ops.runs import find_run
    from hpcrun.ops.session import Session
    from hpcrun.safepaths import check_name

    check_name(name, "tag")  # before anything is opened
    with Session() as session:
        record = find_run(session, run)
        session.store.tag(record.run, name)
    note(f"{name} -> {record.run}")
