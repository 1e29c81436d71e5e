"""Why sbatch refused a job, in Slurm's words, and a hint that matches it. Pure: the
facts about the nodes (``slurm_nodes.Capacity``, one ``sinfo``) are passed in.

Slurm's texts are terse and often generic: asking for 99 GPUs, a GPU type no node has or
10 TB of memory all end in "Requested node configuration is not available" (captures in
tests/data/slurm/reject_*.sbatch.*). So the hint compares what the job asked for with the
largest node of its partition instead of trusting the text alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from hpcrun.schedulers.slurm_nodes import (
    Capacity,
    over_capacity,
    partition_of,
    requested_gpus,
)

GENERIC_HINT = (
    "check the partition and GPU names in the site config (hpcrun render shows the script)"
)


@dataclass(frozen=True)
class Request:
    """What the job asked sbatch for (the plan's values; None: not set)."""

    partition: str | None = None
    gres: str | None = None
    mem_mib: int | None = None
    cpus_per_task: int | None = None
    account: str | None = None
    qos: str | None = None
    time: str | None = None


# Lower-cased fragments of Slurm's messages -> the kind of rejection, first match wins.
_KINDS = (
    ("invalid partition", "partition"),
    ("invalid account", "account"),
    ("invalid qos", "qos"),
    ("invalid generic resource", "gres"),
    ("invalid gres", "gres"),
    ("memory specification can not be satisfied", "memory"),
    ("more processors requested than permitted", "cpus"),
    ("requested time limit is invalid", "time"),
    ("node count specification invalid", "nodes"),
    ("job violates accounting/qos policy", "policy"),
    ("requested node configuration is not available", "node_config"),
)


def rejection_message(text: str) -> str:
    """sbatch's stderr as one line: its error lines, without the ``sbatch: error:`` prefix."""
    lines = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:sbatch:\s*)?(?:error:\s*)?", "", line).strip()
        if line and line not in lines:
            lines.append(line)
    return "; ".join(lines) or "no message"


def rejection_kind(text: str) -> str:
    """One of the kinds above, or "other"."""
    lowered = text.lower()
    return next((kind for fragment, kind in _KINDS if fragment in lowered), "other")


def _gres_types(capacity: Capacity, partition: str | None) -> list[str]:
    partitions = [partition] if partition in capacity.partitions else list(capacity.partitions)
    return sorted({kind for name in partitions for kind in capacity.partitions[name].gpus if kind})


def _fit_hint(request: Request, capacity: Capacity) -> str | None:
    """What in the request no node of its partition has; None if nothing stands out."""
    found = partition_of(capacity, request.partition)
    if found is None:
        return None
    name, largest = found
    wanted = requested_gpus(request.gres)
    if wanted and wanted[0] and wanted[0] not in largest.gpus:
        types = _gres_types(capacity, name)
        return (
            f"no node of partition '{name}' has GPUs of gres type '{wanted[0]}' "
            + (f"(it has: {', '.join(types)}); " if types else "(it has no GPUs); ")
            + "map --gpu-name to one of them in the site config's gpus: table"
        )
    over = over_capacity(
        cpus=request.cpus_per_task, mem_mib=request.mem_mib, gres=request.gres,
        largest=largest, where=f"partition '{name}'",
    )  # fmt: skip
    if over:
        return "the job asks for " + "; ".join(over) + ": ask for at most that"
    return None


def rejection_hint(text: str, request: Request, capacity: Capacity | None) -> str:
    """A hint that matches sbatch's message ``text``, using the nodes' facts when known."""
    kind = rejection_kind(text)
    if kind == "partition":
        names = ", ".join(sorted(capacity.partitions)) if capacity else ""
        asked = f"partition '{request.partition}'" if request.partition else "the partition"
        return f"{asked} does not exist on this cluster" + (
            f"; valid partitions: {names} (--partition, or partitions: in the site config)"
            if names
            else "; `sinfo -s` on the cluster lists the valid ones"
        )
    if kind == "account":
        asked = f"account '{request.account}'" if request.account else "the account"
        return (
            f"{asked} is not valid for you (or not on this partition): set --account or "
            "defaults.account to one of yours (`sacctmgr show assoc user=$USER` lists them)"
        )
    if kind == "qos":
        asked = f"QOS '{request.qos}'" if request.qos else "the QOS"
        return (
            f"{asked} does not exist or is not allowed for you: set --qos or defaults.qos to "
            "one of yours (`sacctmgr show assoc user=$USER` lists them)"
        )
    if kind == "policy":
        return (
            "the job is over a limit of your account or QOS (jobs, size or time): ask for "
            "less, or use another --qos/--account"
        )
    if capacity is not None and kind in ("gres", "memory", "cpus", "node_config", "nodes"):
        fit = _fit_hint(request, capacity)
        if fit:
            return fit
        if kind == "gres":
            types = _gres_types(capacity, request.partition or capacity.default)
            if types:
                return f"valid GPU gres types: {', '.join(types)} (the site config's gpus: table)"
        found = partition_of(capacity, request.partition)
        if found:
            name, largest = found
            return (
                f"the largest node of partition '{name}' has {largest.describe()}: ask for "
                "at most that (`hpcrun site check SITE` lists every partition)"
            )
    if kind == "time" and capacity is not None:
        found = partition_of(capacity, request.partition)
        if found and found[1].time_limit:
            return (
                f"the MaxTime of partition '{found[0]}' is {found[1].time_limit}: "
                "lower --time (max_duration)"
            )
    return GENERIC_HINT
