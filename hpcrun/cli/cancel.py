"""``hpcrun cancel RUN``: cancel a run's job."""

from __future__ import annotations

import click

from hpcrun.cli.common import run_site_option


@click.command(short_help="Cancel a run.")
@click.argument("run")
@run_site_option
def cancel(run: str, site: str | None) -> None:
    """Cancel RUN's job (scancel on Slurm; the whole process group on the local site)."""
    from hpcrun.cli.common import note
    from hpcrun.ops.repoint import point_run
    from hpcrun.ops.runs import cancel_run, find_run
    from hpcrun.ops.session import Session

    with Session() as session:
        record = point_run(session, find_run(session, run), site)
        was_final = record.final
        record = cancel_run(session, record)
    if was_final or record.state != "cancelled":
        note(f"{record.run} had already ended: {record.state}")
    else:
        note(f"{record.run} cancelled")
