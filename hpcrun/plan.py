"""JobPlan: everything the template needs, decided by ``site.resolve`` (pure data)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_JOB_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def job_name_for(run: str) -> str:
    """The scheduler job name of a run: its unique name, so that Slurm can be asked by
    name whether a run whose submitter died was queued (see ``ops.in_doubt``)."""
    return _JOB_NAME_UNSAFE.sub("_", run)[:128]


@dataclass(frozen=True)
class JobPlan:
    run: str
    workflow: str
    site: str
    scheduler: str
    # sbatch header
    job_name: str
    partition: str | None = None
    gres: str | None = None
    mem_mib: int | None = None
    cpus_per_task: int | None = None
    # The per-job limit (#SBATCH --time, normalised D-HH:MM:SS/HH:MM:SS): the workflow's
    # job_time in a run that resumes on timeout, else its max_duration, else the site's
    # defaults.time. (That run's total budget is `budget` below.)
    time: str | None = None
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None
    requeue: bool = False
    # Interruptible and long runs (docs/interruptible.md): the warning signal sent to the batch
    # shell `signal_lead` seconds before the time limit (#SBATCH --signal=B:SIG@LEAD), which
    # the job forwards to the program; how many times it requeues itself after a time limit;
    # and the per-job limit in seconds (the job tells a time-limit warning from a preemption).
    interruptible: bool = False
    signal: str | None = None
    signal_lead: int | None = None
    resume_on_timeout: int = 0
    time_seconds: int | None = None
    # The whole run's budget over all its attempts (max_duration as written, and in seconds)
    # when job_time is the per-job limit: the job requeues itself after a time limit only
    # while the attempts so far have left room for a useful one. None: no budget.
    budget: str | None = None
    budget_seconds: int | None = None
    extra_directives: tuple[str, ...] = ()
    # environment on the cluster
    remote_root: str = "~/hpcrun"
    module_init: str | None = None
    modules: tuple[str, ...] = ()
    python_version: str = "3.10"
    requirements: str | None = None  # path, relative to the working directory
    # The cached virtualenv (hpcrun.requirements): its key (the job script prefixes the
    # Python that really runs), the normalised file it is built from, and whether this run
    # rebuilds it. None: no environment is needed.
    env_key: str | None = None
    env_requirements: tuple[str, ...] = ()  # lines of the file the env is built from
    env_constraints: tuple[str, ...] = ()  # lines of its constraints file (-c)
    rebuild_env: bool = False
    # The run's own code from the requirements, relative to the working directory:
    python_path: tuple[str, ...] = ()  # folders put first on PYTHONPATH
    own_installs: tuple[str, ...] = ()  # wheels/archives installed into the run folder
    env: tuple[tuple[str, str], ...] = ()
    # what runs
    working_dir: str | None = None
    before_run: tuple[str, ...] = ()
    file: str | None = None  # python provider
    args: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()  # bash provider
    artifacts: tuple[str, ...] = ()
    # for people: comments in the script, and warnings printed at submit/render time
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=(), compare=False)
