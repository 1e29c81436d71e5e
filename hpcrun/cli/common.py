"""Arguments shared by several commands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from hpcrun.errors import UsageError


def site_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--site",
        "site",
        metavar="SITE",
        default=None,
        help="Site config: a YAML path or a name (default: $HPCRUN_SITE, else 'local').",
    )(function)


def run_site_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--site`` on commands about recorded runs: by default each run uses the config it
    was submitted with (recorded with it); SITE points it at a new one."""
    return click.option(
        "--site",
        "site",
        metavar="SITE",
        default=None,
        help="Point the run at this site config (a YAML path or a name) when its login "
        "changed; kept for later commands. Default: the config recorded with the run.",
    )(function)


def var_option(function: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--var",
        "variables",
        metavar="NAME=VALUE",
        multiple=True,
        help="Set a ${{ NAME }} variable (overrides .dstack/variables.yaml). Repeatable.",
    )(function)


def parse_vars(items: Sequence[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(
                f"--var '{item}' is not NAME=VALUE", f"write e.g. --var {item or 'gpu'}=1"
            )
        result[name.strip()] = value
    return result


def file_and_workflow(arguments: Sequence[str]) -> tuple[Path | None, str]:
    """``[FILE] WORKFLOW``: one argument is the workflow, two are file then workflow."""
    if len(arguments) == 1:
        return None, arguments[0]
    if len(arguments) == 2:
        return Path(arguments[0]), arguments[1]
    raise UsageError(
        "expected [FILE] WORKFLOW",
        "e.g. hpcrun render workflows.yaml train, or hpcrun render train",
    )


def warn(message: str) -> None:
    click.secho(f"warning: {message}", fg="yellow", err=True)


def site_runs(session: Any, site: str) -> list[Any]:
    """``--site``: the runs of that site, pointed at that config (ops.repoint); runs that
    keep their own config are named in a warning."""
    from hpcrun.ops.repoint import point_site_runs

    outcome = point_site_runs(session, site)
    for why in outcome.refused:
        warn(f"{why}; it keeps its own config")
    return outcome.records


def warn_unsafe_links(names: Sequence[str]) -> None:
    """One warning per symlink an artifact fetch refused to recreate."""
    for name in names:
        warn(f"not fetched: {name} is a symlink pointing outside the artifacts folder")


def warn_missing_artifacts(run: str, paths: Sequence[str]) -> None:
    """One warning naming the declared artifact paths the job did not create."""
    if paths:
        many = len(paths) > 1
        warn(f"{run}: declared artifact{'s' if many else ''} {', '.join(paths)} "
             f"{'were' if many else 'was'} not created by the job (nothing to fetch)")  # fmt: skip


def note(message: str) -> None:
    """hpcrun's own progress lines, on stderr so stdout stays the job's output."""
    click.secho(f"hpcrun: {message}", err=True, fg="cyan")


def human_size(count: float) -> str:
    if count < 1024:
        return f"{count:.0f} B"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024 or unit == "GiB":
            break
    return f"{count:.1f} {unit}"


def exit_code_of(record: Any) -> int:
    """The CLI's exit code for a finished run: the job's own, else 1 for any failure."""
    if record.state == "completed":
        return 0
    if record.exit_code:
        return int(record.exit_code) if 0 < int(record.exit_code) < 256 else 1
    return 1
