"""What the SSH transports share without paramiko: where to connect (a site's ``login``
combined with what ``~/.ssh/config`` says), how a command line is quoted and shown, and
the words of every connection failure (built from plain strings, so that the paramiko
and the OpenSSH transport explain the same problem the same way).
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import os
import shlex
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcrun.site.models import Login
from hpcrun.transport.base import Command, Shell, TransportError

_DEFAULT_KEYS = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_dsa")
_NETWORK_HINT = "check the host and port, your network, VPN or firewall"


@dataclass(frozen=True)
class Endpoint:
    """Where to connect, after ``~/.ssh/config`` (explicit site values win)."""

    name: str  # as written in the site config (maybe an alias)
    host: str
    port: int
    user: str
    identity_files: tuple[str, ...]
    known_hosts: str
    proxy_jump: str | None
    proxy_command: str | None = None  # from ~/.ssh/config; ProxyJump wins over it
    role: str | None = None  # e.g. "jump host 1 of 2": named in every message about it

    def __str__(self) -> str:
        return f"{self.host}:{self.port}" + (f" ({self.role})" if self.role else "")


def endpoint_for(login: Login, found: Mapping[str, Any]) -> Endpoint:
    """Combine a site's ``login`` with the ``~/.ssh/config`` entry ``found`` for its host
    (keys lower-case, as ``paramiko.SSHConfig.lookup`` gives them)."""
    explicit_port = "port" in login.model_fields_set
    port = login.port if explicit_port or "port" not in found else int(found["port"])
    if login.identity_file:
        identities: tuple[str, ...] = (os.path.expanduser(login.identity_file),)
    else:
        identities = tuple(os.path.expanduser(f) for f in found.get("identityfile", []))
    known_hosts = login.known_hosts or (found.get("userknownhostsfile") or "").split(" ")[0]
    jump = login.proxy_jump or found.get("proxyjump")
    command = None if login.proxy_jump else found.get("proxycommand")
    return Endpoint(
        name=login.host,
        host=found.get("hostname", login.host),
        port=port,
        user=login.user or found.get("user") or getpass.getuser(),
        identity_files=identities,
        known_hosts=os.path.expanduser(known_hosts or "~/.ssh/known_hosts"),
        proxy_jump=None if jump in (None, "none") else jump,
        proxy_command=None if command in (None, "none") else command,
    )


def jump_login(endpoint: Endpoint) -> Login:
    """The login of the last ProxyJump hop before ``endpoint`` (the earlier hops become
    its own ProxyJump)."""
    assert endpoint.proxy_jump is not None
    *before, last = [hop.strip() for hop in endpoint.proxy_jump.split(",")]
    user, _, hostport = last.rpartition("@")
    host, port = _split_host_port(hostport)
    return Login(
        host=host,
        **({"port": port} if port is not None else {}),
        user=user or None,
        identity_file=None,
        known_hosts=endpoint.known_hosts,
        proxy_jump=",".join(before) or None,
    )


def _split_host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return text, None


def key_fingerprint(blob: bytes) -> str:
    """``SHA256:...`` of a public key blob, exactly as OpenSSH prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


# --------------------------------------------------------------------------- commands


def remote_command(command: Command) -> tuple[str, str]:
    """(the command line sent to the server, what to show in messages)."""
    if isinstance(command, Shell):
        return f"bash -c {shlex.quote(command.code)}", command.code
    line = shlex.join(list(command))
    return line, line


def short_command(shown: str) -> str:
    first = shown.strip().splitlines()[0] if shown.strip() else shown
    return first if len(first) <= 80 and first == shown.strip() else first[:77] + "..."


def command_timed_out(shown: str, limit: float | None, where: str) -> TransportError:
    return TransportError(
        f"'{short_command(shown)}' timed out after {limit:.0f}s on {where}",
        hint="it may still be running there; raise the timeout if it needs longer",
    )


def command_dropped(where: str, shown: str, cause: str, *, reconnects: bool) -> TransportError:
    """``cause``: appended to the message as it is (e.g. ``" (EOF)"`` or ``": why"``)."""
    again = "reconnects on the next call but never repeats" if reconnects else "never repeats"
    return TransportError(
        f"the connection to {where} dropped while running '{short_command(shown)}'{cause}",
        hint=f"it may or may not have run on the cluster; hpcrun {again} a command that "
        "may have started",
    )


# --------------------------------------------------------------------------- connecting


def host_key_unknown(
    host: str,
    port: int,
    user: str | None,
    known_hosts: str,
    presents: str,
    *,
    role: str | None = None,
    behind: str = "",
) -> TransportError:
    """``presents``: appended after "is unknown" (e.g. ``" (it presents ...)"``);
    ``role``: e.g. "jump host 2 of 2"; ``behind``: the jump hosts (ssh's ``-J`` value)
    before this host, which ssh-keyscan cannot pass."""
    login = f"{user}@" if user else ""
    # `ssh` records the key in ~/.ssh/known_hosts unless told which file the site uses
    default = os.path.expanduser("~/.ssh/known_hosts")
    file_option = (
        ""
        if os.path.expanduser(known_hosts) == default
        else (f"-o UserKnownHostsFile={shlex.quote(known_hosts)} ")
    )
    where = f"{host}:{port}" + (f" ({role})" if role else "")
    if behind:  # reachable only through the jump hosts: no ssh-keyscan
        how = (
            f"connect once with `ssh {file_option}-J {behind} -p {port} {login}{host}` (it "
            "shows the key and offers to record it; ssh checks the jump hosts themselves "
            "against ~/.ssh/known_hosts there)"
        )
    else:
        how = (
            f"trust it with `{keyscan_command(host, port, known_hosts)}` (or connect once "
            f"with `ssh {file_option}-p {port} {login}{host}`)"
        )
    return TransportError(
        f"the host key of {where} is unknown{presents}; refusing to connect",
        hint=f"check that fingerprint with the cluster's documentation or admins, then {how}",
    )


def keyscan_command(host: str, port: int, known_hosts: str) -> str:
    """The shell command that records the host's keys in ``known_hosts``: ``>>`` fails
    where the file's folder does not exist yet (no ~/.ssh on a fresh machine), so the
    command makes it first then, private as ssh wants it."""
    path = os.path.expanduser(known_hosts)
    folder = os.path.dirname(path)
    mkdir = (
        f"mkdir -p -m 700 {shlex.quote(folder)} && " if folder and not os.path.isdir(folder) else ""
    )
    return f"{mkdir}ssh-keyscan -p {port} {shlex.quote(host)} >> {shlex.quote(path)}"


def host_key_changed(where: str, presents: str, hint: str) -> TransportError:
    return TransportError(
        f"WARNING: THE HOST KEY OF {where} HAS CHANGED: it now presents {presents}. "
        "Someone may be intercepting the connection (man-in-the-middle), or the server "
        "was reinstalled; refusing to connect",
        hint=hint,
    )


def endpoint_key_changed(endpoint: Endpoint, got: str, expected: str) -> TransportError:
    """``got``, ``expected``: ``"<type> SHA256:..."`` of the presented and the known key."""
    e = endpoint
    entry = e.host if e.port == 22 else f"[{e.host}]:{e.port}"
    return host_key_changed(
        str(e),
        f"{got}, but {e.known_hosts} has {expected}",
        hint=f"only if the cluster's admins confirm the new key: `ssh-keygen -R '{entry}' -f "
        f"{e.known_hosts}`, then trust the new key as for a new host",
    )


def host_key_revoked(where: str, presents: str, known_hosts: str) -> TransportError:
    """``presents``: the key (``"<type> SHA256:..."``); ``known_hosts``: the file, with
    ``:line`` when it is known."""
    return TransportError(
        f"the host key of {where} ({presents}) is marked @revoked in {known_hosts}; "
        "refusing to connect: a revoked key may be stolen and used to impersonate the host",
        hint="ask the cluster's admins for the host's current key; do not remove the "
        "@revoked line to get in",
    )


def host_key_signed_by_ca(where: str, known_hosts: str, presents: str) -> TransportError:
    """The host is known only through ``@cert-authority`` lines (``known_hosts``: the file
    and the line(s)), which the paramiko transport cannot check."""
    return TransportError(
        f"{where} is known only through a @cert-authority line in {known_hosts}: its host "
        f"keys are signed by a CA, which the paramiko transport cannot check (it presents "
        f"{presents}); refusing to connect",
        hint="set `transport: openssh` in the site's login (ssh checks host certificates), "
        "or add the host's plain key to known_hosts after checking its fingerprint with "
        "the cluster's documentation or admins",
    )


def connection_refused(where: str) -> TransportError:
    return TransportError(
        f"connection to {where} refused",
        hint="check login.host and login.port; is sshd running there?",
    )


def no_answer(where: str, timeout: float, detail: str = "") -> TransportError:
    return TransportError(f"no answer from {where} within {timeout:g}s{detail}", hint=_NETWORK_HINT)


def socket_error(endpoint: Endpoint, exc: OSError, timeout: float) -> TransportError:
    where = f"{endpoint.host}:{endpoint.port}"
    if isinstance(exc, socket.gaierror):
        return TransportError(
            f"cannot resolve host name '{endpoint.host}' ({exc.strerror})",
            hint="check login.host in the site config (or the Host/HostName in ~/.ssh/config)",
        )
    if isinstance(exc, ConnectionRefusedError):
        return connection_refused(where)
    if isinstance(exc, TimeoutError):
        return no_answer(where, timeout)
    return TransportError(f"cannot reach {where}: {exc.strerror or exc}", hint=_NETWORK_HINT)


def passphrase_needed(endpoint: Endpoint) -> TransportError:
    return TransportError(
        f"the key for {endpoint.user}@{endpoint} is protected by a passphrase",
        hint="load it into ssh-agent (`ssh-add KEYFILE`) and retry",
    )


def has_terminal() -> bool:
    """Whether someone can be asked (a second factor, a password): stdin is a terminal.
    Under cron, in pipelines and in tests it is not, and nothing may wait for input."""
    return sys.stdin is not None and sys.stdin.isatty()


def second_factor_without_terminal(
    where: str, methods: str, *, host: str = "HOST", openssh: bool = False
) -> TransportError:
    """The login needs more than the key (``methods``, e.g. "keyboard-interactive") and
    nobody can be asked: fail at once, never wait for input. ``host``: as the user's
    ssh_config knows it (the site's login.host)."""
    master = (
        f"open a master connection first: from a terminal, log in once with `ssh -fN {host}` "
        "through the ControlMaster block in ~/.ssh/config (see the SSH guide), or run any "
        "hpcrun command for this site there; hpcrun rides it while it lasts"
    )
    if not openssh:
        master = f"set `transport: openssh` in the site's login and {master}"
    return TransportError(
        f"{where} asks for a second factor after the key ({methods}), and there is no "
        "terminal to ask it on (cron, a pipe or a script); refusing to wait for input",
        hint=f"{master}; or ask the site for an automation key without a second factor",
    )


def login_refused(endpoint: Endpoint) -> TransportError:
    return TransportError(
        f"{endpoint} refused the login of user '{endpoint.user}' (keys tried: "
        f"{_tried_keys(endpoint)})",
        hint="check login.user and login.identity_file, and that the public key is in "
        "~/.ssh/authorized_keys on the cluster (or use transport: openssh for "
        "password/MFA logins)",
    )


def _tried_keys(endpoint: Endpoint) -> str:
    tried = list(endpoint.identity_files)
    if os.environ.get("SSH_AUTH_SOCK"):
        tried.append("the keys in ssh-agent")
    if not endpoint.identity_files:
        tried += [
            str(p)
            for name in _DEFAULT_KEYS
            if (p := Path(os.path.expanduser("~/.ssh")) / name).is_file()
        ]
    return ", ".join(tried) or "none (no identity_file, no ssh-agent, no ~/.ssh/id_* key)"


def handshake_failed(
    endpoint: Endpoint, text: str, timeout: float, *, protocol_error: bool
) -> TransportError | None:
    """The error for a failed SSH handshake whose exception says ``text``; ``None`` if it
    is not recognisably one (``protocol_error``: it was an SSH or EOF error)."""
    if "banner" in text.lower():
        return TransportError(
            f"{endpoint} accepted the connection but sent no SSH greeting within {timeout:g}s",
            hint="is that port an SSH server? (an overloaded or firewalled login node "
            "can also do this; retry later)",
        )
    if "No existing session" in text or "Negotiation" in text:
        return TransportError(
            f"the SSH handshake with {endpoint} did not finish within {timeout:g}s",
            hint="the server or the network is too slow or filtered; retry later",
        )
    if protocol_error:
        return TransportError(
            f"the SSH connection to {endpoint} failed: {text or 'closed by the server'}",
            hint="check that the server is an SSH server and accepts you (its log may say why)",
        )
    return None
