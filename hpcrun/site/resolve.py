"""``resolve(workflow, site) -> JobPlan``: a pure mapping of what a workflow asks for onto
what a site offers. No I/O: file contents and the submitting environment come in as
arguments, so the same inputs always give the same plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import PurePosixPath
from typing import Any

from hpcrun import durations
from hpcrun.errors import ResolveError, did_you_mean
from hpcrun.plan import JobPlan, job_name_for
from hpcrun.requirements import Requirements, environment_key
from hpcrun.schedulers import slurm_directives
from hpcrun.site import constraints
from hpcrun.site.models import GpuType, Interruptible, Site
from hpcrun.spec.models import BashWorkflow, SlurmOptions, WorkflowBase, env_pairs
from hpcrun.units import Size

DEFAULT_REMOTE_ROOT = "~/hpcrun"
KNOWN_PYTHON_VERSIONS = ("2.7", *(f"3.{minor}" for minor in range(6, 15)))


def resolve(
    workflow: WorkflowBase,
    site: Site,
    *,
    run: str,
    requirements: Requirements | None = None,
    submit_env: Mapping[str, str] | None = None,
    rebuild_env: bool = False,
) -> JobPlan:
    """``requirements``: the workflow's requirements file, read (``hpcrun.requirements``)."""
    warnings: list[str] = []
    notes: list[str] = []
    resources = workflow.resources
    is_local = site.scheduler == "local"

    gres, gpu_partition, gpu_constraint = _gpu(workflow, site, warnings)
    partition = gpu_partition or site.partitions.default
    warn = site.interruptible or Interruptible()
    interruptible_qos = None
    if resources.interruptible:
        preemptible = site.interruptible_partition()
        if is_local:
            warnings.append(
                "interruptible has no effect on the local site (the warning signal and "
                "HPCRUN_CHECKPOINT_DIR still work: try `hpcrun cancel --signal USR1 RUN`)"
            )
        elif not preemptible and not warn.qos:
            raise ResolveError(
                f"workflow '{workflow.name}' is interruptible but site '{site.name}' has no "
                "preemptible partition or QOS",
                "set interruptible.partition (or .qos) in the site config, or drop "
                "resources.interruptible",
            )
        elif preemptible:
            if gpu_partition:
                notes.append(
                    f"interruptible: runs in '{preemptible}' instead of the "
                    f"GPU's own partition '{gpu_partition}'"
                )
            partition = preemptible
        interruptible_qos = None if is_local else warn.qos
    # The warning signal: for interruptible runs and for runs that continue past their time
    # limit; the local site forwards the same signal (sent by `hpcrun cancel --signal`).
    warned = resources.interruptible or workflow.resume_on_timeout > 0
    time_seconds = durations.parse_duration(_time_limit(workflow, site))
    knobs = workflow.slurm or SlurmOptions()
    if knobs.partition:  # asked for by name: over the GPU type's and the preemptible one
        if partition not in (None, site.partitions.default, knobs.partition):
            notes.append(f"partition '{knobs.partition}' (asked for) instead of '{partition}'")
        partition = knobs.partition
    if is_local and (knobs != SlurmOptions() or workflow.max_duration):
        warnings.append(
            "the local site has no scheduler: partition, account, qos, constraint, sbatch "
            "options and the time limit have no effect"
        )
    if is_local and workflow.resume_on_timeout:
        warnings.append("resume_on_timeout has no effect on the local site (no time limit)")
    budget = _budget(workflow) if not is_local else None
    if resources.local and not is_local:
        warnings.append(
            f"resources.local is set, but this run goes to site '{site.name}' "
            "(use --site local to run on this machine)"
        )

    if requirements is not None:
        warnings.extend(requirements.notes)
    modules = _modules(workflow, site)
    needs_env = requirements is not None and requirements.needs_env
    return JobPlan(
        run=run,
        workflow=workflow.name,
        site=site.name,
        scheduler=site.scheduler,
        job_name=job_name_for(run),
        partition=partition,
        gres=gres,
        mem_mib=_memory_mib(workflow, site, notes),
        cpus_per_task=resources.cpu,
        time=_time_limit(workflow, site),
        account=knobs.account or site.defaults.account,
        qos=knobs.qos or interruptible_qos or site.defaults.qos,
        constraint=_constraint(site, knobs, gpu_constraint),
        requeue=resources.interruptible and warn.requeue and not is_local,
        interruptible=resources.interruptible and not is_local,
        signal=warn.signal if warned else None,
        signal_lead=_signal_lead(warn, time_seconds) if warned and not is_local else None,
        resume_on_timeout=0 if is_local else workflow.resume_on_timeout,
        time_seconds=time_seconds,
        budget=budget,
        budget_seconds=durations.parse_duration(budget) if budget else None,
        extra_directives=_directives(site, knobs, gpu_constraint),
        remote_root=site.remote_root or DEFAULT_REMOTE_ROOT,
        module_init=site.modules.init,
        modules=modules,
        python_version=workflow.version,
        requirements=_relative(workflow.requirements, "requirements", workflow.name),
        env_key=(
            environment_key(requirements, workflow.version, site.modules.init, modules)
            if requirements is not None and needs_env
            else None
        ),
        env_requirements=requirements.env_file_lines() if requirements and needs_env else (),
        env_constraints=requirements.constraints if requirements and needs_env else (),
        rebuild_env=rebuild_env and needs_env,
        python_path=requirements.python_path if requirements else (),
        own_installs=requirements.installs if requirements else (),
        env=_environment(workflow, submit_env or {}),
        working_dir=_relative(workflow.working_dir, "working_dir", workflow.name),
        before_run=tuple(workflow.before_run),
        file=_relative(getattr(workflow, "file", None), "file", workflow.name),
        args=tuple(getattr(workflow, "args", ())),
        commands=tuple(workflow.commands) if isinstance(workflow, BashWorkflow) else (),
        artifacts=tuple(
            _relative(a.path, "artifacts", workflow.name) or "" for a in workflow.artifacts
        ),
        notes=tuple(notes),
        warnings=tuple(warnings),
    )


def _time_limit(workflow: WorkflowBase, site: Site) -> str:
    """The per-job --time: job_time in a run that resumes on timeout (checked to be at most
    max_duration), else the workflow's max_duration (or --time), else the site's."""
    if workflow.job_time and workflow.resume_on_timeout:
        return durations.normalise(workflow.job_time)
    return durations.normalise(workflow.max_duration or site.defaults.time)


def _budget(workflow: WorkflowBase) -> str | None:
    """The run's total budget, as written: max_duration, when job_time is the per-job limit
    of a run that resumes on timeout. Otherwise max_duration is the per-job limit and the
    run has no budget of its own ((resume_on_timeout + 1) x the limit at most)."""
    if workflow.job_time and workflow.resume_on_timeout and workflow.max_duration:
        return workflow.max_duration
    return None


def _signal_lead(warn: Interruptible, time_seconds: int) -> int:
    """The warning's lead time, at most half the time limit: a short job is warned halfway,
    not at its start (Slurm may send it up to a minute early)."""
    return max(1, min(warn.signal_lead, time_seconds // 2))


def _directives(site: Site, knobs: SlurmOptions, gpu_constraint: str | None) -> tuple[str, ...]:
    """The site's sbatch lines, then the workflow's (flags included); a later one replaces
    an earlier one of the same flag. The site's constraint line goes when the run asks for
    one (it replaces it) or the GPU type has one (it is folded into ``_constraint``)."""
    drop = knobs.constraint or gpu_constraint
    site_lines = [d for d in site.sbatch if not (drop and constraints.is_constraint_directive(d))]
    return slurm_directives.merge(site_lines, knobs.sbatch)


def _constraint(site: Site, knobs: SlurmOptions, gpu_constraint: str | None) -> str | None:
    """The job's --constraint: the run's (slurm.constraint or --constraint), which replaces
    the site's sbatch one; a GPU type's own constraint is AND-ed with the run's, else with
    the site's (Perlmutter's 80 GB A100s: `gpu&hbm80g`), as Slurm reads `A&B`."""
    if not gpu_constraint:
        return knobs.constraint
    site_values = [
        constraints.directive_value(d)
        for d in site.sbatch
        if constraints.is_constraint_directive(d)
    ]
    run = knobs.constraint or (site_values[-1] if site_values else None)  # sbatch: last wins
    return constraints.combine([gpu_constraint, run])


@lru_cache(maxsize=256)  # pure (a refusal is raised again each time: not cached)
def _relative(path: str | None, field: str, workflow: str) -> str | None:
    """Paths in a workflow stay inside the uploaded tree: relative, no '..'."""
    if path is None:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise ResolveError(
            f"workflow '{workflow}': {field} '{path}' must be a path inside the project",
            "use a path relative to the working directory, without '..'",
        )
    return str(pure)


def _gpu(
    workflow: WorkflowBase, site: Site, warnings: list[str]
) -> tuple[str | None, str | None, str | None]:
    """(gres, partition of the GPU type or None, constraint of the GPU type or None)."""
    gpu = workflow.resources.gpu
    if gpu is None or gpu.count == 0:
        return None, None, None
    if site.scheduler == "local":
        warnings.append(
            f"the local site does not reserve GPUs: {gpu.count} GPU(s)"
            f"{' ' + gpu.name if gpu.name else ''} requested, the run sees whatever this "
            "machine has"
        )
        return None, None, None
    chosen = _gpu_type(workflow.name, gpu.name, gpu.memory, site)
    if chosen is None:
        return f"gpu:{gpu.count}", None, None
    # no gres type: the site tells its GPUs apart by constraint or partition only
    gres = f"gpu:{chosen.gres}:{gpu.count}" if chosen.gres else f"gpu:{gpu.count}"
    return gres, chosen.partition, chosen.constraint


def _gpu_type(workflow: str, name: str | None, memory: Size | None, site: Site) -> GpuType | None:
    offered = ", ".join(f"{k} ({v.memory or '?'})" for k, v in site.gpus.items()) or "none"
    if name:
        found = site.gpu_type(name)
        if found is None:
            hint = did_you_mean(name, site.gpus) or ""
            raise ResolveError(
                f"workflow '{workflow}': site '{site.name}' has no GPU named '{name}'",
                f"{hint + ' ' if hint else ''}GPUs on this site: {offered}",
            )
        key, gpu_type = found
        if memory is not None:
            if gpu_type.memory is None:
                raise ResolveError(
                    f"workflow '{workflow}': gpu.memory {memory} asked, but site "
                    f"'{site.name}' does not record the memory of {key}",
                    f"add 'memory:' to gpus.{key} in the site config, or drop gpu.memory",
                )
            if gpu_type.memory < memory:
                raise ResolveError(
                    f"workflow '{workflow}': {key} has {gpu_type.memory}, less than the "
                    f"gpu.memory {memory} asked for",
                    f"GPUs on this site: {offered}",
                )
        return gpu_type
    if memory is None:
        return None
    fitting = [(v.memory, k, v) for k, v in site.gpus.items() if v.memory and v.memory >= memory]
    if not fitting:
        raise ResolveError(
            f"workflow '{workflow}': no GPU on site '{site.name}' has {memory} of memory",
            f"GPUs on this site: {offered}",
        )
    return min(fitting, key=lambda entry: (int(entry[0]), entry[1]))[2]


def _memory_mib(workflow: WorkflowBase, site: Site, notes: list[str]) -> int | None:
    memory, shm = workflow.resources.memory, workflow.resources.shm_size
    if shm is None:
        return memory.mib if memory is not None else None
    base = memory if memory is not None else site.defaults.mem
    if base is None:
        raise ResolveError(
            f"workflow '{workflow.name}': shm_size needs a memory request to add to",
            "set resources.memory (or defaults.mem in the site config): Slurm has no "
            "/dev/shm flag and shared-memory pages count against the job's memory",
        )
    notes.append(
        f"--mem is memory ({base}) + shm_size ({shm}): Slurm has no /dev/shm option, and "
        "pages in /dev/shm count against the job's memory"
    )
    return Size(int(base) + int(shm)).mib


def _modules(workflow: WorkflowBase, site: Site) -> tuple[str, ...]:
    version = workflow.version
    python = site.modules.python
    modules = list(site.modules.always)
    if isinstance(python, dict):
        if version not in python:
            raise ResolveError(
                f"workflow '{workflow.name}': site '{site.name}' has no Python {version}",
                f"versions on this site: {', '.join(python)}; set 'version:' to one of them",
            )
        modules.append(python[version])
    elif ".".join(version.split(".")[:2]) not in KNOWN_PYTHON_VERSIONS:
        raise ResolveError(
            f"workflow '{workflow.name}': unknown Python version '{version}'",
            f"use one of {', '.join(KNOWN_PYTHON_VERSIONS[1:])}",
        )
    elif python:
        modules.append(python.format(version=version))
    return tuple(modules)


def _environment(
    workflow: WorkflowBase, submit_env: Mapping[str, Any]
) -> tuple[tuple[str, str], ...]:
    result: dict[str, str] = {}
    for name, value in env_pairs(workflow):
        if value is None:
            if name not in submit_env:
                raise ResolveError(
                    f"workflow '{workflow.name}': env '{name}' takes its value from your "
                    "environment, but it is not set",
                    f"export {name}=... before submitting, or write env: ['{name}=VALUE']",
                )
            value = submit_env[name]
        result[name] = str(value)
    return tuple(result.items())
