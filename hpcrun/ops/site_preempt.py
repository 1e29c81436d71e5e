"""``site check`` for interruptible work (docs/interruptible.md): the partition and QOS such
runs really get, and whether the controller warns a job it preempts.

The facts come from the one facts script (``site_facts``): ``scontrol show config`` (already
read for MaxArraySize) and, when the site names a QOS, ``sacctmgr -n -P show qos``. Reading
them is pure.
"""

from __future__ import annotations

import re
from typing import Any

from hpcrun.ops.site_facts import Section

QOS_SECTION = "qos"
QOS_COMMAND = "sacctmgr -n -P show qos format=name"
SEND_USER_SIGNAL = "preempt_send_user_signal"

_PARAMETERS = re.compile(r"^\s*SlurmctldParameters\s*=\s*(.*)$", re.M)


def slurmctld_parameters(config: str) -> set[str]:
    """The options of ``SlurmctldParameters`` in ``scontrol show config`` (``a,b=1`` ->
    {a, b}); empty when unset (``(null)``) or absent."""
    match = _PARAMETERS.search(config)
    if match is None:
        return set()
    return {
        item.split("=", 1)[0].strip()
        for item in match.group(1).split(",")
        if item.strip() and item.strip() != "(null)"
    }


def qos_names(output: str) -> set[str]:
    """QOS names from ``sacctmgr -n -P show qos format=name`` (one a line)."""
    return {line.strip() for line in output.splitlines() if line.strip()}


def wanted_qos(site: Any) -> dict[str, str]:
    """Where each QOS the site names comes from -> the QOS (checked when present)."""
    named = {}
    if site.interruptible is not None and site.interruptible.qos:
        named["interruptible.qos"] = site.interruptible.qos
    if site.defaults.qos:
        named["defaults.qos"] = site.defaults.qos
    return named


def takes_interruptible_work(site: Any) -> bool:
    return site.interruptible is not None or bool(site.partitions.preemptible)


def checks(facts: dict[str, Section], site: Any, partitions: set[str]) -> list[Any]:
    """The interruptible partition (when the site config names it in `interruptible:`; the
    `partition preemptible` check covers the other case), each QOS the site names, and the
    warning at preemption."""
    from hpcrun.ops.site_check import Check

    found: list[Any] = []
    chosen = site.interruptible.partition if site.interruptible is not None else None
    if chosen:
        hint = None if chosen in partitions else f"partitions here: {', '.join(sorted(partitions))}"
        found.append(Check("partition interruptible", chosen in partitions, chosen, hint))
    found.extend(_qos_checks(facts.get(QOS_SECTION), wanted_qos(site)))
    if takes_interruptible_work(site):
        found.append(_warning_check(facts.get("config"), site))
    return found


def _qos_checks(section: Section | None, wanted: dict[str, str]) -> list[Any]:
    from hpcrun.ops.site_check import Check

    if not wanted:
        return []
    listing = qos_names(section.output) if section is not None and section.ok else set()
    if not listing:
        # no accounting, sacctmgr missing or not allowed here: not a fault of the config
        why = " ".join(section.output.split())[:160] if section is not None else ""
        why = why or ("listed no QOS" if section is not None and section.ok else "not run")
        return [
            Check(f"qos {field}", True, f"{name}: not checked (sacctmgr: {why})", warning=True)
            for field, name in wanted.items()
        ]
    known = ", ".join(sorted(listing))
    found = []
    for field, name in wanted.items():
        hint = None
        if name not in listing:
            hint = (
                f"QOS here: {known}; set {field} to one of them "
                "(`sacctmgr show assoc user=$USER format=qos` lists the ones you may use)"
            )
        found.append(Check(f"qos {field}", name in listing, name, hint))
    return found


def _warning_check(config: Section | None, site: Any) -> Any:
    from hpcrun.ops.site_check import Check

    signal = f"SIG{site.interruptible.signal if site.interruptible is not None else 'USR1'}"
    if config is None or not config.ok:
        return Check("preemption warning", True, "unknown: scontrol show config failed",
                     warning=True)  # fmt: skip
    if SEND_USER_SIGNAL in slurmctld_parameters(config.output):
        return Check(
            "preemption warning", True,
            f"SlurmctldParameters has {SEND_USER_SIGNAL}: Slurm sends the job {signal} "
            "as soon as it is preempted, before SIGTERM",
        )  # fmt: skip
    return Check(
        "preemption warning", True,
        f"SlurmctldParameters lacks {SEND_USER_SIGNAL}: Slurm warns no job it preempts "
        f"(SIGTERM to its steps only); hpcrun's job script watches for that itself and "
        f"sends the program {signal}",
    )  # fmt: skip
