"""The SSH transport: paramiko, one connection per instance.

The connection opens on first use and carries every command (small files too: written
and read by plain commands, see ``remote``; no SFTP) and every rsync transfer (rsync runs
on an exec channel of it, see ``rsh_proxy``). Host
keys are checked against known_hosts and never added: an unknown or changed key is
refused with its SHA256 fingerprint, as OpenSSH prints it.

Reconnecting: when the connection has dropped, the next call opens a new one. A command
that was running when it dropped is NOT run again (it may have started: ``sbatch`` must
never submit twice); its call raises ``TransportError``. A command is retried on a fresh
connection only when its channel could not even be opened, so it cannot have started.

What needs no paramiko object (``~/.ssh/config`` values, messages, quoting) is in
``ssh_endpoint``; what both SSH transports share (``run``, rsync) in ``remote``.
paramiko is imported here and only here, lazily (``hpcrun --help`` stays fast).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import select
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpcrun.site.models import Login
from hpcrun.transport.base import TransportError
from hpcrun.transport.remote import RemoteTransport
from hpcrun.transport.rsh_proxy import Relay
from hpcrun.transport.ssh_endpoint import (
    Endpoint,
    command_dropped,
    command_timed_out,
    endpoint_for,
    endpoint_key_changed,
    handshake_failed,
    host_key_revoked,
    host_key_signed_by_ca,
    host_key_unknown,
    jump_login,
    key_fingerprint,
    login_refused,
    passphrase_needed,
    socket_error,
)
from hpcrun.transport.ssh_interactive import transport_factory
from hpcrun.transport.ssh_known_hosts import KnownHosts, host_name, paramiko_key
from hpcrun.transport.ssh_known_hosts import load as load_known_hosts

if TYPE_CHECKING:
    import paramiko

_CHUNK = 32768
_KEEPALIVE = 30
_POLL = 0.1


def resolve(login: Login, ssh_config: Path | None = None) -> Endpoint:
    """Combine a site's ``login`` with ``~/.ssh/config`` (or ``ssh_config``)."""
    return endpoint_for(login, _config_lookup(login.host, ssh_config))


def _config_lookup(host: str, ssh_config: Path | None) -> dict[str, Any]:
    import paramiko

    path = ssh_config or Path(os.path.expanduser("~/.ssh/config"))
    if not path.is_file():
        return {}
    try:
        return dict(paramiko.SSHConfig.from_path(str(path)).lookup(host))
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise TransportError(
            f"cannot read {path}: {exc}", hint="fix the SSH config file (see `man ssh_config`)"
        ) from None


def fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:...`` exactly as OpenSSH prints it (base64, no padding)."""
    return key_fingerprint(key.asbytes())


def _described(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {fingerprint(key)}"


class _RefuseUnknownHost:
    """paramiko's missing-host-key policy: never trust, explain how to. Called when the
    presented key is not among the host's plain keys: it may be revoked, or the host may
    be known only through a CA (see ``ssh_known_hosts``)."""

    def __init__(self, endpoint: Endpoint, known: KnownHosts) -> None:
        self.endpoint = endpoint
        self.known = known

    def missing_host_key(self, client: object, hostname: str, key: paramiko.PKey) -> None:
        e = self.endpoint
        revoked = _revoked_error(e, self.known, key)
        if revoked is not None:
            raise revoked
        authorities = self.known.authorities(host_name(e.host, e.port))
        if authorities:
            lines = ", ".join(str(entry.line) for entry in authorities)
            raise host_key_signed_by_ca(str(e), f"{e.known_hosts}:{lines}", _described(key))
        presents = f" ({_described(key)} is not in {e.known_hosts})"
        raise host_key_unknown(
            e.host, e.port, e.user, e.known_hosts, presents, role=e.role, behind=e.proxy_jump or ""
        )


def _revoked_error(
    endpoint: Endpoint, known: KnownHosts, key: paramiko.PKey
) -> TransportError | None:
    entry = known.revoked(key.asbytes())
    if entry is None:
        return None
    return host_key_revoked(str(endpoint), _described(key), f"{known.path}:{entry.line}")


def _known_host_keys(
    endpoint: Endpoint, host_keys: paramiko.HostKeys, warn: Callable[[str], None]
) -> KnownHosts:
    """Read the endpoint's known_hosts line by line and give paramiko the host's plain,
    unrevoked keys (under the name paramiko looks up: ``[host]:port`` off port 22)."""
    known = load_known_hosts(endpoint.known_hosts)
    for problem in known.skipped:
        warn(f"{problem} (line ignored, as ssh does)")
    name = host_name(endpoint.host, endpoint.port)
    for entry in known.plain_keys(name):
        key = paramiko_key(entry)
        if key is not None:
            host_keys.add(name, key.get_name(), key)
    return known


@dataclass(eq=False)
class SshTransport(RemoteTransport):
    """A Slurm login node over SSH with paramiko (see the module docstring)."""

    name = "ssh"

    # the connection (not constructor arguments: those are RemoteTransport's fields)
    _lock: threading.RLock = field(default_factory=threading.RLock, init=False, repr=False)
    _endpoint: Endpoint | None = field(default=None, init=False, repr=False)
    _client: paramiko.SSHClient | None = field(default=None, init=False, repr=False)
    _jumps: list[paramiko.SSHClient] = field(default_factory=list, init=False, repr=False)

    # ------------------------------------------------------------------ connection

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            self._endpoint = resolve(self.login, self.ssh_config)
        return self._endpoint

    def _where(self) -> str:
        return str(self.endpoint)

    def _transport(self) -> paramiko.Transport:
        """The live connection: opened on first use, reopened once after a drop."""
        with self._lock:
            if self._client is not None:
                live = self._client.get_transport()
                if live is not None and live.is_active():
                    return live
            self._disconnect()  # what is left of a dropped (or half-made) connection
            self._client = self._connect(self.endpoint)
            live = self._client.get_transport()
            assert live is not None
            live.set_keepalive(_KEEPALIVE)
            return live

    def _connect(self, endpoint: Endpoint, depth: int = 0) -> paramiko.SSHClient:
        import paramiko

        _quiet_paramiko()
        if depth > 5:
            raise TransportError(f"ProxyJump chain to {endpoint} is too long (a loop?)")
        sock: Any = self._jump_channel(endpoint, depth) if endpoint.proxy_jump else None
        if sock is None and endpoint.proxy_command:
            try:
                sock = paramiko.ProxyCommand(endpoint.proxy_command)
            except (paramiko.SSHException, OSError) as exc:
                raise TransportError(
                    f"the ProxyCommand for {endpoint.name} failed to start: {exc}",
                    hint="check ProxyCommand in ~/.ssh/config",
                ) from None
        if sock is None:
            try:
                sock = socket.create_connection(
                    (endpoint.host, endpoint.port), timeout=self.connect_timeout
                )
            except OSError as exc:
                raise socket_error(endpoint, exc, self.connect_timeout) from None
            # small request/response packets: without this, Nagle + delayed ACKs add 40 ms
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = paramiko.SSHClient()
        try:
            known = _known_host_keys(endpoint, client.get_host_keys(), _warn)
        except OSError as exc:
            sock.close()
            raise TransportError(
                f"cannot read {endpoint.known_hosts}: {exc.strerror or exc}",
                hint="fix login.known_hosts (or its permissions)",
            ) from None
        policy = _RefuseUnknownHost(endpoint, known)
        client.set_missing_host_key_policy(policy)  # type: ignore[arg-type]
        for path in endpoint.identity_files:
            if not os.path.isfile(path):
                sock.close()
                raise TransportError(
                    f"identity file {path} does not exist",
                    hint="fix login.identity_file (or IdentityFile in ~/.ssh/config)",
                )
        try:
            client.connect(
                endpoint.host,
                port=endpoint.port,
                username=endpoint.user,
                key_filename=list(endpoint.identity_files) or None,
                look_for_keys=not endpoint.identity_files,
                allow_agent=True,
                sock=sock,
                # the key exchange limit; a little over the banner's, so that a silent
                # server is reported as such rather than as a slow handshake
                timeout=self.connect_timeout + 2,
                banner_timeout=self.connect_timeout,
                auth_timeout=self.connect_timeout,
                channel_timeout=self.connect_timeout,
                # a second factor after the key is asked on the terminal, or refused at
                # once without one (see ssh_interactive)
                transport_factory=transport_factory(str(endpoint), endpoint.name),
            )
        except BaseException as exc:
            client.close()
            sock.close()
            raise self._connect_error(endpoint, exc) from None
        return client

    def _connect_error(self, endpoint: Endpoint, exc: BaseException) -> BaseException:
        import paramiko

        if isinstance(exc, TransportError | KeyboardInterrupt | SystemExit):
            return exc
        if isinstance(exc, paramiko.BadHostKeyException):
            known = load_known_hosts(endpoint.known_hosts)
            revoked = _revoked_error(endpoint, known, exc.key)
            if revoked is not None:
                return revoked
            return endpoint_key_changed(endpoint, _described(exc.key), _described(exc.expected_key))
        if isinstance(exc, paramiko.PasswordRequiredException):
            return passphrase_needed(endpoint)
        if isinstance(exc, paramiko.AuthenticationException):
            return login_refused(endpoint)
        if isinstance(exc, OSError) and not isinstance(exc, EOFError):
            return socket_error(endpoint, exc, self.connect_timeout)
        protocol_error = isinstance(exc, EOFError | paramiko.SSHException)
        failed = handshake_failed(
            endpoint, str(exc), self.connect_timeout, protocol_error=protocol_error
        )
        return failed or exc

    def _jump_channel(self, endpoint: Endpoint, depth: int) -> paramiko.Channel:
        """A direct-tcpip channel to ``endpoint`` through its ProxyJump host(s)."""
        import paramiko

        jump = resolve(jump_login(endpoint), self.ssh_config)
        # name the hop in every message about it: host keys are checked at each one
        position = len(endpoint.proxy_jump.split(",")) if endpoint.proxy_jump else 1
        chain = self.endpoint.proxy_jump
        total = max(position, len(chain.split(",")) if chain else 0)
        jump = dataclasses.replace(jump, role=f"jump host {position} of {total}")
        if not jump.identity_files:  # same key as the target, as a convenience
            jump = dataclasses.replace(jump, identity_files=endpoint.identity_files)
        client = self._connect(jump, depth + 1)
        self._jumps.append(client)
        transport = client.get_transport()
        assert transport is not None
        try:
            return transport.open_channel(
                "direct-tcpip",
                (endpoint.host, endpoint.port),
                ("127.0.0.1", 0),
                timeout=self.connect_timeout,
            )
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise TransportError(
                f"the jump host {jump} cannot open a connection to {endpoint}: {exc}",
                hint="check login.proxy_jump and the target's host/port as seen from the jump host",
            ) from None

    def _disconnect(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            jumps, self._jumps = self._jumps, []
            for closable in (client, *reversed(jumps)):
                if closable is not None:
                    # closing a broken connection may fail; it is gone either way
                    with contextlib.suppress(Exception):
                        closable.close()

    def close(self) -> None:
        self._disconnect()

    def __enter__(self) -> SshTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def connection_port(self) -> int | None:
        """The local TCP port of the live connection (to the first jump host, if any);
        for diagnostics and tests."""
        with self._lock:
            live = self._client.get_transport() if self._client else None
            if live is None or not live.is_active():
                return None
            outer = self._jumps[0].get_transport() if self._jumps else live
            sock = outer.sock if outer is not None else None
            return int(sock.getsockname()[1]) if isinstance(sock, socket.socket) else None

    # ------------------------------------------------------------------ commands

    def _start(self, line: str, shown: str) -> paramiko.Channel:
        """Open a session channel and start ``line``; retried once on a fresh connection
        only if the channel could not be opened (the command cannot have started)."""
        import paramiko

        for attempt in (1, 2):
            transport = self._transport()
            try:
                channel = transport.open_session(timeout=self.connect_timeout)
            except (paramiko.SSHException, OSError, EOFError) as exc:
                if attempt == 1 and not transport.is_active():
                    continue
                raise TransportError(
                    f"cannot open a session on {self.endpoint}: {exc}",
                    hint="the server may limit sessions per connection (MaxSessions)",
                ) from None
            break
        try:
            channel.exec_command(line)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            channel.close()
            raise self._dropped(shown, exc) from None
        return channel

    def _dropped(self, shown: str, exc: BaseException | None = None) -> TransportError:
        cause = f" ({exc})" if exc and str(exc) else ""
        return command_dropped(str(self.endpoint), shown, cause, reconnects=True)

    def _pump(
        self,
        channel: paramiko.Channel,
        on_stdout: Callable[[bytes], None],
        on_stderr: Callable[[bytes], None],
        deadline: float | None,
        shown: str,
        limit: float | None,
    ) -> int:
        """Relay a channel's output until it ends; return the exit status."""
        fd = channel.fileno()
        while True:
            if channel.recv_stderr_ready():
                on_stderr(channel.recv_stderr(_CHUNK))
                continue
            if channel.recv_ready():
                data = channel.recv(_CHUNK)
                if data:
                    on_stdout(data)
                    continue
            if channel.status_event.is_set() and (channel.eof_received or channel.closed):
                break
            wait = _POLL if deadline is None else max(0.0, min(_POLL, deadline - time.monotonic()))
            if channel.eof_received or channel.closed:
                channel.status_event.wait(wait)
            else:
                select.select([fd], [], [], wait)
            if deadline is not None and time.monotonic() >= deadline:
                channel.close()
                raise command_timed_out(shown, limit, str(self.endpoint))
            transport = channel.get_transport()
            if transport is None or not transport.is_active():
                channel.status_event.wait(0.05)
                if not channel.status_event.is_set():
                    raise self._dropped(shown)
        status = channel.exit_status
        transport = channel.get_transport()
        if status == -1 and (transport is None or not transport.is_active()):
            raise self._dropped(shown)
        return int(status)

    def _exec(
        self, line: str, shown: str, *, timeout: float | None, input: bytes | None
    ) -> tuple[int, bytes, bytes]:
        deadline = None if timeout is None else time.monotonic() + timeout
        channel = self._start(line, shown)
        out, err = bytearray(), bytearray()
        try:
            if input:
                threading.Thread(target=_feed, args=(channel, _chunks(input)), daemon=True).start()
            else:
                channel.shutdown_write()
            status = self._pump(channel, out.extend, err.extend, deadline, shown, timeout)
        finally:
            channel.close()
        return status, bytes(out), bytes(err)

    # ------------------------------------------------------------------ rsync

    def _relay_execute(
        self,
        line: str,
        read_stdin: Callable[[], bytes],
        write_stdout: Callable[[bytes], None],
        write_stderr: Callable[[bytes], None],
    ) -> int:
        """Run one rsync server command for the rsh_proxy helper, on our connection."""
        try:
            channel = self._start(line, "rsync")
        except TransportError as exc:
            write_stderr(f"hpcrun: {exc.message}\n".encode())
            return 255
        threading.Thread(target=_feed, args=(channel, iter(read_stdin, b"")), daemon=True).start()
        try:
            return self._pump(channel, write_stdout, write_stderr, None, "rsync", None)
        except TransportError as exc:
            write_stderr(f"hpcrun: {exc.message}\n".encode())
            return 255
        finally:
            channel.close()

    @contextlib.contextmanager
    def _rsync_shell(self) -> Iterator[list[str]]:
        """The ``rsh_proxy`` relay to our own connection (see that module)."""
        self._transport()  # connection problems surface here, as themselves
        with Relay(self._relay_execute) as relay:
            yield relay.rsh()


def _quiet_paramiko() -> None:
    """paramiko logs a traceback at ERROR from its thread on every failed handshake;
    without a handler, logging's last resort prints it to stderr next to our one-line
    error. A NullHandler (what a library should install) stops that; the records still
    propagate to whatever handlers the application configured (e.g. ``--debug``)."""
    logger = logging.getLogger("paramiko")
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _warn(message: str) -> None:
    """A warning for the user (the transport has no other channel to the CLI)."""
    sys.stderr.write(f"warning: {message}\n")


def _chunks(data: bytes) -> list[bytes]:
    return [data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK)]


def _feed(channel: paramiko.Channel, chunks: Any) -> None:
    """Write stdin to a channel, then EOF (in a thread: the window may fill up)."""
    try:
        for chunk in chunks:
            channel.sendall(chunk)
        channel.shutdown_write()
    except Exception:  # the command ended or the channel closed: nobody reads any more
        pass
