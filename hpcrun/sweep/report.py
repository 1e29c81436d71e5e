"""The standalone HTML report of a sweep: the grid of points coloured by state, the sortable
metrics table, and one SVG chart per (numeric metric, parameter).

Pure: geometry and grouping are computed here from a ``SweepView``; the markup lives in the
template ``report/sweep.html.j2`` (rendered with autoescape, so no value from the sweep can
inject markup). No network is needed to view the file: CSS, JS and charts are inline.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

from hpcrun.sweep.results import (
    PointRow,
    SweepView,
    format_metric,
    format_seconds,
    is_number,
    numeric_params,
    param_number,
    param_values,
)

TEMPLATE = "report/sweep.html.j2"
# Colours of the series in a chart (Okabe-Ito, readable by colour-blind readers).
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442",
           "#000000")  # fmt: skip
MAX_LINED_SERIES = 12  # more series than this: points only, lines would be a tangle
MAX_CHARTS = 60  # metrics x parameters; beyond this the report lists what it left out
COMPACT_GRID = 150  # more points than this: the grid shows small squares (details on hover)

# Chart geometry (SVG user units).
WIDTH, HEIGHT = 380, 240
LEFT, RIGHT, TOP, BOTTOM = 58, 14, 14, 44


def state_class(state: str) -> str:
    """A CSS class for a state: only [a-z_], whatever the store holds."""
    cleaned = "".join(char for char in state.lower() if char.isalnum() or char == "_")
    return f"st-{cleaned or 'unknown'}"


def link(target: str | None, base: Path, folder: bool = False) -> str | None:
    """A relative URL from the report's folder to ``target``: the report and the fetched
    folders can be moved together. Every character that is not plain is %-escaped, so a
    file name can never become a scheme (``javascript:``) or break out of the attribute."""
    if not target:
        return None
    try:
        relative = os.path.relpath(target, base)
    except ValueError:  # another drive (Windows): an absolute file URL
        return Path(target).resolve().as_uri()
    url = quote(Path(relative).as_posix(), safe="/")
    return url + "/" if folder and not url.endswith("/") else url


# ---------------------------------------------------------------------------------------
# The grid


@dataclass
class Cell:
    row: PointRow
    title: str  # what the cell says when its row/column does not (the other params)
    log: str | None
    files: str | None
    highlight: str  # one metric shown in the cell, formatted


@dataclass
class Grid:
    """2 parameters: a table (rows x columns); otherwise groups of cells."""

    kind: str  # "table" or "groups"
    compact: bool = False  # small squares instead of cards, for large sweeps
    row_param: str = ""
    col_param: str = ""
    row_values: list[str] = field(default_factory=list)
    col_values: list[str] = field(default_factory=list)
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)
    groups: list[tuple[str, list[Cell]]] = field(default_factory=list)


def build_grid(view: SweepView, base: Path, highlight: str | None) -> Grid:
    def cell(row: PointRow, shown: Sequence[str]) -> Cell:
        others = [f"{name}={value}" for name, value in row.params if name not in shown]
        value = row.metrics.get(highlight) if highlight else None
        return Cell(
            row=row,
            title=", ".join(others),
            log=link(row.log_path, base),
            files=link(row.artifacts_dir, base, folder=True),
            highlight=f"{highlight}={format_metric(value)}" if value is not None else "",
        )

    params = view.parameters
    compact = len(view.rows) > COMPACT_GRID
    if len(params) == 2:
        grid = Grid("table", compact=compact, row_param=params[0], col_param=params[1],
                    row_values=param_values(view, params[0]),
                    col_values=param_values(view, params[1]))  # fmt: skip
        for row in view.rows:
            values = dict(row.params)
            grid.cells[(values[params[0]], values[params[1]])] = cell(row, params)
        return grid
    grid = Grid("groups", compact=compact)
    if len(params) < 2:
        grid.groups.append(("", [cell(row, params) for row in view.rows]))
        return grid
    by_first: dict[str, list[Cell]] = {}
    for row in view.rows:
        key = f"{params[0]}={dict(row.params)[params[0]]}"
        by_first.setdefault(key, []).append(cell(row, params[:1]))
    grid.groups.extend(by_first.items())
    return grid


# ---------------------------------------------------------------------------------------
# Charts


@dataclass
class Dot:
    x: float
    y: float
    title: str
    state: str


@dataclass
class Series:
    name: str
    colour: str
    dots: list[Dot]

    @property
    def path(self) -> str:
        return " ".join(f"{dot.x:.1f},{dot.y:.1f}" for dot in self.dots)


@dataclass
class Tick:
    at: float
    text: str


@dataclass
class Chart:
    metric: str
    param: str
    scale: str  # "linear", "log" or "categories"
    series: list[Series]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    lines: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round numbers covering [low, high], about ``count`` of them."""
    if high <= low:
        return [low]
    raw = (high - low) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _x_axis(view: SweepView, param: str, numeric: bool) -> tuple[str, Any, list[Tick]]:
    """(scale, value -> x, ticks) for one parameter."""
    values = param_values(view, param)
    span = (LEFT + 10, WIDTH - RIGHT - 10)
    if not numeric or len(values) < 2:
        step = (span[1] - span[0]) / max(1, len(values) - 1) if len(values) > 1 else 0
        where = {v: (span[0] + i * step if len(values) > 1 else (span[0] + span[1]) / 2)
                 for i, v in enumerate(values)}  # fmt: skip
        return "categories", where.__getitem__, [Tick(where[v], v) for v in values]
    numbers = {v: param_number(v) or 0.0 for v in values}
    low, high = min(numbers.values()), max(numbers.values())
    scale = "log" if low > 0 and high / low >= 100 else "linear"
    transform = math.log10 if scale == "log" else float
    t_low, t_high = transform(low), transform(high)
    width = (t_high - t_low) or 1.0

    def x_of(value: str) -> float:
        return span[0] + (transform(numbers[value]) - t_low) / width * (span[1] - span[0])

    if len(values) <= 10:
        ticks = [Tick(x_of(v), v) for v in values]
    else:
        ticks = []
        for tick in nice_ticks(t_low, t_high):
            number = 10**tick if scale == "log" else tick
            at = span[0] + (tick - t_low) / width * (span[1] - span[0])
            ticks.append(Tick(at, format_metric(float(number))))
    return scale, x_of, ticks


def build_chart(view: SweepView, metric: str, param: str, numeric: bool) -> Chart | None:
    rows = [row for row in view.rows if is_number(row.metrics.get(metric))]
    if not rows:
        return None
    scale, x_of, x_ticks = _x_axis(view, param, numeric)
    values = [float(row.metrics[metric]) for row in rows]
    low, high = min(values), max(values)
    if high == low:
        low, high = low - (abs(low) or 1) * 0.1, high + (abs(high) or 1) * 0.1
    margin = (high - low) * 0.05  # dots off the frame's edges
    low, high = low - margin, high + margin
    y_ticks_values = nice_ticks(low, high)
    low, high = min(low, y_ticks_values[0]), max(high, y_ticks_values[-1])

    def y_of(value: float) -> float:
        return (HEIGHT - BOTTOM) - (value - low) / (high - low) * (HEIGHT - BOTTOM - TOP)

    # one series per combination of the OTHER parameters: the metric along this one
    grouped: dict[str, list[PointRow]] = {}
    for row in rows:
        key = ",".join(f"{name}={value}" for name, value in row.params if name != param)
        grouped.setdefault(key, []).append(row)
    series = []
    for index, (name, members) in enumerate(grouped.items()):
        dots = [Dot(x_of(dict(row.params)[param]), y_of(float(row.metrics[metric])),
                    f"{row.label}: {metric}={format_metric(row.metrics[metric])}",
                    state_class(row.state)) for row in members]  # fmt: skip
        dots.sort(key=lambda dot: dot.x)
        series.append(Series(name, PALETTE[index % len(PALETTE)], dots))
    y_ticks = [Tick(y_of(v), format_metric(float(v))) for v in y_ticks_values]
    return Chart(metric, param, scale, series, x_ticks, y_ticks,
                 lines=len(series) <= MAX_LINED_SERIES)  # fmt: skip


def build_charts(view: SweepView) -> tuple[list[Chart], int]:
    """(charts, how many were left out beyond ``MAX_CHARTS``)."""
    numeric = numeric_params(view)
    charts = []
    wanted = [(m, p) for m in view.numeric_metrics for p in view.parameters]
    for metric, param in wanted[:MAX_CHARTS]:
        chart = build_chart(view, metric, param, numeric[param])
        if chart is not None:
            charts.append(chart)
    return charts, max(0, len(wanted) - MAX_CHARTS)


# ---------------------------------------------------------------------------------------
# The table and the whole page


def sort_value(value: Any) -> str:
    """``data-v`` of a table cell: numbers as numbers (the JS compares them as such)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return str(int(value))
    return repr(float(value)) if is_number(value) else str(value)


def table_rows(view: SweepView, rows: Sequence[PointRow], base: Path) -> list[dict[str, Any]]:
    numeric = numeric_params(view)
    result = []
    for position, row in enumerate(rows):
        params = dict(row.params)
        cells = [(params.get(name, ""),
                  sort_value(param_number(params[name]) if numeric[name] and name in params
                             else params.get(name)))
                 for name in view.parameters]  # fmt: skip
        result.append({
            "row": row, "position": position, "params": cells,
            "run_time": (format_seconds(row.run_seconds), sort_value(row.run_seconds)),
            "metrics": [_metric_cell(row.metrics.get(name)) for name in view.metric_names],
            "log": link(row.log_path, base), "files": link(row.artifacts_dir, base, folder=True),
        })  # fmt: skip
    return result


def _metric_cell(value: Any) -> tuple[str, str, bool]:
    """(text, sort value, right-aligned): numbers and booleans align right, text left."""
    return format_metric(value), sort_value(value), isinstance(value, int | float)


def extremes(view: SweepView) -> list[dict[str, Any]]:
    """Per numeric metric, the points with the lowest and the highest value: which
    parameters gave the best result, whichever direction is best for that metric."""
    found = []
    for name in view.numeric_metrics:
        rows = [row for row in view.rows if is_number(row.metrics.get(name))]
        low = min(rows, key=lambda row: row.metrics[name])
        high = max(rows, key=lambda row: row.metrics[name])
        found.append({"metric": name, "low": low, "high": high,
                      "low_value": format_metric(low.metrics[name]),
                      "high_value": format_metric(high.metrics[name])})  # fmt: skip
    return found


def _by_metric(charts: Sequence[Chart]) -> list[tuple[str, list[Chart]]]:
    """Charts in one row per metric: the metric against each parameter, side by side."""
    groups: dict[str, list[Chart]] = {}
    for chart in charts:
        groups.setdefault(chart.metric, []).append(chart)
    return list(groups.items())


def report_context(
    view: SweepView, rows: Sequence[PointRow], base: Path, generated: datetime | None = None
) -> dict[str, Any]:
    """Everything the template shows. ``rows``: the table's initial order; ``base``: the
    folder the HTML file is written to (links are relative to it)."""
    charts, charts_left_out = build_charts(view)
    highlight = view.numeric_metrics[0] if view.numeric_metrics else None
    moment = generated or datetime.now(timezone.utc)
    return {
        "view": view,
        "counts": sorted(view.counts().items()),
        "state_class": state_class,
        "format_seconds": format_seconds,
        "total_seconds": format_seconds(
            sum(row.run_seconds for row in view.rows if row.run_seconds is not None)
        ),
        "retried": sum(1 for row in view.rows if row.retries_used),
        "grid": build_grid(view, base, highlight),
        "table": table_rows(view, rows, base),
        "metrics": view.metric_names,
        "extremes": extremes(view),
        "charts": charts,
        "chart_groups": _by_metric(charts),
        "charts_left_out": charts_left_out,
        "generated": moment.strftime("%Y-%m-%d %H:%M UTC"),
    }


def render_report(view: SweepView, rows: Sequence[PointRow], html_path: Path) -> str:
    """The HTML text of the report that will be written to ``html_path``."""
    from hpcrun.render import render_html

    base = html_path.absolute().parent
    return render_html(TEMPLATE, **report_context(view, rows, base))
