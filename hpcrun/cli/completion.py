"""Shell completion of hpcrun's own names: workflows (from the workflows file given earlier
on the command line, else ./.dstack/workflows.yaml or ./workflows.yaml), sites (the names
``--site`` finds) and runs and tags (from the local store).

Attached by parameter name (``add_completion``) when the lazy group loads a command, so
every command with a ``--site`` option or a ``RUN`` argument completes them without each
one repeating it. Completion runs at every Tab: it reads only local files, never connects,
creates nothing, and a failure completes to nothing rather than printing a traceback.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

Completer = Callable[[click.Context, click.Parameter, str], list[CompletionItem]]


def _never_fails(function: Completer) -> Completer:
    """Whatever goes wrong while completing (an unreadable file, a locked database) means
    nothing to offer: the shell must never show a traceback."""

    @functools.wraps(function)
    def completer(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        try:
            return function(ctx, param, incomplete)
        except Exception:
            return []

    return completer


def _matching(names: Iterable[str], incomplete: str, given: Iterable[str] = ()) -> list[Any]:
    taken = set(given)
    found = dict.fromkeys(n for n in names if n.startswith(incomplete) and n not in taken)
    return [CompletionItem(name) for name in found]


def _typed(ctx: click.Context, name: str) -> tuple[str, ...]:
    """The words already given to parameter ``name`` (nargs=-1: a tuple; else one)."""
    value = ctx.params.get(name)
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (tuple, list)) else (str(value),)


# ---------------------------------------------------------------- runs and tags


def run_names() -> list[str]:
    """Runs, newest first, then tags; nothing (and no database created) before the first
    run."""
    from hpcrun.paths import hpcrun_home

    if not (hpcrun_home() / "hpcrun.db").is_file():
        return []
    from hpcrun.store import default_store

    store = default_store()
    try:
        names = [record.run for record in store.list_runs()]
        names += [tag for tag, _ in store.all_tags()]
    finally:
        store.close()
    return names


@_never_fails
def complete_runs(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    given = _typed(ctx, param.name or "") if param.nargs == -1 else ()
    return _matching(run_names(), incomplete, given)


# ---------------------------------------------------------------- sites


def site_names() -> list[str]:
    """The names ``--site NAME`` finds, in the order it looks for them."""
    from hpcrun.paths import site_search_dirs

    names: list[str] = []
    for folder in site_search_dirs():
        if folder.is_dir():
            names += sorted(p.stem for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))
    return list(dict.fromkeys(names))


@_never_fails
def complete_sites(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    if "/" in incomplete or incomplete.startswith((".", "~")):
        return [CompletionItem(incomplete, type="file")]  # --site also takes a YAML path
    return _matching(site_names(), incomplete)


# ---------------------------------------------------------------- workflows

_DEFAULT_FILES = (Path(".dstack") / "workflows.yaml", Path("workflows.yaml"))


def workflow_names(file: Path) -> list[str]:
    """The ``name:`` of each workflow in ``file`` (nothing if it cannot be read)."""
    from hpcrun.yamlsource import read_yaml

    data = read_yaml(file).data
    workflows = data.get("workflows") if isinstance(data, dict) else None
    if not isinstance(workflows, list):
        return []
    return [str(w["name"]) for w in workflows if isinstance(w, dict) and w.get("name")]


def workflows_file(words: Iterable[str], cwd: Path | None = None) -> Path | None:
    """The workflows file given before (a ``.yaml``/``.yml`` word naming a file), else the
    default one in ``cwd``."""
    for word in words:
        if word.endswith((".yaml", ".yml")) and Path(word).expanduser().is_file():
            return Path(word).expanduser()
    here = cwd or Path(os.getcwd())
    return next((here / f for f in _DEFAULT_FILES if (here / f).is_file()), None)


@_never_fails
def complete_workflows(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """``[FILE] WORKFLOW``: workflow names, or the files (a workflows file, a project
    folder, a Python file) when no name matches."""
    words = _typed(ctx, param.name or "")
    file = workflows_file(words)
    names = _matching(workflow_names(file), incomplete) if file is not None else []
    if names or len(words) >= 2:
        return names
    return [CompletionItem(incomplete, type="file")]


# ---------------------------------------------------------------- attaching them

_BY_NAME: dict[str, Completer] = {
    "run": complete_runs,
    "runs": complete_runs,
    "site": complete_sites,
    "arguments": complete_workflows,  # submit, render, sweep: [FILE] WORKFLOW
}


def add_completion(command: click.Command) -> click.Command:
    """Give ``command``'s (and its subcommands') parameters their completer by name,
    unless one is already set. (click keeps the ``shell_complete=`` argument of a
    parameter as ``_custom_shell_complete``; setting it later is the same thing.)"""
    for param in command.params:
        completer = _BY_NAME.get(param.name or "")
        if isinstance(param, click.Argument) and (param.metavar or "").strip("[]") == "SITE":
            completer = complete_sites  # `hpcrun site check SITE`
        if completer is not None and getattr(param, "_custom_shell_complete", None) is None:
            param._custom_shell_complete = completer
    if isinstance(command, click.Group) and not getattr(command, "_completing", False):
        _complete_subcommands(command)
    return command


def _complete_subcommands(group: click.Group) -> None:
    """Subcommands get theirs as the group hands them out (some groups, like `sweep`,
    load them lazily or keep one out of their list). Only in a completing process."""
    original = group.get_command

    def get_command(ctx: click.Context, name: str) -> click.Command | None:
        found = original(ctx, name)
        return add_completion(found) if found is not None else None

    group.get_command = get_command  # type: ignore[method-assign]
    group._completing = True  # type: ignore[attr-defined]
