"""JobPlan: everything the template needs, decided by ``site.resolve`` (pure data)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
    time: str | None = None
    account: str | None = None
    qos: str | None = None
    requeue: bool = False
    extra_directives: tuple[str, ...] = ()
    # environment on the cluster
    remote_root: str = "~/hpcrun"
    module_init: str | None = None
    modules: tuple[str, ...] = ()
    python_version: str = "3.10"
    requirements: str | None = None  # path, relative to the working directory
    env_key: str | None = (
        None  # cached virtualenv: requirements hash (+ Python version at run time)
    )
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
