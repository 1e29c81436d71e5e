"""Scheduler options shared by ``submit`` (and ``run python``) and ``render``: the time
limit and the per-run Slurm knobs. They become the workflow's ``max_duration`` and its
``slurm:`` block (``hpcrun.spec.overrides``), so they are checked like the file's values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click

KNOB_NAMES = ("time", "job_time", "partition", "account", "qos", "constraint", "sbatch")

_OPTIONS = (
    click.option(
        "--time", "--max-duration", "time", metavar="DURATION",
        help="Time limit of the job (overrides max_duration and the site's defaults.time): "
        "90 (minutes), 90m, 2h, 1d12h, or Slurm's 1:30:00, 2-00:00:00. With job_time "
        "(or --job-time) and resume_on_timeout: the run's total budget over all attempts.",
    ),
    click.option(
        "--job-time", "job_time", metavar="DURATION",
        help="Time limit of each job of a run with resume_on_timeout (overrides job_time); "
        "--time is then the whole run's budget.",
    ),
    click.option("--partition", metavar="NAME", help="Slurm partition (overrides the site's)."),
    click.option("--account", metavar="NAME", help="Slurm account to charge."),
    click.option("--qos", metavar="NAME", help="Slurm QOS."),
    click.option("--constraint", metavar="EXPR", help="Node features, e.g. 'avx512&ib'."),
    click.option(
        "--sbatch", "sbatch", multiple=True, metavar="--FLAG[=VALUE]",
        help="Extra #SBATCH directive, e.g. --sbatch=--mail-type=END,FAIL. Repeatable.",
    ),
)  # fmt: skip


def knob_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options to a click command (in the order above in --help)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def knob_values(flags: Mapping[str, Any]) -> dict[str, Any]:
    """The options' values, as ``Overrides`` keyword arguments."""
    return {name: flags.get(name) or (() if name == "sbatch" else None) for name in KNOB_NAMES}
