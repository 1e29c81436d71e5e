"""``hpcrun submit``: send a workflow (or a project folder/zip) to a site and follow it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from hpcrun.cli.common import (
    exit_code_of,
    human_size,
    note,
    parse_vars,
    site_option,
    var_option,
    warn,
)


class TrailingArgsCommand(click.Command):
    """Everything after ``--`` goes to the program, untouched by option parsing."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            at = args.index("--")
            ctx.meta["program_args"] = tuple(args[at + 1 :])
            args = args[:at]
        return super().parse_args(ctx, args)


def _target(arguments: tuple[str, ...]) -> tuple[Path | None, str | None]:
    from hpcrun.errors import UsageError
    from hpcrun.project import is_project_path
    from hpcrun.spec.load import DEFAULT_FILES

    if len(arguments) == 1:
        name = arguments[0]
        path = Path(name)
        looks_like_path = "/" in name or path.suffix.lower() == ".zip"
        has_default_file = any(p.is_file() for p in DEFAULT_FILES)
        if not is_project_path(path) or (has_default_file and not looks_like_path):
            return None, name  # a workflow of ./.dstack/workflows.yaml or ./workflows.yaml
        inner = [path / p for p in DEFAULT_FILES if (path / p).is_file()]
        if inner:
            raise UsageError(
                f"{path} holds {inner[0].relative_to(path)}: name the workflow to run",
                f"hpcrun submit {inner[0]} WORKFLOW",
            )
        return path, None
    if len(arguments) == 2:
        return Path(arguments[0]), arguments[1]
    raise UsageError(
        "expected [FILE] WORKFLOW, or a project folder or zip",
        "e.g. hpcrun submit workflows.yaml train, or hpcrun submit ./my-project/",
    )


@click.command(cls=TrailingArgsCommand, short_help="Submit a workflow and follow it.")
@click.argument("arguments", nargs=-1, required=True, metavar="[FILE] WORKFLOW | PROJECT")
@site_option
@var_option
@click.option("-d", "--detach", is_flag=True, help="Return once submitted; print the run name.")
@click.option(
    "--dry-run", is_flag=True, help="Print the script that would be submitted; send nothing."
)
@click.option("--python", "version", metavar="X.Y", help="Python version (overrides 'version:').")
@click.option("-r", "--requirements", help="Requirements file (overrides the workflow's).")
@click.option(
    "-e",
    "--env",
    "env",
    multiple=True,
    metavar="NAME=VALUE",
    help="Environment variable. Repeatable.",
)
@click.option(
    "-a",
    "--artifact",
    "artifacts",
    multiple=True,
    metavar="PATH",
    help="Extra artifact path. Repeatable.",
)
@click.option("--working-dir", help="Working directory, relative to the project.")
@click.option(
    "-i",
    "--interruptible",
    is_flag=True,
    default=None,
    help="Run on the preemptible partition, requeued when preempted.",
)
@click.option("--cpu", type=click.IntRange(min=1), help="CPUs (--cpus-per-task).")
@click.option("--memory", metavar="SIZE", help="Memory, e.g. 16GB.")
@click.option("--gpu", type=click.IntRange(min=0), help="Number of GPUs.")
@click.option("--gpu-name", metavar="NAME", help="GPU model, e.g. A100.")
@click.option("--gpu-memory", metavar="SIZE", help="Minimum GPU memory, e.g. 40GB.")
@click.option("--shm-size", metavar="SIZE", help="Shared memory (/dev/shm), added to --memory.")
@click.option("--input", "inputs", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A folder uploaded to the job's INPUT_FOLDER.")  # fmt: skip
@click.pass_context
def submit(
    ctx: click.Context,
    arguments: tuple[str, ...],
    site: str | None,
    variables: tuple[str, ...],
    detach: bool,
    dry_run: bool,
    inputs: Path | None,
    **flags: Any,
) -> None:
    """Submit WORKFLOW from FILE (default: .dstack/workflows.yaml, then workflows.yaml), or a
    project folder or zip (main.py + requirements.txt), to SITE. Stays attached: streams
    the output, fetches the artifacts at the end and exits with the job's exit code.
    Arguments after -- go to the program."""
    from hpcrun.ops.session import Session
    from hpcrun.ops.submit import SubmitRequest
    from hpcrun.ops.submit import dry_run as render_dry_run
    from hpcrun.ops.submit import submit as do_submit
    from hpcrun.spec.overrides import Overrides

    path, workflow = _target(arguments)
    program_args = ctx.meta.get("program_args")
    overrides = Overrides(
        requirements=flags["requirements"], env=flags["env"], artifacts=flags["artifacts"],
        working_dir=flags["working_dir"], interruptible=flags["interruptible"], cpu=flags["cpu"],
        memory=flags["memory"], gpu=flags["gpu"], gpu_name=flags["gpu_name"],
        gpu_memory=flags["gpu_memory"], shm_size=flags["shm_size"], args=program_args,
        version=flags["version"],
    )  # fmt: skip
    request = SubmitRequest(path, workflow, site, parse_vars(variables), overrides, inputs)
    with Session() as session:
        if dry_run:
            prepared = render_dry_run(session, request)
            for message in prepared.warnings:
                warn(message)
            click.echo(prepared.script, nl=False)
            return
        submitted = do_submit(session, request)
        for message in submitted.prepared.warnings:
            warn(message)
        record = submitted.record
        for up in submitted.upstream:
            how = "waits for" if up.chained else "uses the artifacts of"
            note(f"{record.run} {how} {up.record.run} ({up.record.workflow})")
        note(f"submitted {record.run} to {record.site} (job {record.job_id}, "
             f"{human_size(submitted.bytes_sent)} uploaded)")  # fmt: skip
        if detach:
            click.echo(record.run)
            return
        sys.exit(attach(session, record.run))


def attach(session: Any, run: str) -> int:
    """Follow to the end, fetch the artifacts; the exit code to leave with."""
    from hpcrun.errors import EXIT_INTERRUPTED
    from hpcrun.ops.artifacts import fetch_artifacts
    from hpcrun.ops.follow import follow

    try:
        record = follow(session, run, sys.stdout.buffer, on_event=note)
    except KeyboardInterrupt:
        note(f"detached; {run} keeps running. Re-attach with: hpcrun logs {run} -f")
        return EXIT_INTERRUPTED
    dest, received = fetch_artifacts(session, record)
    note(f"{run} ended {record.state}" + (f" (exit code {record.exit_code})"
         if record.exit_code is not None else ""))  # fmt: skip
    note(f"artifacts of {run} are in {dest} ({human_size(received)} fetched)")
    return exit_code_of(record)
