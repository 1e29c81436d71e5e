"""``hpcrun logs RUN [-f]``: print (or follow) a run's output."""

from __future__ import annotations

import sys

import click

from hpcrun.cli.common import run_site_option


@click.command(short_help="Print or follow a run's output.")
@click.argument("run")
@click.option("-f", "--follow", "follow_", is_flag=True, help="Keep streaming until the run ends.")
@run_site_option
def logs(run: str, follow_: bool, site: str | None) -> None:
    """Print RUN's output (stdout and stderr of the job). With -f, stream it until the run
    ends, fetch its artifacts if nobody has since it ended (a detached run), then exit with
    the job's exit code; Ctrl-C stops following, not the run. A lost
    connection is retried for up to $HPCRUN_RECONNECT_TIMEOUT seconds (default 600), then
    it exits with 75 (the job may still be running)."""
    from hpcrun.cli.common import exit_code_of, note
    from hpcrun.cli.fetched import fetch_ended_run
    from hpcrun.errors import EXIT_INTERRUPTED
    from hpcrun.ops.follow import follow
    from hpcrun.ops.output import read_output
    from hpcrun.ops.repoint import point_run
    from hpcrun.ops.runs import find_run
    from hpcrun.ops.session import Session

    with Session() as session:
        record = point_run(session, find_run(session, run), site)
        if follow_:
            try:
                final = follow(session, record.run, sys.stdout.buffer, on_event=note)
            except KeyboardInterrupt:
                note(f"stopped following; {record.run} keeps running")
                sys.exit(EXIT_INTERRUPTED)
            fetch_ended_run(session, final)
            sys.exit(exit_code_of(final))
        if not record.job_id:
            note(f"{record.run} has no job yet ({record.state})")
            return
        output = read_output(session, record)
        sys.stdout.buffer.write(output)
        sys.stdout.buffer.flush()
