"""``hpcrun tags``: every tag, with the run it points at."""

from __future__ import annotations

import json

import click


@click.command(short_help="List tags and their runs.")
@click.option(
    "--json", "as_json", is_flag=True, help="A JSON array of {tag, run, workflow, state}."
)
def tags(as_json: bool) -> None:
    """List tags: tag -> run, its workflow and state (as recorded; `hpcrun ps` refreshes)."""
    from hpcrun.ops.session import Session

    with Session() as session:
        rows = []
        for name, run in session.store.all_tags():
            record = session.store.get(run)
            shown = record.to_json() if record else {"workflow": "-", "state": "-"}
            rows.append({"tag": name, "run": run, "workflow": shown["workflow"],
                         "state": shown["state"]})  # fmt: skip
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = [("TAG", "RUN", "WORKFLOW", "STATE")] + [
        (r["tag"], r["run"], r["workflow"], r["state"]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    for row in table:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
