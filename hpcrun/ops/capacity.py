"""Does the job fit on any node of its site? ``render --check`` refuses a job that fits on
none, ``submit`` warns (one ``sinfo`` round trip), ``site check`` shows the largest node of
each partition. The local site is this machine (CPUs and physical memory)."""

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
        raise HpcrunError(f"sinfo failed: {detail or f'exit code {result.returncode}'}")
    return parse_sinfo_nodes(result.stdout)


def problems(prepared: PreparedJob, transport: Any) -> list[str]:
    """Why the job fits on no node where it would run (empty: it may fit); may raise
    ``HpcrunError`` when the cluster cannot be asked."""
    plan = prepared.plan
    if prepared.site.scheduler == "local":
        where, largest = "this machine", this_machine()
    else:
        found = partition_of(site_capacity(transport), plan.partition)
        if found is None:  # an unknown partition: sbatch (or site check) says so
            return []
        name, largest = found
        where = f"partition '{name}'"
    return over_capacity(
        cpus=plan.cpus_per_task, mem_mib=plan.mem_mib, gres=plan.gres, largest=largest,
        where=where,
    )  # fmt: skip


def refuse_over_capacity(prepared: PreparedJob, transport: Any) -> None:
    """For ``render --check``: ``ResolveError`` (exit 2) if the job fits on no node."""
    over = problems(prepared, transport)
    if over:
        raise ResolveError(
            f"workflow '{prepared.plan.workflow}' fits on no node of site "
            f"'{prepared.site.name}': it asks for " + "; ".join(over),
            "lower resources (cpu, memory, gpu) to what a node has, or choose another "
            "partition or site (`hpcrun site check SITE` lists the largest nodes)",
        )


def with_capacity_warnings(prepared: PreparedJob, transport: Any) -> PreparedJob:
    """For ``submit``: the same check, as warnings (the job is still submitted: the
    cluster may be about to grow). A cluster that cannot be asked adds no warning."""
    try:
        over = problems(prepared, transport)
    except HpcrunError:
        return prepared
    if not over:
        return prepared
    message = (
        "this job fits on no node of site '" + prepared.site.name + "' and may pend forever: "
        "it asks for " + "; ".join(over) + " (`hpcrun cancel RUN` if it does)"
    )
    plan = replace(prepared.plan, warnings=(*prepared.plan.warnings, message))
    return replace(prepared, plan=plan)
