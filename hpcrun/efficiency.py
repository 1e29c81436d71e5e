"""What a finished run used, as one JSON object (``runs.efficiency``), and its short forms.

Both schedulers produce the same keys (documented in docs/managing-runs.md, "Efficiency"):

- ``source``: ``"sacct"`` (Slurm accounting) or ``"local"`` (the local site's own measures)
- ``elapsed_s``: wall-clock seconds the job ran
- ``cpu_s``: CPU seconds it used (user + system, all its processes)
- ``cpus``: CPUs allocated to it
- ``cpu_efficiency``: ``cpu_s / (elapsed_s * cpus)``, a fraction (0.71 = 71 %)
- ``max_rss_bytes``: peak resident memory (of its largest step/process tree)
- ``req_mem_bytes``: the memory it requested, for the whole job
- ``mem_efficiency``: ``max_rss_bytes / req_mem_bytes``, a fraction
- ``nodes``: the node list (``gpu-node-3``, ``node[1-2]``)
- ``alloc_tres``: Slurm's allocated TRES (``billing=4,cpu=4,mem=16G,node=1``)

Any figure the scheduler did not report is null. Pure functions only.
"""

from __future__ import annotations

import math
from typing import Any

# Under this share of the memory request, the run is told to lower resources.memory.
LOW_MEMORY_SHARE = 0.25
# What the suggested request leaves above the peak.
HEADROOM = 1.5
_MIB = 2**20
_GIB = 2**30


def figures(
    source: str,
    *,
    elapsed_s: float | None = None,
    cpu_s: float | None = None,
    cpus: int | None = None,
    max_rss_bytes: int | None = None,
    req_mem_bytes: int | None = None,
    nodes: str | None = None,
    alloc_tres: str | None = None,
) -> dict[str, Any]:
    """The ``runs.efficiency`` object, ratios derived from the measures (null when a
    measure is missing or zero)."""
    cpu_efficiency = None
    if cpu_s is not None and elapsed_s and cpus:
        cpu_efficiency = round(cpu_s / (elapsed_s * cpus), 4)
    mem_efficiency = None
    if max_rss_bytes is not None and req_mem_bytes:
        mem_efficiency = round(max_rss_bytes / req_mem_bytes, 4)
    return {
        "source": source,
        "elapsed_s": elapsed_s,
        "cpu_s": cpu_s,
        "cpus": cpus,
        "cpu_efficiency": cpu_efficiency,
        "max_rss_bytes": max_rss_bytes,
        "req_mem_bytes": req_mem_bytes,
        "mem_efficiency": mem_efficiency,
        "nodes": nodes,
        "alloc_tres": alloc_tres,
    }


def human_bytes(count: float) -> str:
    """``2254857830`` -> ``2.1 GiB``; whole numbers lose the ``.0`` (``16 GiB``)."""
    value, unit = float(count), "B"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    text = f"{value:.0f}" if unit == "B" else f"{value:.1f}".removesuffix(".0")
    return f"{text} {unit}"


def human_duration(seconds: float) -> str:
    """``751`` -> ``12m31s``; ``93784`` -> ``1d2h3m4s``; ``4.2`` -> ``4s``."""
    left = round(seconds)
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)  # leading zeros go; inner ones stay (1h0m5s)
    return "".join(f"{value}{unit}" for value, unit in parts)


def summary(used: dict[str, Any] | None) -> str | None:
    """``used 2.1 GiB of 16 GiB memory (13%), CPU 71% of 4 cores, 12m31s on gpu-node-3``;
    the parts that were measured only; None when nothing was."""
    if not used:
        return None
    parts = []
    rss, request = used.get("max_rss_bytes"), used.get("req_mem_bytes")
    if rss is not None and request:
        share = (
            f" ({_percent(used.get('mem_efficiency'))})"
            if used.get("mem_efficiency") is not None
            else ""
        )
        parts.append(f"{human_bytes(rss)} of {human_bytes(request)} memory{share}")
    elif rss is not None:
        parts.append(f"{human_bytes(rss)} memory")
    cpus, cpu_share = used.get("cpus"), used.get("cpu_efficiency")
    if cpu_share is not None and cpus:
        parts.append(f"CPU {_percent(cpu_share)} of {cpus} core{'s' if cpus != 1 else ''}")
    elif used.get("cpu_s") is not None:
        parts.append(f"{human_duration(used['cpu_s'])} of CPU")
    if used.get("elapsed_s") is not None:
        where = f" on {used['nodes']}" if used.get("nodes") else ""
        parts.append(f"{human_duration(used['elapsed_s'])}{where}")
    return "used " + ", ".join(parts) if parts else None


def memory_hint(used: dict[str, Any] | None) -> str | None:
    """When the run used under a quarter of its memory request: a one-line hint naming a
    lower ``resources.memory`` to try (the peak plus headroom, rounded up); else None."""
    if not used:
        return None
    rss, request = used.get("max_rss_bytes"), used.get("req_mem_bytes")
    if not rss or not request or rss >= request * LOW_MEMORY_SHARE:
        return None
    suggestion = suggested_memory(rss)
    if suggestion[0] >= request:
        return None
    return (
        f"it used {_percent(rss / request)} of the {human_bytes(request)} it requested: "
        f"try resources.memory: {suggestion[1]} (or --memory {suggestion[1]})"
    )


def suggested_memory(peak_bytes: int) -> tuple[int, str]:
    """The peak plus headroom, rounded up to whole GiB (or to 256 MiB below 1 GiB), as
    bytes and as a ``resources.memory`` value (binary units, so it means what it says)."""
    target = peak_bytes * HEADROOM
    if target <= _GIB:
        mib = max(256, math.ceil(target / (256 * _MIB)) * 256)
        return mib * _MIB, f"{mib}MiB" if mib < 1024 else "1GiB"
    gib = math.ceil(target / _GIB)
    return gib * _GIB, f"{gib}GiB"


def _percent(share: float | None) -> str:
    return "?" if share is None else f"{share * 100:.0f}%"
