"""``hpcrun site new NAME``: write a site config; ``hpcrun site check SITE``: check one
against the live cluster."""

from __future__ import annotations

import sys
from typing import Any

import click


@click.group(short_help="Site configs.")
def site() -> None:
    """Work with site configs: write your own from a shipped one (new), check it against
    the live cluster (check)."""


def _complete_shipped(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """--from completes to the shipped configs' names (reads one folder; never fails)."""
    from click.shell_completion import CompletionItem

    try:
        from hpcrun.ops.site_new import shipped_sites

        return [CompletionItem(s.name) for s in shipped_sites() if s.name.startswith(incomplete)]
    except Exception:
        return []


@site.command(short_help="Write a new site config, copied from a shipped one.")
@click.argument("name", required=False)
@click.option("--from", "source", default="slurm-generic", show_default=True,
              metavar="SHIPPED", shell_complete=_complete_shipped,
              help="The shipped config to copy (the names --list prints).")  # fmt: skip
@click.option("--force", is_flag=True, help="Overwrite NAME's config if it exists.")
@click.option("--list", "list_shipped", is_flag=True,
              help="List the shipped configs and what each one models, then exit.")  # fmt: skip
def new(name: str | None, source: str, force: bool, list_shipped: bool) -> None:
    """Write the site config NAME.yaml, a copy of the shipped config SHIPPED with its
    `name:` set to NAME (comments kept), into the first folder `--site NAME` searches:
    $HPCRUN_CONFIG_DIR/sites if HPCRUN_CONFIG_DIR is set, else
    $XDG_CONFIG_HOME/hpcrun/sites (~/.config/hpcrun/sites). Print the path written, so
    `$(hpcrun site new NAME)` is the file to edit; then run `hpcrun site check NAME`.

    NAME is 1 to 64 characters from A-Z a-z 0-9 . _ -, starting with a letter or a digit.
    An existing config is never overwritten without --force."""
    from hpcrun.errors import UsageError
    from hpcrun.ops.site_new import new_site, shipped_sites

    if list_shipped:
        shipped = shipped_sites()
        width = max((len(s.name) for s in shipped), default=0)
        for item in shipped:
            click.echo(f"{item.name:<{width}}  {item.summary or '(no description)'}".rstrip())
        return
    if name is None:
        raise UsageError(
            "NAME is missing: which site config to write?",
            "e.g. `hpcrun site new mycluster`; `--list` shows what --from takes",
        )
    written = new_site(name, source, force=force)
    click.echo(str(written.path))
    if written.shadows is not None:
        click.echo(f"hpcrun: note: --site {name} now finds this file, not {written.shadows}",
                   err=True)  # fmt: skip
    if written.local:
        click.echo(f"hpcrun: next: edit {written.path} if you want other defaults, then run "
                   f"`hpcrun site check {name}`", err=True)  # fmt: skip
    else:
        click.echo(f"hpcrun: next: edit {written.path} (login, partitions, modules, defaults: "
                   f"its comments say where each value comes from), then run "
                   f"`hpcrun site check {name}`", err=True)  # fmt: skip


@site.command(short_help="Check a site config against the live cluster.")
@click.argument("name", metavar="[SITE]", required=False)
@click.option("--json", "as_json", is_flag=True,
              help="A JSON array, one object per check: name, status, detail, hint.")  # fmt: skip
@click.option(
    "--deep",
    is_flag=True,
    help="Also submit a tiny test job: does the Python module load on a compute "
    "node, does that node reach the package index?",
)
@click.option(
    "--deep-timeout",
    type=click.IntRange(min=10),
    default=300,
    show_default=True,
    metavar="SECONDS",
    help="How long --deep waits for its job (then cancels it).",
)
def check(name: str | None, as_json: bool, deep: bool, deep_timeout: int) -> None:
    """Connect to SITE (default: $HPCRUN_SITE, else local) and check what its config
    claims: a clean login shell, the Slurm version, MaxArraySize, partitions, GPU gres
    types, the largest node and MaxTime of each partition against defaults.time,
    modules.init, the Python modules and the remote root. Exit 1 if a check fails
    ("warn" lines do not)."""
    from hpcrun.ops.session import Session
    from hpcrun.ops.site_check import check_site

    with Session() as session:
        checks = check_site(session, name, deep=deep, deep_wait=deep_timeout)
    if as_json:
        import json

        click.echo(json.dumps([{"name": c.name, "status": _status(c), "detail": c.detail,
                                "hint": c.hint} for c in checks], indent=2))  # fmt: skip
        checks_shown: list = []
    else:
        checks_shown = checks
    for item in checks_shown:
        mark = click.style("ok  ", fg="green") if item.ok else click.style("FAIL", fg="red")
        if item.ok and item.warning:
            mark = click.style("warn", fg="yellow")
        click.echo(f"{mark} {item.name}: {item.detail}")
        if item.hint:
            click.echo(f"       hint: {item.hint}")
    if not all(item.ok for item in checks):
        sys.exit(1)


def _status(item: object) -> str:
    """``ok``, ``warn`` (ok, but worth reading) or ``fail``."""
    if not getattr(item, "ok", False):
        return "fail"
    return "warn" if getattr(item, "warning", False) else "ok"
