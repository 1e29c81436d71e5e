"""``hpcrun site check SITE``: check a site config against the live cluster."""

from __future__ import annotations

import sys

import click


@click.group(short_help="Site configs.")
def site() -> None:
    """Work with site configs."""


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
