"""The ``hpcrun`` entry point: a lazy click group and the one place errors become exit codes.

Subcommands live in their own modules and are imported only when run, so ``hpcrun --help``
stays fast (no pydantic, jinja2 or paramiko at start-up).
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from typing import Any

import click

from hpcrun import __version__
from hpcrun.errors import EXIT_INTERRUPTED, EXIT_RUNTIME, EXIT_USAGE, HpcrunError

# name -> (module, attribute, one-line help shown by `hpcrun --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "render": ("hpcrun.cli.render", "render", "Print the batch script a workflow would submit."),
    "validate": ("hpcrun.cli.validate", "validate", "Check a workflows file, list every problem."),
    "submit": ("hpcrun.cli.submit", "submit", "Submit a workflow, project or file; follow it."),
    "run": ("hpcrun.cli.run", "run", "dstack's run python: run a Python file."),
    "ps": ("hpcrun.cli.ps", "ps", "List runs and their states."),
    "logs": ("hpcrun.cli.logs", "logs", "Print or follow a run's output."),
    "cancel": ("hpcrun.cli.cancel", "cancel", "Cancel a run."),
    "wait": ("hpcrun.cli.wait", "wait", "Wait until runs end; exit with the worst code."),
    "artifacts": ("hpcrun.cli.artifacts", "artifacts", "Fetch a run's artifacts."),
    "tag": ("hpcrun.cli.tag", "tag", "Tag a run, for deps: [':TAG']."),
    "site": ("hpcrun.cli.site", "site", "Write a site config (new); check it on the cluster."),
    "sweep": ("hpcrun.cli.sweep", "sweep", "Run a parameter sweep (a cron tick); status, report."),
    "show": ("hpcrun.cli.show", "show", "Show everything recorded about a run."),
    "rerun": ("hpcrun.cli.rerun", "rerun", "Submit a recorded run again (flags override)."),
    "tags": ("hpcrun.cli.tags", "tags", "List tags and the runs they point at."),
    "rm": ("hpcrun.cli.rm", "rm", "Remove runs: remote folder, local artifacts, record."),
    "prune": ("hpcrun.cli.prune", "prune", "Remove old finished runs and unused environments."),
}


# set by the shell's completion script (see docs/managing-runs.md#shell-completion)
COMPLETE_VAR = "_HPCRUN_COMPLETE"


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        if os.environ.get(COMPLETE_VAR):  # the shell asks: complete run, site, workflow names
            from hpcrun.cli.completion import add_completion

            add_completion(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0] if args else ""
        # (while completing, an unknown word is no error: it completes to nothing)
        if name and name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            from hpcrun.errors import did_you_mean

            hint = did_you_mean(name, COMMANDS) or "run 'hpcrun --help' for the list"
            raise click.UsageError(f"no command '{name}'; {hint}", ctx)
        return super().resolve_command(ctx, args)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="hpcrun")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def cli(debug: bool) -> None:
    """Run dstack-style Python workflows on Slurm clusters, over SSH or locally."""


def _debugging(argv: list[str]) -> bool:
    return "--debug" in argv or os.environ.get("HPCRUN_DEBUG") == "1"


# A full disk or an unwritable folder is the machine's doing, not a bug: say which file.
_LOCAL_FAULTS = {
    errno.ENOSPC: ("the disk is full", "free some space on that filesystem (see `df -h`)"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some space, or ask for a larger quota"),
    errno.EACCES: ("permission denied", "fix the permissions, or set HPCRUN_HOME elsewhere"),
    errno.EROFS: ("the filesystem is read-only", "set HPCRUN_HOME to a writable folder"),
    errno.EEXIST: ("a file is in the way of a folder", "move the file, or set HPCRUN_HOME"),
    errno.ENOTDIR: (
        "a part of the path is a file, not a folder",
        "fix the path, or set HPCRUN_HOME",
    ),
}


def _local_fault(exc: OSError) -> str:
    what, hint = _LOCAL_FAULTS[exc.errno]
    where = exc.filename if exc.filename is not None else "a local file"
    return f"error: cannot use {where}: {what} ({exc.strerror})\n  hint: {hint}"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    from hpcrun.cli.terminal import no_colour

    # click already drops colours when the output is not a terminal; NO_COLOR drops them
    # at a terminal too (https://no-color.org)
    colour: dict[str, Any] = {"color": False} if no_colour() else {}
    try:
        cli.main(args=args, prog_name="hpcrun", standalone_mode=False, **colour)
    except HpcrunError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE if isinstance(exc, click.UsageError) else exc.exit_code)
    except (KeyboardInterrupt, click.exceptions.Abort):
        click.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except OSError as exc:
        if exc.errno not in _LOCAL_FAULTS or _debugging(args):
            raise
        click.echo(_local_fault(exc), err=True)
        sys.exit(EXIT_RUNTIME)
    except Exception as exc:
        if _debugging(args):
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
        click.echo("  hint: rerun with --debug for the traceback, and report it", err=True)
        sys.exit(EXIT_RUNTIME)
    sys.exit(0)


if __name__ == "__main__":
    main()
