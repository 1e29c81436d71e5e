"""``hpcrun run python FILE [ARGS]...``: dstack's spelling of ``hpcrun submit FILE.py``.

The options are ``submit``'s own list (not a copy), so a flag added to ``submit`` works here
too; only the positional argument differs: one file, whatever its name.
"""

from __future__ import annotations

import click

from hpcrun.cli.submit import TrailingArgsCommand, submit


class RunPythonCommand(TrailingArgsCommand):
    file_only = True


def _params() -> list[click.Parameter]:
    file_argument = click.Argument(["arguments"], nargs=-1, required=True, metavar="FILE [ARGS]...")
    return [file_argument, *(p for p in submit.params if p.name != "arguments")]


python = RunPythonCommand(
    "python",
    params=_params(),
    callback=submit.callback,
    short_help="Run a Python file (same as hpcrun submit FILE.py).",
    help="""Run the Python FILE on SITE without a workflows file, like dstack's `run python`
    (same as `hpcrun submit FILE.py`). The project uploaded with it is the current folder,
    or the nearest folder up holding .dstack/ or .git when FILE lies inside it;
    requirements.txt beside FILE is installed unless -r is given. After FILE, options
    hpcrun does not know go to the program, and so does everything after --:
    `hpcrun run python train.py --epochs 3 --gpu 1` runs `train.py --epochs 3` on one GPU.""",
)


@click.group(short_help="dstack-style run commands.")
def run() -> None:
    """dstack-style run commands: `hpcrun run python FILE [ARGS]...`."""


run.add_command(python)
