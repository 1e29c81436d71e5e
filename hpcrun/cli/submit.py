"""``hpcrun submit``: send a workflow (or a project folder/zip) to a site and follow it."""

from __future__ import annotations

import json
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
    warn_missing_artifacts,
    warn_unsafe_links,
)
from hpcrun.cli.knobs import knob_options, knob_values


class TrailingArgsCommand(click.Command):
    """The program's words (after FILE.py, and after ``--``) are kept from option parsing;
    the rule is in ``hpcrun.cli.program_args``."""

    file_only = False  # `run python FILE`: the first word is the file, whatever its name

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        from hpcrun.cli.program_args import option_table, split_program_args

        options = option_table(self.get_params(ctx))
        args, program = split_program_args(args, options, file_only=self.file_only)
        if program is not None:
            ctx.meta["program_args"] = tuple(program)
        return super().parse_args(ctx, args)


def _target(arguments: tuple[str, ...], file_only: bool) -> tuple[Path | None, str | None]:
    from hpcrun.ops.target_choice import choose_target

    choice = choose_target(arguments, file_only=file_only)
    return choice.path, choice.workflow


@click.command(cls=TrailingArgsCommand, short_help="Submit a workflow and follow it.")
@click.argument(
    "arguments", nargs=-1, required=True, metavar="[FILE] WORKFLOW | PROJECT | FILE.py [ARGS]..."
)
@site_option
@var_option
@click.option("-d", "--detach", is_flag=True, help="Return once submitted; print the run name.")
@click.option("--json", "as_json", is_flag=True,
              help="With -d: print the run's record as JSON (as ps --json does).")  # fmt: skip
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
@click.option("--rebuild-env", is_flag=True, default=None,
              help="Build the Python environment afresh; later runs reuse it.")  # fmt: skip
@knob_options
@click.option("--input", "inputs", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="A folder uploaded to the job's INPUT_FOLDER.")  # fmt: skip
@click.pass_context
def submit(
    ctx: click.Context,
    arguments: tuple[str, ...],
    site: str | None,
    variables: tuple[str, ...],
    detach: bool,
    as_json: bool,
    dry_run: bool,
    inputs: Path | None,
    **flags: Any,
) -> None:
    """Submit WORKFLOW from FILE (default: .dstack/workflows.yaml, then workflows.yaml), a
    project folder or zip (main.py + requirements.txt), or a Python file (like dstack's
    `run python FILE.py ARGS`: after the file, options hpcrun does not know go to the
    program, and so does everything after --), to SITE. Stays attached: streams
    the output, fetches the artifacts at the end and exits with the job's exit code; a lost
    connection is retried for up to $HPCRUN_RECONNECT_TIMEOUT seconds (default 600), then
    it exits with 75 (the job may still be running). Arguments after -- go to the program."""
    from hpcrun.cli.terminal import upload_feedback
    from hpcrun.ops.session import Session
    from hpcrun.ops.submit import SubmitRequest

    if as_json and not detach:
        from hpcrun.errors import UsageError

        raise UsageError("--json needs -d/--detach", "e.g. hpcrun submit -d --json WORKFLOW")
    path, workflow = _target(arguments, getattr(ctx.command, "file_only", False))
    overrides = overrides_from_flags(flags, ctx.meta.get("program_args"))
    request = SubmitRequest(path, workflow, site, parse_vars(variables), overrides, inputs)
    with Session(upload_feedback=upload_feedback()) as session:
        send(session, request, detach=detach, dry_run=dry_run, as_json=as_json)


def send(
    session: Any,
    request: Any,
    *,
    detach: bool,
    dry_run: bool,
    as_json: bool,
    again: str | None = None,
) -> None:
    """Show (--dry-run) or submit ``request``, then print the run or follow it to the end
    and exit with its code. Shared by ``submit`` and ``rerun`` (``again``: the run it
    repeats)."""
    from hpcrun.ops.submit import dry_run as render_dry_run
    from hpcrun.ops.submit import submit as do_submit

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
    repeats = f" (again {again})" if again else ""
    note(f"submitted {record.run}{repeats} to {record.site} (job {record.job_id}, "
         f"{human_size(submitted.bytes_sent)} uploaded)")  # fmt: skip
    if detach:
        click.echo(json.dumps(record.to_json(), indent=2) if as_json else record.run)
        return
    sys.exit(attach(session, record.run))


def overrides_from_flags(flags: dict[str, Any], program_args: tuple[str, ...] | None) -> Any:
    """The ``Overrides`` that submit's option values (and the program's words) say
    (shared with ``rerun``, whose options are submit's)."""
    from hpcrun.spec.overrides import Overrides

    return Overrides(
        requirements=flags["requirements"], env=flags["env"], artifacts=flags["artifacts"],
        working_dir=flags["working_dir"], interruptible=flags["interruptible"], cpu=flags["cpu"],
        memory=flags["memory"], gpu=flags["gpu"], gpu_name=flags["gpu_name"],
        gpu_memory=flags["gpu_memory"], shm_size=flags["shm_size"], args=program_args,
        version=flags["version"], rebuild_env=flags["rebuild_env"], **knob_values(flags),
    )  # fmt: skip


def attach(session: Any, run: str) -> int:
    """Follow to the end, fetch the artifacts; the exit code to leave with."""
    from hpcrun.errors import EXIT_INTERRUPTED
    from hpcrun.ops.artifacts import fetch_artifacts
    from hpcrun.ops.follow import follow
    from hpcrun.ops.reconnect import Reconnecting

    try:
        record = follow(session, run, sys.stdout.buffer, on_event=note)
    except KeyboardInterrupt:
        note(f"detached; {run} keeps running. Re-attach with: hpcrun logs {run} -f")
        return EXIT_INTERRUPTED
    site = session.site_of(record)
    reconnecting = Reconnecting(
        site.login.host if site.login else site.name,
        f"{run} ended {record.state} but its artifacts were not fetched",
        f"fetch them with: hpcrun artifacts {run}",
        note,
    )  # the job has ended: a dropped connection only delays the fetch (it resumes)
    fetched = reconnecting.call(lambda: fetch_artifacts(session, record))
    dest, received = fetched.folder, fetched.received
    warn_unsafe_links(fetched.unsafe_links)
    warn_missing_artifacts(run, fetched.missing)
    note(f"{run} ended {record.state}" + (f" (exit code {record.exit_code})"
         if record.exit_code is not None else ""))  # fmt: skip
    note(f"artifacts of {run} are in {dest} ({human_size(received)} fetched)")
    _report_usage(session.store.get(run) or record)
    return exit_code_of(record)


def _report_usage(record: Any) -> None:
    """``used 2.1 GiB of 16 GiB memory (13%), CPU 71% of 4 cores, 12m31s on node3``, and a
    hint when a completed run used under a quarter of its memory request."""
    from hpcrun import efficiency

    used = json.loads(record.efficiency) if record.efficiency else None
    line = efficiency.summary(used)
    if line:
        note(line)
    hint = efficiency.memory_hint(used) if record.state == "completed" else None
    if hint:
        note(f"hint: {hint}")
