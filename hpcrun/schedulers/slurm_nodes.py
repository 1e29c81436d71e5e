"""What the nodes of a site can hold: one ``sinfo`` per check, parsed into the largest
node of each partition, and the pure comparison of a job's request against it.

A job that asks for more CPUs, memory or GPUs per node than any node of its partition has
is accepted by ``sbatch`` on many clusters and then pends forever; this catches it first.
Each dimension is compared with the partition's largest value on its own: a request over
it cannot fit on any node, so refusing it is never wrong (a request under every maximum
may still not fit one node, which Slurm will say).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from hpcrun.durations import DurationError, parse_duration, parse_limit, slurm_time

# %l: the partition's time limit (MaxTime), so the time checks share this one call.
NODE_FIELDS = ("%N", "%P", "%c", "%m", "%G", "%l")
_GRES_GPU = re.compile(r"^gpu(?::([^:(]+))?:(\d+)")


def sinfo_nodes_argv() -> list[str]:
    """One line per (node, partition): ``name|partition|cpus|memory MiB|gres|MaxTime``."""
    return ["sinfo", "--noheader", "--Node", f"--format={'|'.join(NODE_FIELDS)}"]


@dataclass
class Largest:
    """The largest node of a partition, each dimension on its own."""

    cpus: int = 0
    mem_mib: int = 0
    gpus: dict[str, int] = field(default_factory=dict)  # gres type ("" = any) -> count
    nodes: int = 0
    # The partition's MaxTime as sinfo prints it ("infinite", "5:00", "1-00:00:00"), and
    # in seconds (None: no limit).
    time_limit: str = ""
    time_limit_s: int | None = None

    def describe(self) -> str:
        gpus = ", ".join(f"{n} {t or 'gpu'}" for t, n in sorted(self.gpus.items()) if t)
        if not gpus and self.gpus.get(""):
            gpus = f"{self.gpus['']} gpu"
        return f"{self.cpus} CPUs, {_mib(self.mem_mib)}" + (f", {gpus}" if gpus else "")


@dataclass
class Capacity:
    partitions: dict[str, Largest] = field(default_factory=dict)
    default: str | None = None  # the partition marked '*'


def _number(text: str) -> int:
    """sinfo's counts may carry a '+' (a range) or be 'N/A'."""
    match = re.match(r"\d+", text.strip())
    return int(match.group()) if match else 0


def _gpus(gres: str) -> dict[str, int]:
    """``gpu:a100:2(S:0-1),gpu:v100:2`` -> {"a100": 2, "v100": 2, "": 4}."""
    found: dict[str, int] = {}
    for item in re.split(r",(?=[a-z])", gres.strip()):
        match = _GRES_GPU.match(item)
        if match:
            kind, count = match.group(1) or "", int(match.group(2))
            if kind:
                found[kind] = found.get(kind, 0) + count
            found[""] = found.get("", 0) + count
    return found


def parse_sinfo_nodes(stdout: str) -> Capacity:
    """``sinfo_nodes_argv`` output -> the largest node per partition (pure)."""
    capacity = Capacity()
    for line in stdout.splitlines():
        fields = line.strip().split("|")
        if len(fields) != len(NODE_FIELDS) or not fields[1]:
            continue
        _node, partition, cpus, memory, gres, limit = fields
        if partition.endswith("*"):
            partition = partition[:-1]
            capacity.default = partition
        largest = capacity.partitions.setdefault(partition, Largest())
        largest.cpus = max(largest.cpus, _number(cpus))
        largest.mem_mib = max(largest.mem_mib, _number(memory))
        for kind, count in _gpus(gres).items():
            largest.gpus[kind] = max(largest.gpus.get(kind, 0), count)
        largest.nodes += 1
        largest.time_limit, largest.time_limit_s = limit.strip(), parse_limit(limit)
    return capacity


def requested_gpus(gres: str | None) -> tuple[str, int] | None:
    """A plan's ``gpu:TYPE:N`` or ``gpu:N`` -> (type or "", N)."""
    match = _GRES_GPU.match(gres or "")
    return (match.group(1) or "", int(match.group(2))) if match else None


def over_capacity(
    *,
    cpus: int | None,
    mem_mib: int | None,
    gres: str | None,
    largest: Largest,
    where: str,
) -> list[str]:
    """Why a job asking for ``cpus``/``mem_mib``/``gres`` per node fits no node of
    ``where`` (a partition, or "this machine"); empty when nothing is over (pure)."""
    problems = []
    if cpus and largest.cpus and cpus > largest.cpus:
        problems.append(f"{cpus} CPUs per task, but the largest node of {where} has {largest.cpus}")
    if mem_mib and largest.mem_mib and mem_mib > largest.mem_mib:
        problems.append(
            f"{_mib(mem_mib)} of memory, but the largest node of {where} has "
            f"{_mib(largest.mem_mib)}"
        )
    wanted = requested_gpus(gres)
    if wanted and largest.nodes:  # a machine with no GPU count known (local) is not checked
        kind, count = wanted
        has = largest.gpus.get(kind, 0)
        if count > has:
            name = f"{kind} GPUs" if kind else "GPUs"
            problems.append(f"{count} {name}, but the largest node of {where} has {has}")
    return problems


def partition_of(capacity: Capacity, partition: str | None) -> tuple[str, Largest] | None:
    """The job's partition (None: the cluster's default) and its largest node, if known."""
    name = partition or capacity.default
    if name is None or name not in capacity.partitions:
        return None
    return name, capacity.partitions[name]


def over_time_limit(time: str | None, largest: Largest, where: str) -> str | None:
    """Why a job's ``--time`` (Slurm's form) is over the MaxTime of ``where``; None if it
    is not, or either is unknown or unlimited (pure)."""
    if not time or largest.time_limit_s is None:
        return None
    try:
        seconds = parse_duration(time)
    except DurationError:
        return None
    if seconds <= largest.time_limit_s:
        return None
    return (
        f"--time {slurm_time(seconds)} is over the MaxTime {slurm_time(largest.time_limit_s)} "
        f"of {where}"
    )


def time_refusals(capacity: Capacity, time: str) -> dict[str, str]:
    """partition -> its MaxTime, for each partition whose MaxTime is below ``time`` (pure)."""
    return {
        name: slurm_time(largest.time_limit_s)
        for name, largest in sorted(capacity.partitions.items())
        if largest.time_limit_s is not None and over_time_limit(time, largest, name)
    }


def summary(capacity: Capacity) -> Mapping[str, str]:
    """partition -> "N nodes, largest: ..." (for ``site check``)."""
    return {
        name: f"{largest.nodes} node(s), largest {largest.describe()}"
        + (f", MaxTime {largest.time_limit}" if largest.time_limit else "")
        for name, largest in sorted(capacity.partitions.items())
    }


def _mib(value: int) -> str:
    if value >= 1024 and value % 1024 == 0:
        return f"{value // 1024} GiB"
    return f"{value} MiB"
