"""What the OpenSSH transport needs to reach a login node through jump hosts, and to read
ssh's words about them (pure functions, no ssh run here).

``ssh -J`` starts one ``ssh -W`` per hop, but passes it only ``-F``: the site's
``known_hosts``, ``StrictHostKeyChecking=yes``, ``BatchMode`` and key never reach the hops,
which then check host keys against ``~/.ssh/known_hosts`` (or ask to accept them). So
hpcrun writes the chain out as nested ``ProxyCommand``s instead, every hop with the same
checks as the login node itself.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Hop:
    """One ProxyJump hop, as written: ``[user@]host[:port]``."""

    text: str
    user: str | None
    host: str
    port: int | None

    def destination(self) -> list[str]:
        """``ssh`` arguments that name this hop (no ``-p``: ssh_config may set the port)."""
        options = ["-l", self.user] if self.user else []
        if self.port is not None:
            options += ["-p", str(self.port)]
        return [*options, self.host]


def parse_hops(proxy_jump: str) -> list[Hop]:
    """``a,bob@b:2222,[::1]:22`` -> the hops, first hop first."""
    hops = []
    for text in (part.strip() for part in proxy_jump.split(",")):
        user, _, hostport = text.rpartition("@")
        if hostport.startswith("["):
            host, _, rest = hostport[1:].partition("]")
            port = int(rest[1:]) if rest.startswith(":") else None
        else:
            host, sep, digits = hostport.rpartition(":")
            host, port = (host, int(digits)) if sep and digits.isdigit() else (hostport, None)
        hops.append(Hop(text, user or None, host, port))
    return hops


def _literal(word: str) -> str:
    """``word`` as a ProxyCommand word: shell-quoted, ``%`` doubled (ssh expands %-tokens
    in ProxyCommand before the shell sees it)."""
    return shlex.quote(word.replace("%", "%%"))


def proxy_command(hops: Sequence[Hop], options: Sequence[str]) -> str:
    """The ``ProxyCommand`` that reaches the host after ``hops[-1]`` through every hop,
    each hop an ``ssh OPTIONS -W [%h]:%p HOP`` whose own ProxyCommand is the chain before
    it. ``%h``/``%p`` are left for the ssh that runs the command to fill in; every other
    ``%`` is escaped once per level of nesting."""
    assert hops
    *before, last = hops
    words = ["ssh", *options]
    if before:
        words += ["-o", "ProxyCommand=" + proxy_command(before, options)]
    words += [*last.destination()]
    head = " ".join(_literal(word) for word in words[:-1])
    return f"{head} -W '[%h]:%p' {_literal(words[-1])}"


# ------------------------------------------------------------------ ssh's messages

_NAMED_HOST = (
    r"(?:No \w+ host key is known for|Host key for|host key for) (\S+?)"
    r"(?: has changed| is marked as revoked| and you have requested|\.?\s)"
)


def host_in_message(stderr: str) -> tuple[str, int] | None:
    """The ``(host, port)`` that ssh names in a host key failure, if it names one."""
    found = re.search(_NAMED_HOST, stderr)
    if found is None:
        return None
    name = found.group(1).rstrip(".")
    if name.startswith("["):
        host, _, rest = name[1:].partition("]")
        return host, int(rest[1:]) if rest[1:].isdigit() else 22
    return name, 22


def failing_hop(hops: Sequence[Hop], host: str, port: int) -> int | None:
    """The index of the hop that ssh names as ``host:port`` (None: the login node)."""
    for index, hop in enumerate(hops):
        if hop.host == host and (hop.port or 22) == port:
            return index
    return None


def presented_key(verbose_stderr: str) -> str:
    """``ssh-ed25519 SHA256:...`` from ``ssh -v`` ("Server host key: ..."), or for a host
    certificate also the CA that signed it; "" if ssh did not say."""
    fingerprint = r"(\S+) (SHA256:[A-Za-z0-9+/=]+)"
    found = re.search(rf"Server host key: {fingerprint}", verbose_stderr)
    if found:
        return f"{found.group(1)} {found.group(2)}"
    found = re.search(rf"Server host certificate: {fingerprint}.* CA {fingerprint}", verbose_stderr)
    if found:
        return (
            f"{found.group(1)} {found.group(2)}, signed by the CA {found.group(3)} {found.group(4)}"
        )
    return ""


def needs_second_factor(stderr: str) -> bool:
    """ssh gave up on a login that asks more than a key (keyboard-interactive or a
    password, e.g. a one-time code) because it could not ask anyone."""
    denied = re.search(r"Permission denied \(([^)]*)\)", stderr)
    methods = denied.group(1).split(",") if denied else []
    return any(m in ("keyboard-interactive", "password") for m in methods)
