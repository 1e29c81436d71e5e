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
