"""Does the job fit on any node of its site, within its partition's MaxTime? ``render
--check`` refuses a job that fits on none (or asks for more time), ``submit`` warns (one
``sinfo`` round trip for both), ``site check`` shows the largest node of each partition.
The local site is this machine (CPUs and physical memory)."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from hpcrun.errors import HpcrunError, ResolveError
from hpcrun.ops.prepare import PreparedJob
from hpcrun.schedulers.slurm_nodes import (
    Capacity,
    Largest,
    over_capacity,
    over_time_limit,
    parse_sinfo_nodes,
    partition_of,
    sinfo_nodes_argv,
)


def this_machine() -> Largest:
    """The local site's one node."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1024 * 1024)
    except (ValueError, OSError, AttributeError):  # not every platform says
        memory = 0
    return Largest(cpus=os.cpu_count() or 0, mem_mib=memory, nodes=1)


def site_capacity(transport: Any) -> Capacity:
    """The nodes of a Slurm site, by one ``sinfo``; ``HpcrunError`` if it cannot say."""
    result = transport.run(sinfo_nodes_argv())
    if not result.ok:
        detail = " ".join((result.stderr or result.stdout).split())[-200:]
        raise HpcrunError(
            f"sinfo failed: {detail or f'exit code {result.returncode}'}",
            "Slurm did not answer for the nodes: run `sinfo` on the login node, and retry "
            "once it works (`hpcrun site check SITE` checks the whole site)",
        )
    return parse_sinfo_nodes(result.stdout)


def _where(prepared: PreparedJob, transport: Any) -> tuple[str, Largest] | None:
    """Where the job would run and its largest node (one ``sinfo``); None if unknown."""
    if prepared.site.scheduler == "local":
        return "this machine", this_machine()
    found = partition_of(site_capacity(transport), prepared.plan.partition)
    if found is None:  # an unknown partition: sbatch (or site check) says so
        return None
    name, largest = found
    return f"partition '{name}'", largest


def _over(prepared: PreparedJob, where: str, largest: Largest) -> list[str]:
    plan = prepared.plan
    return over_capacity(
        cpus=plan.cpus_per_task, mem_mib=plan.mem_mib, gres=plan.gres, largest=largest,
        where=where,
    )  # fmt: skip


def problems(prepared: PreparedJob, transport: Any) -> list[str]:
    """Why the job fits on no node where it would run (empty: it may fit); may raise
    ``HpcrunError`` when the cluster cannot be asked."""
    found = _where(prepared, transport)
    return _over(prepared, *found) if found else []


def _time_problem(prepared: PreparedJob, where: str, largest: Largest) -> str | None:
    """The job's --time over its partition's MaxTime (the local site has none)."""
    if prepared.site.scheduler == "local":
        return None
    return over_time_limit(prepared.plan.time, largest, where)


def refuse_over_capacity(prepared: PreparedJob, transport: Any) -> None:
    """For ``render --check``: ``ResolveError`` (exit 2) if the job fits on no node."""
    found = _where(prepared, transport)  # one sinfo for both checks
    if found is None:
        return
    over = _over(prepared, *found)
    if over:
        raise ResolveError(
            f"workflow '{prepared.plan.workflow}' fits on no node of site "
            f"'{prepared.site.name}': it asks for " + "; ".join(over),
            "lower resources (cpu, memory, gpu) to what a node has, or choose another "
            "partition or site (`hpcrun site check SITE` lists the largest nodes)",
        )
    too_long = _time_problem(prepared, *found)
    if too_long:
        raise ResolveError(
            f"workflow '{prepared.plan.workflow}' would never start on site "
            f"'{prepared.site.name}': its {too_long} (Slurm leaves such a job pending "
            "with reason PartitionTimeLimit, or refuses it)",
            "lower --time (max_duration in the workflow) to at most that MaxTime, or choose "
            "a partition with a longer one (`hpcrun site check SITE` lists them)",
        )


def with_capacity_warnings(prepared: PreparedJob, transport: Any) -> PreparedJob:
    """For ``submit``: the same check, as warnings (the job is still submitted: the
    cluster may be about to grow). A cluster that cannot be asked adds no warning."""
    try:
        found = _where(prepared, transport)
    except HpcrunError:
        return prepared
    if found is None:
        return prepared
    messages = []
    over = _over(prepared, *found)
    if over:
        messages.append(
            "this job fits on no node of site '" + prepared.site.name + "' and may pend "
            "forever: it asks for " + "; ".join(over) + " (`hpcrun cancel RUN` if it does)"
        )
    too_long = _time_problem(prepared, *found)
    if too_long:
        messages.append(
            f"this job's {too_long}: Slurm may refuse it or leave it pending "
            "(PartitionTimeLimit); lower --time or choose another partition"
        )
    if not messages:
        return prepared
    plan = replace(prepared.plan, warnings=(*prepared.plan.warnings, *messages))
    return replace(prepared, plan=plan)
