"""``hpcrun validate [FILE]``: check a whole workflows file, list every problem."""

from __future__ import annotations

from pathlib import Path

import click

from hpcrun.cli.common import parse_vars, site_option, var_option


@click.command(short_help="Check a workflows file and list every problem.")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@site_option
@var_option
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON object: file, valid, problems, warnings.")  # fmt: skip
def validate(
    file: Path | None, site: str | None, variables: tuple[str, ...], as_json: bool
) -> None:
    """Check FILE (default: .dstack/workflows.yaml, then workflows.yaml). With --site, also
    check that every workflow fits that site (GPU names, partitions, Python versions)."""
    from hpcrun.ops.validate import validate_file

    if as_json:
        _validate_json(file, site, variables)
        return
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


def _validate_json(file: Path | None, site: str | None, variables: tuple[str, ...]) -> None:
    """``validate --json``: one object on stdout, also when the file cannot be read at all
    (then ``valid`` is empty); exit 2 when there are problems."""
    import json
    import sys

    from hpcrun.errors import SpecError
    from hpcrun.ops.validate import validate_file

    try:
        report = validate_file(file, site=site, variables=parse_vars(variables))
    except SpecError as exc:  # the file as a whole could not be read
        if not exc.problems:
            raise
        path, valid, problems, warnings = file, [], list(exc.problems), []
    else:
        path, valid, problems = report.path, report.valid, report.problems
        warnings = report.warnings
    click.echo(json.dumps({
        "file": None if path is None else str(path), "valid": list(valid),
        "problems": [p.to_json() for p in problems], "warnings": [w.to_json() for w in warnings],
    }, indent=2))  # fmt: skip
    if problems:
        sys.exit(SpecError.exit_code)
