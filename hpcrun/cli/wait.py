"""``hpcrun wait RUN...``: block until runs end; exit with the worst exit code."""

from __future__ import annotations

import json
import sys
from typing import Any

import click


def ended_line(record: Any) -> str:
    """``train-7f3k completed (exit code 0)``."""
    code = f" (exit code {record.exit_code})" if record.exit_code is not None else ""
    return f"{record.run} {record.to_json()['state']}{code}"


@click.command(short_help="Wait until runs end.")
@click.argument("runs", nargs=-1, required=True)
@click.option(
    "--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
    help="Give up after this long, leaving the runs going (exit code 124).",
)  # fmt: skip
@click.option(
    "--json", "as_json", is_flag=True,
    help="At the end, a JSON array of the runs (the fields of ps --json).",
)  # fmt: skip
def wait(runs: tuple[str, ...], timeout: float | None, as_json: bool) -> None:
    """Wait until every RUN (a run name or a tag) has ended, printing each as it ends and
    fetching its artifacts if nobody has since it ended (a detached run), then
    exit with the worst exit code: 0 if all completed, else the highest exit code of a
    failed job (1 for a run that ended without one: cancelled, timeout, ...). With
    --timeout, exit 124 if some are still going then (they keep going). A lost connection
    is retried for up to $HPCRUN_RECONNECT_TIMEOUT seconds, then exit 75."""
    from hpcrun.cli.common import exit_code_of, note
    from hpcrun.cli.fetched import fetch_ended_run
    from hpcrun.errors import EXIT_WAIT_TIMEOUT
    from hpcrun.ops.runs import find_run
    from hpcrun.ops.session import Session
    from hpcrun.ops.wait import wait_for

    def on_end(record: Any) -> None:
        if not as_json:
            click.echo(ended_line(record))
        fetch_ended_run(session, record)

    with Session() as session:
        records = {}
        for name in runs:
            record = find_run(session, name)
            records.setdefault(record.run, record)
        waited = wait_for(
            session, list(records.values()), timeout=timeout, on_end=on_end, on_event=note
        )
        # read again: the artifacts fetched since are part of the record
        by_name = {r.run: session.store.get(r.run) or r for r in (*waited.ended, *waited.ongoing)}
    if as_json:
        click.echo(json.dumps([by_name[n].to_json() for n in records], indent=2))
    if waited.ongoing:
        names = " ".join(r.run for r in waited.ongoing)
        note(f"still going after {timeout:g} s: {names}")
        sys.exit(EXIT_WAIT_TIMEOUT)
    sys.exit(max((exit_code_of(r) for r in waited.ended), default=0))
