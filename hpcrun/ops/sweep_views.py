"""Find a sweep in the store and make the views' model of it (``hpcrun sweep status`` and
``hpcrun sweep report``). Reads only: never connects, never takes the tick's lock."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcrun.errors import UsageError


@dataclass(frozen=True)
class LoadedSweep:
    view: Any  # hpcrun.sweep.results.SweepView
    record: Any  # hpcrun.store.SweepRecord
    summary: str  # the tick's one-line summary, computed afresh from the store


def _same_folder(recorded: str, root: Path) -> bool:
    try:
        return Path(recorded).resolve() == root.resolve()
    except OSError:
        return False


def load_sweep(file: Path | None, workflow: str, site: str | None) -> LoadedSweep:
    """The sweep of ``workflow`` in the project of ``file`` (default: the workflows file
    of the current folder) on ``site`` (default: $HPCRUN_SITE, else local), as the cron
    tick recorded it. The workflows file is not parsed: a file being edited still shows."""
    from hpcrun.ops.prepare import resolve_workflows_file
    from hpcrun.site.load import load_site
    from hpcrun.spec.load import project_root_of
    from hpcrun.store import default_store
    from hpcrun.sweep.progress import count, summary_line, sweep_name
    from hpcrun.sweep.results import view_from_state

    root = project_root_of(resolve_workflows_file(file)).resolve()
    site_model, _ = load_site(site)
    site_name = str(site_model.name)
    with default_store() as store:
        state = store.read_sweep(sweep_name(workflow, site_name, str(root)))
        if state is None:
            elsewhere = sorted({r.site for r in store.find_sweeps(workflow=workflow)
                                if _same_folder(r.project_root, root)})  # fmt: skip
    if state is None:
        hint = f"start it with `hpcrun sweep {workflow}` (one tick submits its points)"
        if elsewhere:
            hint = f"it has run on site {', '.join(elsewhere)}: add --site {elsewhere[0]}"
        raise UsageError(f"no sweep of workflow '{workflow}' on site '{site_name}' in {root}",
                         hint)  # fmt: skip
    summary = summary_line(count(state.points, state.sweep.retries))
    return LoadedSweep(view_from_state(state), state.sweep, summary)


def default_report_path(record: Any) -> Path:
    """``<dest>/report.html`` next to the fetched points (short relative links), else
    ``<sweep>-report.html`` in the current folder."""
    if record.dest:
        return Path(record.dest) / "report.html"
    return Path(f"{record.sweep}-report.html")


def write_report(loaded: LoadedSweep, html_path: Path, sort: str | None = None) -> Path:
    """Render the report and write it in one step (a reader never sees half a file)."""
    from hpcrun.sweep.report import render_report
    from hpcrun.sweep.results import sort_rows

    rows = sort_rows(loaded.view, sort)
    text = render_report(loaded.view, rows, html_path)
    folder = html_path.absolute().parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".report-", suffix=".html", dir=folder)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, html_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return html_path
