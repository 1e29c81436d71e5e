"""``hpcrun site check``: does a site config match the live cluster?"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass
from typing import Any

from hpcrun.errors import HpcrunError
from hpcrun.ops.session import Session
from hpcrun.transport.base import Shell, expand_home


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str | None = None
    warning: bool = False  # ok, but worth reading (shown as "warn"; exit code stays 0)


def check_site(session: Session, site_name: str | None) -> list[Check]:
    site, path = session.site(site_name)
    checks = [Check("config", True, str(path))]
    started = time.monotonic()
    try:
        transport = session.transport(site)
        home = transport.home()
    except HpcrunError as exc:
        return [*checks, Check("connect", False, exc.message, exc.hint)]
    checks.append(Check("connect", True, f"{transport.name} in {time.monotonic() - started:.2f}s"))
    root = expand_home(site.remote_root or "~/hpcrun", home)
    writable = transport.run(Shell(f"mkdir -p {shlex.quote(root)} && test -w {shlex.quote(root)}"))
    hint = None if writable.ok else "pick a remote_root the login user can write"
    checks.append(Check("remote_root", writable.ok, root, hint))
    if site.scheduler == "slurm":
        checks.extend(_slurm_checks(transport, site))
        checks.extend(_node_checks(transport, site))
    else:
        from hpcrun.ops.capacity import this_machine

        checks.append(Check("this machine", True, this_machine().describe()))
    checks.extend(_module_checks(transport, site))
    return checks


def _slurm_checks(transport: Any, site: Any) -> list[Check]:
    version = transport.run(["sbatch", "--version"])
    if not version.ok:
        detail = version.stderr.strip() or "not found"
        return [Check("sbatch", False, detail, "point login.host at a Slurm login node")]
    checks = [Check("sbatch", True, version.stdout.strip())]
    info = transport.run(["sinfo", "--noheader", "--format=%R|%G"])
    if not info.ok:
        return [*checks, Check("sinfo", False, info.stderr.strip())]
    partitions: set[str] = set()
    gres: set[str] = set()
    for line in info.stdout.splitlines():
        name, _, generic = line.partition("|")
        partitions.add(name.strip())
        for item in generic.split(","):
            parts = item.split(":")
            if len(parts) >= 3 and parts[0] == "gpu":
                gres.add(parts[1])
    known = ", ".join(sorted(partitions))
    roles = (("default", site.partitions.default), ("preemptible", site.partitions.preemptible))
    for role, name in roles:
        if name:
            hint = None if name in partitions else f"partitions here: {known}"
            checks.append(Check(f"partition {role}", name in partitions, name, hint))
    types = ", ".join(sorted(gres)) or "none"
    for label, gpu in site.gpus.items():
        hint = None if gpu.gres in gres else f"gres types here: {types}"
        checks.append(Check(f"gpu {label}", gpu.gres in gres, f"gres gpu:{gpu.gres}", hint))
    return checks


def _node_checks(transport: Any, site: Any) -> list[Check]:
    """The largest node and MaxTime of each partition (one sinfo): what `render --check`
    compares jobs against."""
    from hpcrun.ops.capacity import site_capacity
    from hpcrun.schedulers.slurm_nodes import summary

    try:
        capacity = site_capacity(transport)
    except HpcrunError as exc:
        return [Check("nodes", False, exc.message, "hpcrun needs `sinfo --Node` to work")]
    checks = [Check(f"nodes {name}", True, text) for name, text in summary(capacity).items()]
    return checks + _time_checks(capacity, site)


def _time_checks(capacity: Any, site: Any) -> list[Check]:
    """defaults.time against each partition's MaxTime. A partition the site sends jobs to
    fails; any other one is a warning (only a run with --partition would go there)."""
    from hpcrun.durations import normalise
    from hpcrun.schedulers.slurm_nodes import time_refusals

    time = normalise(site.defaults.time)
    refusing = time_refusals(capacity, time)
    if not refusing:
        return [Check("time", True, f"defaults.time {time} is within every partition's MaxTime")]
    used = {
        site.partitions.default or capacity.default,
        site.partitions.preemptible,
        *(gpu.partition for gpu in site.gpus.values()),
    }
    checks = []
    for name, limit in refusing.items():
        if name in used:
            checks.append(Check(
                f"time {name}", False,
                f"defaults.time {time} is over the MaxTime {limit} of partition '{name}', "
                "which this site sends jobs to: Slurm would refuse them or leave them "
                "pending (PartitionTimeLimit)",
                f"set defaults.time to {limit} or less in the site config",
            ))  # fmt: skip
        else:
            checks.append(Check(
                f"time {name}", True,
                f"MaxTime {limit} is below defaults.time {time}: a run sent there with "
                f"--partition {name} needs --time {limit} or less",
                warning=True,
            ))  # fmt: skip
    return checks


def _module_checks(transport: Any, site: Any) -> list[Check]:
    """A version table: each module must load and give a python3. A template: list what
    the cluster has (versions are only known when a workflow asks for one)."""
    python = site.modules.python
    if not python:
        return []
    init = f"source {shlex.quote(site.modules.init)} && " if site.modules.init else ""
    if isinstance(python, str):
        listing = transport.run(Shell(f"{init}module -t avail python 2>&1"))
        return [Check("python modules", listing.ok, " ".join(listing.stdout.split()) or "none")]
    checks = []
    for version, module in python.items():
        result = transport.run(Shell(f"{init}module load {shlex.quote(module)} && python3 -V"))
        detail = result.stdout.strip() if result.ok else " ".join(result.stderr.split())[-200:]
        checks.append(Check(f"python {version}", result.ok, f"{module}: {detail}"))
    return checks
