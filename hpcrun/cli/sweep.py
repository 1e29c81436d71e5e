"""``hpcrun sweep [FILE] WORKFLOW``: one cron tick of a parameter sweep; and the views
``hpcrun sweep status|report`` (hpcrun.cli.sweep_views), routed by the first argument."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from hpcrun.cli.common import file_and_workflow, note, site_option

VIEWS = {"status": "status", "report": "report"}  # subcommand -> attribute in sweep_views
TICK = "tick"


class TickCommand(click.Command):
    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        parent = ctx.parent.command_path if ctx.parent else "hpcrun sweep"
        formatter.write_usage(parent, "[FILE] WORKFLOW [OPTIONS]")


@click.command(
    TICK, cls=TickCommand, short_help="One tick of a sweep: submit what is due, fetch what ended."
)
@click.argument("arguments", nargs=-1, required=True, metavar="[FILE] WORKFLOW")
@site_option
@click.option("--json", "as_json", is_flag=True, help="Print the sweep's full state as JSON.")
@click.option(
    "--wait",
    is_flag=True,
    help="If another tick of this sweep is running, wait for it (default: exit 0).",
)
@click.option(
    "--watch",
    is_flag=True,
    help="Tick again and again, showing progress, until every point has ended.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.5),
    default=None,
    metavar="SECONDS",
    help="--watch: seconds between ticks (default 2 on the local site, else 15).",
)
@click.option(
    "--rerun-failed",
    is_flag=True,
    help="Run again every point that ended without completing (retries start afresh).",
)
@click.option(
    "--rerun",
    "rerun",
    multiple=True,
    metavar="POINT",
    help="Run this point again even if it completed (id, id prefix or label "
    "like lr=0.1,bs=32). Repeatable.",
)
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Fetch points' artifacts into DEST/<sweep>/<point>/ (default: "
                   "$HPCRUN_HOME/sweeps).")  # fmt: skip
def tick(
    arguments: tuple[str, ...],
    site: str | None,
    as_json: bool,
    wait: bool,
    watch: bool,
    interval: float | None,
    rerun_failed: bool,
    rerun: tuple[str, ...],
    dest: Path | None,
) -> None:
    """One tick of the sweep of WORKFLOW (FILE: default .dstack/workflows.yaml, then
    workflows.yaml) on SITE: reconcile what an interrupted tick left, poll every array
    (one squeue, at most one sacct), fetch the artifacts of points that ended into
    DEST/<sweep>/<point>/, resubmit due retries, submit new points as job arrays, and
    print a one-line summary. Safe from cron, any number of times, overlapping: a second
    tick of the same sweep exits 0 at once unless --wait.

    Exit 0 while the sweep is healthy, 1 once a point has ended for good without
    completing (its retries used up), 2 for bad input.

    Also: `hpcrun sweep status [FILE] WORKFLOW` (the point table) and
    `hpcrun sweep report [FILE] WORKFLOW` (an HTML report)."""
    from hpcrun.ops.session import Session
    from hpcrun.sweep.tick import TickRequest
    from hpcrun.sweep.tick import tick as run_tick

    file, workflow = file_and_workflow(arguments)
    request = TickRequest(file, workflow, site, wait=wait or watch, rerun_failed=rerun_failed,
                          rerun=rerun, dest=dest)  # fmt: skip
    with Session() as session:
        result = run_tick(session, request)
        if watch:
            result = _watch(session, request, result, interval, as_json)
    _report(result, as_json)
    sys.exit(result.exit_code)


def _watch(session: Any, request: Any, result: Any, interval: float | None, as_json: bool) -> Any:
    """Tick until done; a progress line rewritten in place at a terminal, else one line
    per tick. Reruns are asked for once, in the first tick."""
    from dataclasses import replace

    from hpcrun.sweep.tick import tick as run_tick

    later = replace(request, rerun_failed=False, rerun=())
    pause = interval or (2.0 if result.local else 15.0)
    live = sys.stderr.isatty() and not as_json
    for message in result.notes:
        note(message)
    while not result.done:
        _progress(result, live)
        time.sleep(pause)
        result = run_tick(session, later)
        for message in result.notes:
            note(message)
    if live:
        click.echo("", err=True)
    result.notes = []
    return result


def _progress(result: Any, live: bool) -> None:
    points = [p for p in result.state.points if p.in_spec] if result.state else []
    ended = sum(1 for p in points if p.final)
    width = 30
    filled = int(width * ended / len(points)) if points else 0
    bar = "#" * filled + "-" * (width - filled)
    line = f"[{bar}] {ended}/{len(points)}  {result.summary}"
    if live:
        click.echo(f"\r\033[K{line}", nl=False, err=True)
    else:
        click.echo(line, err=True)


def _report(result: Any, as_json: bool) -> None:
    for message in result.notes:
        note(message)
    if result.submitted:
        points = sum(n for _, _, n in result.submitted)
        arrays = ", ".join(job for _, job, _ in result.submitted)
        note(f"submitted {points} point(s) as {len(result.submitted)} array(s): {arrays}")
    if result.busy:
        note(result.summary)
        if as_json:
            click.echo(json.dumps({"sweep": result.sweep, "busy": True}))
        return
    if as_json:
        click.echo(json.dumps(state_json(result), indent=2))
    else:
        click.echo(result.summary)


def state_json(result: Any) -> dict[str, Any]:
    """The ``--json`` document: the sweep, every point and chunk, this tick's work."""
    state = result.state
    points = []
    for p in state.points:
        item = asdict(p)
        item["job_id"], item["run_seconds"] = p.job_id, p.run_seconds
        item["exhausted"] = p.exhausted
        points.append(item)
    sweep = asdict(state.sweep)
    sweep["parameters"] = list(state.sweep.parameters)
    del sweep["site_snapshot"]  # internal and long: `site`/`site_config` name it
    return {
        "sweep": result.sweep,
        "summary": result.summary,
        "healthy": result.healthy,
        "done": result.done,
        "tick": {
            "sbatch_calls": result.sbatch_calls,
            "submit_commands": result.submit_commands,
            "submitted": [
                {"chunk": c, "array_job_id": j, "points": n} for c, j, n in result.submitted
            ],
            "deferred": result.deferred,
        },
        "config": sweep,
        "points": points,
        "chunks": [{**asdict(c), "points": list(c.points)} for c in state.chunks],
    }


class SweepGroup(click.Group):
    """``hpcrun sweep status ...`` / ``report ...`` run the views; anything else is a tick
    (``hpcrun sweep [FILE] WORKFLOW``: the first argument is then not a subcommand)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(VIEWS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name == TICK:
            return tick
        if cmd_name not in VIEWS:
            return None
        import importlib

        views = importlib.import_module("hpcrun.cli.sweep_views")
        command: click.Command = getattr(views, VIEWS[cmd_name])
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or args[0] not in (*VIEWS, TICK):
            args = [TICK, *args]  # `hpcrun sweep --help` shows the tick's help
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[FILE] WORKFLOW [OPTIONS] | status|report ...")


@click.group(cls=SweepGroup, short_help="Run a parameter sweep (one cron tick); status, report.")
def sweep() -> None:
    """Parameter sweeps: `hpcrun sweep [FILE] WORKFLOW` is one tick (see `hpcrun sweep
    --help`); `hpcrun sweep status` and `hpcrun sweep report` show the results."""
