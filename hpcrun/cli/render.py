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
def render(
    arguments: tuple[str, ...],
    site: str | None,
    variables: tuple[str, ...],
    check: bool,
    output_dir: Path | None,
    **knobs: Any,
) -> None:
    """Render WORKFLOW from FILE (default: .dstack/workflows.yaml, then workflows.yaml)
    into the sbatch script hpcrun would submit, resolved against SITE. Nothing connects
    unless --check asks the cluster (sbatch --test-only; nothing is queued)."""
    from hpcrun.ops.sweep_render import PreparedSweep, prepare_target
    from hpcrun.spec.overrides import Overrides

    file, workflow = file_and_workflow(arguments)
    overrides = Overrides(**knob_values(knobs))
    prepared = prepare_target(
        file, workflow, site=site, variables=parse_vars(variables), overrides=overrides
    )
    sweep = prepared if isinstance(prepared, PreparedSweep) else None
    for message in prepared.warnings:
        warn(message)
    if check:
        from hpcrun.ops.check_script import check_script
        from hpcrun.ops.session import Session

        with Session() as session:
            job = sweep.job if sweep else prepared
            click.secho(f"hpcrun: {check_script(session, job)}", err=True, fg="cyan")
    if output_dir is None:
        click.echo(prepared.script, nl=False)
        if sweep is not None:
            from hpcrun.sweep.table import TABLE_FILE

            click.echo(f"# ==> {TABLE_FILE}: {len(sweep.points)} points <==")
            click.echo(sweep.table, nl=False)
        return
    from hpcrun.safepaths import check_name, join_local

    # the file name comes from the workflows file: it must stay a plain name inside -o DIR
    name = check_name(prepared.plan.workflow, "workflow name")
    output_dir.mkdir(parents=True, exist_ok=True)
    target = join_local(output_dir, f"{name}.sbatch", what="output file")
    target.write_text(prepared.script, encoding="utf-8")
    click.echo(str(target))
    if sweep is not None:
        from hpcrun.sweep.table import TABLE_FILE

        table = join_local(output_dir, TABLE_FILE, what="output file")
        table.write_text(sweep.table, encoding="utf-8")
        click.echo(str(table))
