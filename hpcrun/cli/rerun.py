"""``hpcrun rerun RUN [OPTIONS] [-- ARGS]``: submit a recorded run again.

The options are ``submit``'s own list (not a copy): a flag given here overrides the
recorded one; the rest (workflow, site config, args, overrides, variables) is the run's.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from hpcrun.cli.submit import TrailingArgsCommand, submit

_NOT_FOR_RERUN = ("arguments",)  # RUN takes the place of submit's target


def _params() -> list[click.Parameter]:
    run_argument = click.Argument(["run"], metavar="RUN")
    return [run_argument, *(p for p in submit.params if p.name not in _NOT_FOR_RERUN)]


def _rerun(
    run: str,
    site: str | None,
    variables: tuple[str, ...],
    detach: bool,
    inputs: Path | None,
    dry_run: bool = False,
    as_json: bool = False,
    **flags: Any,
) -> None:
    from hpcrun.cli.common import parse_vars
    from hpcrun.cli.submit import overrides_from_flags, send
    from hpcrun.cli.terminal import upload_feedback
    from hpcrun.ops.rerun import rerun_request
    from hpcrun.ops.runs import find_run
    from hpcrun.ops.session import Session

    if as_json and not detach:
        from hpcrun.errors import UsageError

        raise UsageError("--json needs -d/--detach", "e.g. hpcrun rerun -d --json RUN")
    program_args = click.get_current_context().meta.get("program_args")
    given = overrides_from_flags(flags, program_args)
    with Session(upload_feedback=upload_feedback()) as session:
        record = find_run(session, run)
        rerun = rerun_request(session, record, given, parse_vars(variables), site, inputs)
        if rerun.cwd is not None:
            os.chdir(rerun.cwd)  # a FILE.py run finds its project from where it ran
        send(
            session,
            rerun.request,
            detach=detach,
            dry_run=dry_run,
            as_json=as_json,
            again=record.run,
        )


rerun = TrailingArgsCommand(
    "rerun",
    params=_params(),
    callback=_rerun,
    short_help="Submit a recorded run again.",
    help="""Submit RUN again: the same workflows file and workflow (or project, or
    FILE.py), the site config it was submitted with, its program arguments, command-line
    flags and --var values. Options given here override the recorded ones (a repeatable
    option such as -e replaces the recorded list; arguments after -- replace the recorded
    ones). Stays attached like submit; -d returns once submitted; --dry-run prints
    the script it would submit.""",
)
