"""``hpcrun render [FILE] WORKFLOW``: print the batch script; connects only with --check."""

from __future__ import annotations

from pathlib import Path

import click

from hpcrun.cli.common import file_and_workflow, parse_vars, site_option, var_option, warn


@click.command(short_help="Print the batch script a workflow would submit.")
@click.argument("arguments", nargs=-1, required=True, metavar="[FILE] WORKFLOW")
@site_option
@var_option
@click.option("--check", is_flag=True, help="Ask the live cluster whether sbatch would accept it.")
@click.option(
    "-o", "--output", "output_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Write WORKFLOW.sbatch into this folder instead of printing it.",
)  # fmt: skip
def render(
    arguments: tuple[str, ...],
    site: str | None,
    variables: tuple[str, ...],
    check: bool,
    output_dir: Path | None,
) -> None:
    """Render WORKFLOW from FILE (default: .dstack/workflows.yaml, then workflows.yaml)
    into the sbatch script hpcrun would submit, resolved against SITE. Nothing connects
    unless --check asks the cluster (sbatch --test-only; nothing is queued)."""
    from hpcrun.ops.prepare import prepare

    file, workflow = file_and_workflow(arguments)
    prepared = prepare(file, workflow, site=site, variables=parse_vars(variables))
    for message in prepared.warnings:
        warn(message)
    if check:
        from hpcrun.ops.check_script import check_script
        from hpcrun.ops.session import Session

        with Session() as session:
            click.secho(f"hpcrun: {check_script(session, prepared)}", err=True, fg="cyan")
    if output_dir is None:
        click.echo(prepared.script, nl=False)
        return
    from hpcrun.safepaths import check_name, join_local

    # the file name comes from the workflows file: it must stay a plain name inside -o DIR
    name = check_name(prepared.plan.workflow, "workflow name")
    output_dir.mkdir(parents=True, exist_ok=True)
    target = join_local(output_dir, f"{name}.sbatch", what="output file")
    target.write_text(prepared.script, encoding="utf-8")
    click.echo(str(target))
