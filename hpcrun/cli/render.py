"""``hpcrun render [FILE] WORKFLOW``: print the batch script; connects only with --check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hpcrun.cli.common import file_and_workflow, parse_vars, site_option, var_option, warn
from hpcrun.cli.knobs import knob_options, knob_values


@click.command(short_help="Print the batch script a workflow would submit.")
@click.argument("arguments", nargs=-1, required=True, metavar="[FILE] WORKFLOW")
@site_option
@var_option
@knob_options
@click.option("--check", is_flag=True, help="Ask the live cluster whether sbatch would accept it "
              "(and whether it fits a node and its partition's MaxTime).")  # fmt: skip
@click.option(
    "-o", "--output", "output_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Write WORKFLOW.sbatch into this folder instead of printing it (a sweep: also "
         "its point table, points.tsv).",
)  # fmt: skip
@click.option(
    "--json", "as_json", is_flag=True,
    help="With --check: print what the cluster said as a JSON object {workflow, site, "
         "accepted, message, hint, files} instead of the script.",
)  # fmt: skip
def render(
    arguments: tuple[str, ...],
    site: str | None,
    variables: tuple[str, ...],
    check: bool,
    output_dir: Path | None,
    as_json: bool,
    **knobs: Any,
) -> None:
    """Render WORKFLOW from FILE (default: .dstack/workflows.yaml, then workflows.yaml)
    into the sbatch script hpcrun would submit, resolved against SITE. Nothing connects
    unless --check asks the cluster (sbatch --test-only; nothing is queued)."""
    from hpcrun.ops.sweep_render import PreparedSweep, prepare_target
    from hpcrun.spec.overrides import Overrides

    if as_json and not check:
        from hpcrun.errors import UsageError

        raise UsageError("--json goes with --check", "the script itself is text: drop --json")
    file, workflow = file_and_workflow(arguments)
    overrides = Overrides(**knob_values(knobs))
    prepared = prepare_target(
        file, workflow, site=site, variables=parse_vars(variables), overrides=overrides
    )
    sweep = prepared if isinstance(prepared, PreparedSweep) else None
    for message in prepared.warnings:
        warn(message)
    if as_json:
        _check_as_json(prepared, sweep, output_dir)
        return
    if check:
        from hpcrun.ops.check_script import check_script
        from hpcrun.ops.session import Session

        with Session() as session:
            job = sweep.job if sweep else prepared
            click.secho(f"hpcrun: {check_script(session, job)}", err=True, fg="cyan")
    _emit(prepared, sweep, output_dir, echo=True)


def _emit(prepared: Any, sweep: Any, output_dir: Path | None, *, echo: bool) -> list[Path]:
    """Print the script (and a sweep's table), or write them into ``output_dir`` (printing
    the files' paths when ``echo``); the files written."""
    if output_dir is None:
        click.echo(prepared.script, nl=False)
        if sweep is not None:
            from hpcrun.sweep.table import TABLE_FILE

            click.echo(f"# ==> {TABLE_FILE}: {len(sweep.points)} points <==")
            click.echo(sweep.table, nl=False)
        return []
    from hpcrun.safepaths import check_name, join_local

    # the file name comes from the workflows file: it must stay a plain name inside -o DIR
    name = check_name(prepared.plan.workflow, "workflow name")
    output_dir.mkdir(parents=True, exist_ok=True)
    target = join_local(output_dir, f"{name}.sbatch", what="output file")
    target.write_text(prepared.script, encoding="utf-8")
    written = [target]
    if sweep is not None:
        from hpcrun.sweep.table import TABLE_FILE

        table = join_local(output_dir, TABLE_FILE, what="output file")
        table.write_text(sweep.table, encoding="utf-8")
        written.append(table)
    if echo:
        for path in written:
            click.echo(str(path))
    return written


def _check_as_json(prepared: Any, sweep: Any, output_dir: Path | None) -> None:
    """``render --check --json``: the verdict as one JSON object on stdout; with -o, the
    files are written only if the script was accepted (as without --json)."""
    import json
    import sys

    from hpcrun.ops.check_script import check_verdict
    from hpcrun.ops.session import Session

    job = sweep.job if sweep else prepared
    with Session() as session:
        verdict = check_verdict(session, job)
    written = (
        _emit(prepared, sweep, output_dir, echo=False) if verdict.accepted and output_dir else []
    )
    data = verdict.to_json(job.plan.workflow, job.site.name, [str(p) for p in written])
    click.echo(json.dumps(data, indent=2))
    sys.exit(verdict.exit_code)
