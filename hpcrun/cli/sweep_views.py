"""``hpcrun sweep status`` and ``hpcrun sweep report``: what the cron tick recorded, as a
table (text, JSON or CSV) or as one standalone HTML file. Read only, never connects."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from hpcrun.cli.common import file_and_workflow, site_option
from hpcrun.errors import UsageError

SORT_HELP = (
    "Sort the points by a metric, a parameter, run_seconds, attempts, exit_code or state; "
    "-NAME sorts descending. Points without a value come last."
)


@click.command(short_help="Print the sweep's points, their states and metrics.")
@click.argument("arguments", nargs=-1, required=True, metavar="[FILE] WORKFLOW")
@site_option
@click.option("--sort", "sort", metavar="[-]NAME", help=SORT_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print every point as JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every point as CSV.")
def status(
    arguments: tuple[str, ...], site: str | None, sort: str | None, as_json: bool, as_csv: bool
) -> None:
    """One row per point of the sweep of WORKFLOW: its parameters, state (with the retries
    used), run time and the metrics it wrote to OUTPUT_FOLDER/metrics.json. Reads what the
    last `hpcrun sweep` tick recorded; nothing connects to the cluster."""
    from hpcrun.ops.sweep_views import load_sweep
    from hpcrun.sweep import results

    if as_json and as_csv:
        raise UsageError("--json and --csv do not go together", "choose one")
    file, workflow = file_and_workflow(arguments)
    loaded = load_sweep(file, workflow, site)
    rows = results.sort_rows(loaded.view, sort)
    if as_json:
        click.echo(results.to_json(loaded.view, rows))
    elif as_csv:
        click.echo(results.to_csv(loaded.view, rows), nl=False)
    elif _fancy_terminal():
        _rich_table(loaded, rows)
    else:
        click.echo(f"sweep {loaded.view.name}: {loaded.summary}")
        click.echo(_plain_table(loaded.view, rows), nl=False)


@click.command(short_help="Write the sweep's standalone HTML report.")
@click.argument("arguments", nargs=-1, required=True, metavar="[FILE] WORKFLOW")
@site_option
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
    help="Where to write the report (default: report.html in the sweep's artifacts folder, "
         "next to the fetched points).",
)  # fmt: skip
@click.option("--sort", "sort", metavar="[-]NAME", help="The table's initial order. " + SORT_HELP)
def report(
    arguments: tuple[str, ...], site: str | None, html_path: Path | None, sort: str | None
) -> None:
    """Write ONE self-contained HTML file about the sweep of WORKFLOW: the grid of points
    coloured by state, run times and retries, links to each point's log and files, the
    metrics table (click a column to sort) and a chart of each numeric metric against each
    parameter. It needs no network to view; prints the file's path."""
    from hpcrun.ops.sweep_views import default_report_path, load_sweep, write_report

    file, workflow = file_and_workflow(arguments)
    loaded = load_sweep(file, workflow, site)
    target = html_path or default_report_path(loaded.record)
    click.echo(str(write_report(loaded, target, sort)))


def _fancy_terminal() -> bool:
    """rich only for a person at a terminal: a pipe, a file or cron gets plain text."""
    return (
        sys.stdout.isatty()
        and not os.environ.get("NO_COLOR")
        and os.environ.get("TERM", "") not in ("", "dumb")
    )


def _columns(view: Any) -> list[str]:
    return ["point", *view.parameters, "state", "run time", *view.metric_names]


def _cells(view: Any, row: Any) -> list[str]:
    from hpcrun.sweep.results import format_metric, format_seconds

    params = dict(row.params)
    return [
        row.id,
        *(params.get(name, "") for name in view.parameters),
        row.state_text,
        format_seconds(row.run_seconds),
        *(format_metric(row.metrics.get(name)) for name in view.metric_names),
    ]


def _plain_table(view: Any, rows: list[Any]) -> str:
    """Columns padded with spaces, one line per point (easy to grep, cut and diff)."""
    table = [_columns(view)] + [_cells(view, row) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(table[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in table
    )


_STATE_STYLES = {"completed": "green", "running": "blue", "failed": "red", "timeout": "red",
                 "out_of_memory": "red", "node_fail": "red", "preempted": "yellow",
                 "cancelled": "dim"}  # fmt: skip


def _rich_table(loaded: Any, rows: list[Any]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    view = loaded.view
    # every text from the sweep goes in as Text: a metric named "[red]x" is not markup
    table = Table(title=Text(f"sweep {view.name}"), caption=Text(loaded.summary),
                  title_justify="left", caption_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)  # fmt: skip
    numeric = set(view.numeric_metrics)
    lines = [_cells(view, row) for row in rows]
    for i, name in enumerate(_columns(view)):
        right = name == "run time" or name in numeric
        # a point's id prefix is enough to name it (--rerun takes one): the room goes to
        # parameters and metrics, which keep their full width while the terminal allows
        widest = max([len(name), *(len(line[i]) for line in lines)])
        table.add_column(Text(name), justify="right" if right else "left",
                         style="dim" if name == "point" else None, no_wrap=True,
                         min_width=min(widest, 8 if name == "point" else 12))  # fmt: skip
    for row, line in zip(rows, lines, strict=True):
        cells = [Text(cell) for cell in [line[0][:8], *line[1:]]]
        state_at = 1 + len(view.parameters)
        cells[state_at].stylize(_STATE_STYLES.get(row.state, ""))
        table.add_row(*cells)
    Console().print(table)
