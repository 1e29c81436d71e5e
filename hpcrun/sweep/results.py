"""A sweep's results: the metrics a point wrote, the rows that ``hpcrun sweep status`` and
``hpcrun sweep report`` show, sorting by a column, and export to JSON and CSV.

A point reports results by writing ``metrics.json``, a flat JSON object, into its
``OUTPUT_FOLDER``. Whatever a point wrote is read defensively: a file that is too big, not
JSON, not an object, or values that are nested, NaN or Infinity give a warning naming the
point and are ignored, never an error: one broken point must not hide the others' results.
Pure standard library (no store, no click): the store and the CLI feed ``PointRow``s in.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from hpcrun.errors import UsageError

METRICS_FILE = "metrics.json"
# Where metrics.json may sit in a point's fetched folder, ``<dest>/<sweep>/<point>/``: the
# tick fetches OUTPUT_FOLDER as its ``output/``; a folder that IS a copy of OUTPUT_FOLDER
# (fetched by hand) has it at the top.
METRICS_PLACES = (f"output/{METRICS_FILE}", METRICS_FILE)
MAX_METRICS_BYTES = 1024 * 1024
MAX_METRICS = 200  # columns: more than this is not a metrics file but a data dump
MAX_NAME_CHARS = 100
MAX_TEXT_CHARS = 200

Metric = float | int | str | bool
Warn = Callable[[str], None]

# Fixed columns of the CSV, in order, after the parameters (metrics follow, by name).
FIXED_COLUMNS = ("point", "state", "attempts", "retries_used", "exit_code", "run_seconds")


def _ignore(message: str) -> None:
    """Default ``warn``: the caller did not ask to hear about broken files."""


def find_metrics_file(folder: Path) -> Path | None:
    """The ``metrics.json`` of a point's fetched folder, if there is one."""
    for place in METRICS_PLACES:
        candidate = folder / place
        if os.path.lexists(candidate):
            return candidate
    return None


def read_metrics(folder: Path, point: str = "", warn: Warn = _ignore) -> dict[str, Metric] | None:
    """The metrics of the point whose fetched folder is ``folder`` (see ``METRICS_PLACES``),
    or None when it wrote none or the file is unusable. ``point`` names the point in the
    warnings passed to ``warn`` (one per problem)."""
    path = find_metrics_file(folder)
    if path is None:
        return None
    who = f"point {point}: " if point else ""
    text = _read_capped(path, lambda problem: warn(f"{who}{path}: {problem}; ignored"))
    if text is None:
        return None
    return parse_metrics(text, lambda problem: warn(f"{who}{path}: {problem}"))


def _read_capped(path: Path, warn: Warn) -> str | None:
    """The file's text, if it is a regular file (not a symlink, FIFO or device) of at most
    ``MAX_METRICS_BYTES`` in UTF-8."""
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode):
            warn("not a regular file")
            return None
        # O_NOFOLLOW: the file may have been swapped for a symlink since lstat
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(MAX_METRICS_BYTES + 1)
    except OSError as exc:
        warn(f"cannot be read ({exc.strerror or exc})")
        return None
    if len(data) > MAX_METRICS_BYTES:
        warn(f"larger than {MAX_METRICS_BYTES // 1024} KiB")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        warn("not UTF-8 text")
        return None


class _NotFinite:
    """What NaN/Infinity parse to, so the value can be reported by name and dropped."""

    def __init__(self, text: str) -> None:
        self.text = text


def parse_metrics(text: str, warn: Warn = _ignore) -> dict[str, Metric] | None:
    """The flat object in ``text``: values that are numbers, text or booleans are kept;
    anything else (null, lists, objects, NaN, Infinity, overlong text) is dropped with a
    warning. None when ``text`` is not a JSON object."""
    try:
        data = json.loads(text, parse_constant=_NotFinite)
    except (ValueError, RecursionError) as exc:
        warn(f"not valid JSON ({exc}); ignored")
        return None
    if not isinstance(data, dict):
        warn(f"expected a JSON object, found {_json_kind(data)}; ignored")
        return None
    metrics: dict[str, Metric] = {}
    for name, value in data.items():
        problem = _value_problem(name, value)
        if problem is None and len(metrics) >= MAX_METRICS:
            problem = f"more than {MAX_METRICS} metrics"
        if problem is not None:
            warn(f"metric {_shorten(name)!r}: {problem}; ignored")
            continue
        metrics[name] = value
    return metrics


def _value_problem(name: str, value: Any) -> str | None:
    if not name.strip() or len(name) > MAX_NAME_CHARS or not name.isprintable():
        return f"a metric name must be 1 to {MAX_NAME_CHARS} printable characters"
    if isinstance(value, _NotFinite):
        return f"{value.text} is not a number"
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"  # 1e999 parses to inf
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        return f"text longer than {MAX_TEXT_CHARS} characters"
    if not isinstance(value, bool | int | float | str):
        return f"{_json_kind(value)} values are not allowed (metrics.json is a flat object)"
    return None


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "text"}.get(type(value), "a number")


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------
# The row model of the views


@dataclass(frozen=True)
class PointRow:
    """One point as the views show it. ``params`` in the sweep's parameter order;
    ``attempts``: how often it was submitted (0: not yet); ``retries_used``: automatic
    retries so far, of the ``retries`` the sweep allows; paths are local or None."""

    id: str
    params: tuple[tuple[str, str], ...]
    state: str
    attempts: int = 0
    retries: int = 0
    retries_used: int = 0
    exit_code: int | None = None
    job_id: str | None = None
    run_seconds: float | None = None
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    log_path: str | None = None
    artifacts_dir: str | None = None

    @property
    def label(self) -> str:
        return ",".join(f"{name}={value}" for name, value in self.params)

    @property
    def state_text(self) -> str:
        """``failed (retry 1/2)``: the state, with the retries used once there were any."""
        if self.retries and self.retries_used:
            return f"{self.state} (retry {self.retries_used}/{self.retries})"
        return self.state


@dataclass(frozen=True)
class SweepView:
    """What the views show: the sweep's name, its parameters in order and its points."""

    name: str
    workflow: str
    parameters: tuple[str, ...]
    rows: tuple[PointRow, ...]
    site: str = ""

    @cached_property  # asked once per row by the views: computed once
    def metric_names(self) -> list[str]:
        """Every metric any point reported, sorted by name."""
        return sorted({name for row in self.rows for name in row.metrics})

    @cached_property
    def numeric_metrics(self) -> list[str]:
        """Metrics that are numbers wherever they appear (charts need numbers)."""
        names = []
        for name in self.metric_names:
            values = [row.metrics[name] for row in self.rows if name in row.metrics]
            if values and all(is_number(value) for value in values):
                names.append(name)
        return names

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.state] = counts.get(row.state, 0) + 1
        return counts


def format_seconds(seconds: float | None) -> str:
    """``42s``, ``3m07s``, ``2h05m``; empty for None."""
    if seconds is None:
        return ""
    whole = round(seconds)
    if whole < 60:
        # timestamps are whole seconds; a fraction is shown only when there is one
        return f"{seconds:.1f}s" if seconds < 10 and seconds != whole else f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def format_metric(value: Metric | None) -> str:
    """Numbers in at most 6 significant digits; booleans as true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


# ---------------------------------------------------------------------------------------
# Sorting


def sort_rows(view: SweepView, key: str | None) -> list[PointRow]:
    """The rows sorted by ``key``: a metric, a parameter, or ``run_seconds``/``attempts``/
    ``state``; ``-key`` for descending. Rows without a value go last either way; numbers
    sort before text. Ties keep the sweep's order. No key: the sweep's order."""
    rows = list(view.rows)
    if not key:
        return rows
    descending = key.startswith("-")
    name = key[1:] if descending else key
    value_of = _sort_value(view, name)
    present = [row for row in rows if value_of(row) is not None]
    missing = [row for row in rows if value_of(row) is None]
    numbers = [row for row in present if is_number(value_of(row))]
    texts = [row for row in present if not is_number(value_of(row))]
    numbers.sort(key=lambda row: value_of(row), reverse=descending)
    texts.sort(key=lambda row: str(value_of(row)), reverse=descending)
    return numbers + texts + missing


def _sort_value(view: SweepView, name: str) -> Callable[[PointRow], Any]:
    if name in view.parameters:
        numeric = all(_as_number(value) is not None for row in view.rows
                      for param, value in row.params if param == name)  # fmt: skip

        def parameter(row: PointRow) -> Any:
            value = dict(row.params).get(name)
            return _as_number(value) if numeric and value is not None else value

        return parameter
    if name in ("run_seconds", "attempts", "state", "exit_code"):
        return lambda row: getattr(row, name)
    if name in view.metric_names:

        def metric(row: PointRow) -> Any:
            value = row.metrics.get(name)
            return int(value) if isinstance(value, bool) else value

        return metric
    choices = [*view.parameters, "run_seconds", "attempts", "exit_code", "state",
               *view.metric_names]  # fmt: skip
    from hpcrun.errors import did_you_mean

    hint = did_you_mean(name, choices) or f"choose one of: {', '.join(choices)}"
    raise UsageError(f"--sort {name}: no such metric or parameter in this sweep", hint)


def _as_number(text: str | None) -> float | None:
    try:
        number = float(text) if text is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


# ---------------------------------------------------------------------------------------
# Export


def row_json(row: PointRow) -> dict[str, Any]:
    """One point of ``--json``: every field documented in docs/sweeps.md."""
    return {
        "point": row.id,
        "label": row.label,
        "params": dict(row.params),
        "state": row.state,
        "attempts": row.attempts,
        "retries": row.retries,
        "retries_used": row.retries_used,
        "exit_code": row.exit_code,
        "job_id": row.job_id,
        "run_seconds": row.run_seconds,
        "metrics": dict(row.metrics),
        "log": row.log_path,
        "artifacts_dir": row.artifacts_dir,
    }


def to_json(view: SweepView, rows: Iterable[PointRow]) -> str:
    document = {
        "sweep": view.name,
        "workflow": view.workflow,
        "site": view.site,
        "parameters": list(view.parameters),
        "counts": view.counts(),
        "points": [row_json(row) for row in rows],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def csv_columns(view: SweepView) -> tuple[list[str], list[str]]:
    """(header, metric names in header order). A metric whose name is taken by a parameter
    or a fixed column is written as ``metric:NAME``."""
    taken = {*view.parameters, *FIXED_COLUMNS}
    metrics = view.metric_names
    headers = [f"metric:{name}" if name in taken else name for name in metrics]
    return [*view.parameters, *FIXED_COLUMNS, *headers], metrics


def to_csv(view: SweepView, rows: Iterable[PointRow]) -> str:
    header, metrics = csv_columns(view)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        params = dict(row.params)
        writer.writerow([
            *(params.get(name, "") for name in view.parameters),
            row.id, row.state, row.attempts, row.retries_used,
            "" if row.exit_code is None else row.exit_code,
            "" if row.run_seconds is None else round(row.run_seconds, 3),
            *(_csv_metric(row.metrics.get(name)) for name in metrics),
        ])  # fmt: skip
    return out.getvalue()


def _csv_metric(value: Metric | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def numeric_params(view: SweepView) -> dict[str, bool]:
    """Per parameter: whether every point's value is a finite number (a numeric axis)."""
    return {
        name: all(_as_number(dict(row.params).get(name)) is not None for row in view.rows)
        for name in view.parameters
    }


def param_number(value: str) -> float | None:
    return _as_number(value)


def param_values(view: SweepView, name: str) -> list[str]:
    """The distinct values of a parameter in first-seen (sweep) order."""
    seen: dict[str, None] = {}
    for row in view.rows:
        value = dict(row.params).get(name)
        if value is not None:
            seen.setdefault(value, None)
    return list(seen)


def view_from_state(state: Any, include_dropped: bool = False) -> SweepView:
    """The view of a ``hpcrun.store.SweepState`` (what ``Store.read_sweep`` returns). Points
    the spec no longer has are left out unless ``include_dropped``. The log shown is the
    fetched copy, else the job's own log when it is on this machine (the local site)."""
    sweep = state.sweep
    rows = []
    for point in state.points:
        if not point.in_spec and not include_dropped:
            continue
        log = point.local_log
        if log is None and point.log_path and os.path.exists(point.log_path):
            log = point.log_path
        rows.append(PointRow(
            id=point.point,
            params=tuple((name, str(point.params[name])) for name in sweep.parameters
                         if name in point.params),
            state=point.state, attempts=point.attempt, retries=point.retries_allowed,
            retries_used=point.retries_used,
            exit_code=point.exit_code, job_id=point.job_id, run_seconds=point.run_seconds,
            metrics=dict(point.metrics or {}), log_path=log, artifacts_dir=point.artifacts_dir,
        ))  # fmt: skip
    return SweepView(name=sweep.sweep, workflow=sweep.workflow, site=sweep.site,
                     parameters=tuple(sweep.parameters), rows=tuple(rows))  # fmt: skip
