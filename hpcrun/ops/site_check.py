"""``hpcrun site check``: does a site config match the live cluster?

Three round trips for a Slurm site: the login shell check (which also connects and learns
the home folder), ONE script for every fact (``site_facts``), and, with ``--deep``, ONE
command that submits a tiny job and waits for it (``site_deep``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from hpcrun.errors import HpcrunError
from hpcrun.ops import site_deep, site_facts, site_preempt
from hpcrun.ops.session import Session
from hpcrun.transport.base import Shell, expand_home

DEEP_WAIT_SECONDS = 300


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    hint: str | None = None
    warning: bool = False  # ok, but worth reading (shown as "warn"; exit code stays 0)


def check_site(
    session: Session, site_name: str | None, *, deep: bool = False,
    deep_wait: int = DEEP_WAIT_SECONDS,
) -> list[Check]:  # fmt: skip
    site, path = session.site(site_name)
    checks = [Check("config", True, str(path))]
    started = time.monotonic()
    try:
        transport = session.transport(site)
        shell = _login_shell(transport)
        home = transport.home()
    except HpcrunError as exc:
        return [*checks, Check("connect", False, exc.message, exc.hint)]
    checks.append(Check("connect", True, f"{transport.name} in {time.monotonic() - started:.2f}s"))
    if shell is not None:
        checks.append(shell)
    root = expand_home(site.remote_root or "~/hpcrun", home)
    token = site_facts.new_token()
    try:
        result = transport.run(Shell(site_facts.facts_script(site, root, token)), timeout=300)
    except HpcrunError as exc:
        return [*checks, Check("facts", False, exc.message, exc.hint)]
    facts = site_facts.parse_facts(result.stdout, token)
    checks.append(_root_check(facts, root))
    if site.scheduler == "slurm":
        checks.extend(_slurm_checks(facts, site))
    else:
        from hpcrun.ops.capacity import this_machine

        checks.append(Check("this machine", True, this_machine().describe()))
    checks.extend(_module_checks(facts, site))
    if deep and site.scheduler == "slurm":
        checks.extend(_deep_checks(transport, site, root, deep_wait))
    return checks


def _login_shell(transport: Any) -> Check | None:
    """The login shell check, reported instead of raised: with a noisy shell every other
    check still runs (their output is kept between markers, see transport.shell_noise)."""
    probe = getattr(transport, "login_shell", None)
    if probe is None:  # this machine: no login shell in between
        return None
    transport.require_clean_shell = False
    verdict = probe()
    if verdict.clean:
        if verdict.stderr_noise.strip():
            from hpcrun.transport.shell_noise import first_line

            return Check(
                "login shell", True,
                f"prints {first_line(verdict.stderr_noise)!r} on stderr for every command: "
                "harmless to hpcrun (only stdout must stay clean)",
                warning=True,
            )  # fmt: skip
        return Check("login shell", True, "clean (a command prints nothing but its own output)")
    error = transport.not_clean_error(verdict)
    return Check("login shell", False, error.message, error.hint)


def _detail(section: site_facts.Section | None, limit: int = 200) -> str:
    if section is None:
        return "not run (the facts script ended early)"
    text = " ".join(section.output.split())
    return text[-limit:] or f"exit code {section.status}"


def _root_check(facts: dict[str, site_facts.Section], root: str) -> Check:
    section = facts.get("remote_root")
    if section is not None and section.ok:
        return Check("remote_root", True, root)
    return Check("remote_root", False, f"{root}: {_detail(section)}",
                 "pick a remote_root the login user can write")  # fmt: skip


def _slurm_checks(facts: dict[str, site_facts.Section], site: Any) -> list[Check]:
    version = facts.get("version")
    found = site_facts.slurm_version(version.output) if version and version.ok else None
    if found is None:
        return [Check("slurm", False, f"sbatch: {_detail(version)}",
                      "point login.host at a Slurm login node")]  # fmt: skip
    checks = [Check("slurm", True, f"version {found}"), _array_check(facts.get("config"))]
    listing = facts.get("partitions")
    if listing is None or not listing.ok:
        return [*checks, Check("sinfo", False, _detail(listing))]
    partitions, gres = site_facts.gres_types(listing.output)
    known = ", ".join(sorted(partitions))
    roles = (("default", site.partitions.default), ("preemptible", site.partitions.preemptible))
    for role, name in roles:
        if name:
            hint = None if name in partitions else f"partitions here: {known}"
            checks.append(Check(f"partition {role}", name in partitions, name, hint))
    checks.extend(site_preempt.checks(facts, site, partitions))
    types = ", ".join(sorted(gres)) or "none"
    for label, gpu in site.gpus.items():
        if gpu.gres is None:  # chosen by constraint/partition: no gres type to look for
            how = f"constraint {gpu.constraint}" if gpu.constraint else "gres gpu (any type)"
            checks.append(Check(f"gpu {label}", True, how))
            continue
        hint = None if gpu.gres in gres else f"gres types here: {types}"
        checks.append(Check(f"gpu {label}", gpu.gres in gres, f"gres gpu:{gpu.gres}", hint))
    return checks + _node_checks(facts.get("nodes"), site)


def _array_check(section: site_facts.Section | None) -> Check:
    from hpcrun.schedulers.slurm_arrays import parse_max_array_size

    if section is None or not section.ok:
        return Check("MaxArraySize", True, f"unknown: scontrol show config: {_detail(section)}",
                     warning=True)  # fmt: skip
    size = parse_max_array_size(section.output)
    if size < 2:
        return Check(
            "MaxArraySize", True,
            f"{size}: job arrays hold one task at most here: a sweep submits one job per point",
            warning=True,
        )  # fmt: skip
    return Check(
        "MaxArraySize", True, f"{size} (a sweep is split into arrays of at most {size} tasks)"
    )


def _node_checks(section: site_facts.Section | None, site: Any) -> list[Check]:
    """The largest node and MaxTime of each partition (what `render --check` compares
    jobs against), and defaults.time against each MaxTime."""
    from hpcrun.schedulers.slurm_nodes import parse_sinfo_nodes, summary

    if section is None or not section.ok:
        return [Check("nodes", False, f"sinfo failed: {_detail(section)}",
                      "hpcrun needs `sinfo --Node` to work")]  # fmt: skip
    capacity = parse_sinfo_nodes(section.output)
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
        site.interruptible_partition(),
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


def _module_checks(facts: dict[str, site_facts.Section], site: Any) -> list[Check]:
    """modules.init must exist. A version table: each module must load and give a
    python3. A template: list what the cluster has (versions are only known when a
    workflow asks for one)."""
    checks = []
    init = site.modules.init
    if init:
        section = facts.get("init")
        ok = section is not None and section.ok
        checks.append(Check(
            "modules.init", ok, f"{init} exists" if ok else f"{init} does not exist",
            None if ok else "fix modules.init, or leave it out if `module` works in a "
            "fresh login shell without it",
        ))  # fmt: skip
    python = site.modules.python
    if isinstance(python, str) and python:
        section = facts.get("python")
        listing = " ".join(section.output.split()) if section else ""
        checks.append(Check("python modules", bool(section and section.ok), listing or "none"))
    elif isinstance(python, dict):
        for version, module in python.items():
            section = facts.get(f"python {version}")
            ok = section is not None and section.ok
            detail = section.output.strip().splitlines()[-1] if ok and section else _detail(section)
            checks.append(Check(f"python {version}", ok, f"{module}: {detail}"))
    return checks


def _deep_checks(transport: Any, site: Any, root: str, wait: int) -> list[Check]:
    """A tiny job on a compute node: the Python module, the package index."""
    command = site_deep.deep_command(site, root, wait)
    try:
        result = transport.run(Shell(command), timeout=wait + 120)
    except HpcrunError as exc:
        return [Check("test job", False, exc.message, exc.hint)]
    found = site_deep.parse_deep(result.stdout)
    if found.timed_out:
        return [Check("test job", False, f"job {found.job or '?'} did not end within {wait}s "
                      "(cancelled)", "the queue may be busy: retry later, or with a "
                      "larger --deep-timeout")]  # fmt: skip
    if found.python is None:
        why = found.sbatch_error or _detail(site_facts.Section(result.returncode, result.stdout))
        return [Check("test job", False, f"sbatch failed: {why}",
                      "check partitions.default, defaults.account and defaults.qos")]  # fmt: skip
    node = found.node or "the compute node"
    checks = [Check("test job", True, f"job {found.job} ran on {node}")]
    version, module = site_deep.python_module(site)
    loaded, detail = found.python
    what = f"module {module}" if module else "python3 (no module)"
    checks.append(Check(
        f"compute python {version}", loaded,
        f"{what} on {node}: {detail}" if loaded else f"{what} fails on {node}: {detail}",
        None if loaded else "a run with no `version:` gets Python "
        f"{version}: fix modules.python, or set defaults.python to a version the site has",
    ))  # fmt: skip
    checks.append(_index_check(found, node, site))
    return checks


def _index_check(found: site_deep.DeepResult, node: str, site: Any) -> Check:
    if found.index is None:
        return Check("package index", False, f"not tried on {node} (no python3 there)")
    reached, url, reason = found.index
    if reached:
        return Check("package index", True, f"{node} reaches {url}")
    detail = f"{node} cannot reach {url} ({reason})"
    if site.env_build == "login":
        return Check("package index", True, f"{detail}; env_build: login builds "
                     "environments on the login node instead", warning=True)  # fmt: skip
    login = found.login_index
    if login is not None and login[0]:
        hint = ("set `env_build: login` in the site config: environments are then built "
                "on the login node (which reaches it) when a run is submitted")  # fmt: skip
    else:
        why = f" ({login[2]})" if login and login[2] else ""
        hint = ("`env_build: login` (environments built on the login node at submit time) "
                f"is the usual fix, but the login node cannot reach it either{why}: point "
                "pip at an index both can reach (PIP_INDEX_URL or pip.conf on the cluster), "
                "or submit workflows without requirements")  # fmt: skip
    return Check("package index", False, detail, hint)
