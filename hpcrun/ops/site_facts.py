"""The facts ``site check`` needs from a cluster, gathered by ONE remote script.

Each fact is a section of the script: a command whose output (stdout and stderr) and
exit status are printed between ``@@<token>`` lines, so the sections can be told apart
whatever a command prints. Building the script and reading its output are pure.
"""

from __future__ import annotations

import re
import secrets
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hpcrun.schedulers.slurm_arrays import scontrol_config_argv
from hpcrun.schedulers.slurm_nodes import sinfo_nodes_argv


@dataclass(frozen=True)
class Section:
    status: int  # the command's exit status (-1: the script ended inside it)
    output: str  # its stdout and stderr, as printed

    @property
    def ok(self) -> bool:
        return self.status == 0


def new_token() -> str:
    return f"HPCRUN-FACT-{secrets.token_hex(6)}"


def _section(token: str, name: str, code: str) -> str:
    # the leading newline of the end line ends an output without one; parse_facts drops it
    return (
        f"printf '%s begin %s\\n' {token} {shlex.quote(name)}\n"
        f"( {code}\n) 2>&1 </dev/null\n"
        f"printf '\\n%s end %s %s\\n' {token} {shlex.quote(name)} $?\n"
    )


def module_prefix(init: str | None) -> str:
    """``source INIT && `` (or nothing): what makes ``module`` exist in a fresh shell."""
    return f"source {shlex.quote(init)} && " if init else ""


def facts_script(site: Any, remote_root: str, token: str) -> str:
    """The script: remote root, Slurm (version, MaxArraySize, partitions, nodes),
    ``modules.init`` and the Python modules, each its own section."""
    quoted_root = shlex.quote(remote_root)
    parts = [_section(token, "remote_root", f"mkdir -p {quoted_root} && test -w {quoted_root}")]
    if site.scheduler == "slurm":
        parts += [
            _section(token, "version", "sbatch --version"),
            _section(token, "config", shlex.join(scontrol_config_argv())),
            _section(token, "partitions", "sinfo --noheader --format='%R|%G'"),
            _section(token, "nodes", shlex.join(sinfo_nodes_argv())),
        ]
        from hpcrun.ops import site_preempt  # it reads Section from here

        if site_preempt.wanted_qos(site):  # does each QOS the site names exist?
            parts.append(_section(token, site_preempt.QOS_SECTION, site_preempt.QOS_COMMAND))
    init = site.modules.init
    if init:
        parts.append(_section(token, "init", f"test -f {shlex.quote(init)}"))
    python = site.modules.python
    prefix = module_prefix(init)
    if isinstance(python, str) and python:
        parts.append(_section(token, "python", f"{prefix}module -t avail python"))
    elif isinstance(python, Mapping):
        for version, module in python.items():
            code = f"{prefix}module load {shlex.quote(module)} && python3 -V"
            parts.append(_section(token, f"python {version}", code))
    return "set +e\n" + "".join(parts)


def parse_facts(stdout: str, token: str) -> dict[str, Section]:
    """Section name -> what it printed and its status (pure)."""
    sections: dict[str, Section] = {}
    begin = re.compile(rf"^{re.escape(token)} begin (.+)$", re.M)
    end = re.compile(rf"\n{re.escape(token)} end (.+) (-?\d+)$", re.M)
    for opened in begin.finditer(stdout):
        name = opened.group(1)
        rest = stdout[opened.end() + 1 :]
        closed = end.search(rest)
        if closed is None or closed.group(1) != name:
            sections[name] = Section(-1, rest.split(f"{token} begin", 1)[0])
            continue
        sections[name] = Section(int(closed.group(2)), rest[: closed.start()])
    return sections


def slurm_version(output: str) -> str | None:
    """``slurm-wlm 22.05.8`` / ``slurm 23.11.4`` -> the version."""
    match = re.search(r"\bslurm(?:-wlm)?\s+(\d+\.\d+[\w.-]*)", output)
    return match.group(1) if match else None


def gres_types(output: str) -> tuple[set[str], set[str]]:
    """(partitions, GPU gres types) from ``sinfo --format=%R|%G`` lines."""
    partitions: set[str] = set()
    types: set[str] = set()
    for line in output.splitlines():
        if "|" not in line:
            continue
        name, _, generic = line.partition("|")
        partitions.add(name.strip())
        for item in re.split(r",(?=[a-z])", generic):
            parts = item.split(":")
            if len(parts) >= 3 and parts[0] == "gpu":
                types.add(parts[1])
    return partitions, types
