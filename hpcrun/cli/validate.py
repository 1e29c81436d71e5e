"""``hpcrun validate [FILE]``: check a whole workflows file, list every problem."""

from __future__ import annotations

from pathlib import Path

import click

from hpcrun.cli.common import parse_vars, site_option, var_option


@click.command(short_help="Check a workflows file and list every problem.")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@site_option
@var_option
def validate(file: Path | None, site: str | None, variables: tuple[str, ...]) -> None:
    """Check FILE (default: .dstack/workflows.yaml, then workflows.yaml). With --site, also
    check that every workflow fits that site (GPU names, partitions, Python versions)."""
    from hpcrun.ops.validate import validate_file

    report = validate_file(file, site=site, variables=parse_vars(variables))
    for name in report.valid:
        click.echo(f"ok       {name}")
    for warning in report.warnings:
        click.echo(f"warning: {warning.render()}", err=True)
    for problem in report.problems:
        click.echo(problem.render(), err=True)
    if report.problems:
        from hpcrun.errors import SpecError

        count = len(report.problems)
        raise SpecError([], f"{report.path}: {count} problem{'s' * (count != 1)}")
    click.echo(f"{report.path}: {len(report.valid)} workflow(s), no problems")
