"""The SSH transport: paramiko, one connection per instance.

The connection opens on first use and carries every command, every SFTP operation and
every rsync transfer (rsync runs on an exec channel of it, see ``rsh_proxy``). Host
keys are checked against known_hosts and never added: an unknown or changed key is
refused with its SHA256 fingerprint, as OpenSSH prints it.

Reconnecting: when the connection has dropped, the next call opens a new one. A command
that was running when it dropped is NOT run again (it may have started: ``sbatch`` must
never submit twice); its call raises ``TransportError``. A command is retried on a fresh
connection only when its channel could not even be opened, so it cannot have started.

paramiko is imported here and only here, lazily (``hpcrun --help`` stays fast).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import enum
import errno
import getpass
import hashlib
import logging
import os
import posixpath
import secrets
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpcrun.errors import RemoteError
from hpcrun.site.models import Login
from hpcrun.transport.base import (
    Command,
    CommandFailed,
    CommandResult,
    Shell,
    TransportError,
    expand_home,
)
from hpcrun.transport.rsh_proxy import Relay, remote_spec, rsync_argv, rsync_failure, run_rsync

if TYPE_CHECKING:
    import paramiko

_CHUNK = 32768
_KEEPALIVE = 30
_POLL = 0.1
_DEFAULT_KEYS = ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519", "id_ed25519_sk", "id_dsa")


class DefaultTimeout(enum.Enum):
    """``timeout=DEFAULT``: the transport's ``command_timeout``."""

    COMMAND = enum.auto()


DEFAULT = DefaultTimeout.COMMAND


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

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def resolve(login: Login, ssh_config: Path | None = None) -> Endpoint:
    """Combine a site's ``login`` with ``~/.ssh/config`` (or ``ssh_config``)."""
    found = _config_lookup(login.host, ssh_config)
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
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class _RefuseUnknownHost:
    """paramiko's missing-host-key policy: never trust, explain how to."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    def missing_host_key(self, client: object, hostname: str, key: paramiko.PKey) -> None:
        e = self.endpoint
        raise TransportError(
            f"the host key of {e} is unknown ({key.get_name()} {fingerprint(key)} is not in "
            f"{e.known_hosts}); refusing to connect",
            hint=f"check that fingerprint with the cluster's documentation or admins, then "
            f"trust it with `ssh-keyscan -p {e.port} {e.host} >> {e.known_hosts}` (or connect "
            f"once with `ssh -p {e.port} {e.user}@{e.host}`)",
        )


def _changed_key(endpoint: Endpoint, got: paramiko.PKey, expected: paramiko.PKey) -> TransportError:
    e = endpoint
    entry = e.host if e.port == 22 else f"[{e.host}]:{e.port}"
    return TransportError(
        f"WARNING: THE HOST KEY OF {e} HAS CHANGED: it now presents {got.get_name()} "
        f"{fingerprint(got)}, but {e.known_hosts} has {expected.get_name()} "
        f"{fingerprint(expected)}. Someone may be intercepting the connection "
        "(man-in-the-middle), or the server was reinstalled; refusing to connect",
        hint=f"only if the cluster's admins confirm the new key: `ssh-keygen -R '{entry}' -f "
        f"{e.known_hosts}`, then trust the new key as for a new host",
    )


def _socket_error(endpoint: Endpoint, exc: OSError, timeout: float) -> TransportError:
    where = f"{endpoint.host}:{endpoint.port}"
    if isinstance(exc, socket.gaierror):
        return TransportError(
            f"cannot resolve host name '{endpoint.host}' ({exc.strerror})",
            hint="check login.host in the site config (or the Host/HostName in ~/.ssh/config)",
        )
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(
            f"connection to {where} refused",
            hint="check login.host and login.port; is sshd running there?",
        )
    if isinstance(exc, TimeoutError):
        return TransportError(
            f"no answer from {where} within {timeout:g}s",
            hint="check the host and port, your network, VPN or firewall",
        )
    return TransportError(
        f"cannot reach {where}: {exc.strerror or exc}",
        hint="check the host and port, your network, VPN or firewall",
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


def remote_command(command: Command) -> tuple[str, str]:
    """(the command line sent to the server, what to show in messages)."""
    if isinstance(command, Shell):
        return f"bash -c {shlex.quote(command.code)}", command.code
    line = shlex.join(list(command))
    return line, line


def short_command(shown: str) -> str:
    first = shown.strip().splitlines()[0] if shown.strip() else shown
    return first if len(first) <= 80 and first == shown.strip() else first[:77] + "..."


class SshTransport:
    """A Slurm login node over SSH with paramiko (see the module docstring)."""

    name = "ssh"

    def __init__(
        self,
        login: Login,
        *,
        connect_timeout: float = 15,
        command_timeout: float = 120,
        ssh_config: Path | None = None,
    ) -> None:
        self.login = login
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self._ssh_config = ssh_config
        self._lock = threading.RLock()
        self._sftp_lock = threading.RLock()
        self._endpoint: Endpoint | None = None
        self._client: paramiko.SSHClient | None = None
        self._jumps: list[paramiko.SSHClient] = []
        self._sftp: paramiko.SFTPClient | None = None
        self._home: str | None = None

    # ------------------------------------------------------------------ connection

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            self._endpoint = resolve(self.login, self._ssh_config)
        return self._endpoint

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
                raise _socket_error(endpoint, exc, self.connect_timeout) from None
            # small request/response packets: without this, Nagle + delayed ACKs add 40 ms
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = paramiko.SSHClient()
        host_keys = client.get_host_keys()
        try:
            if os.path.isfile(endpoint.known_hosts):
                host_keys.load(endpoint.known_hosts)
        except (OSError, paramiko.SSHException) as exc:
            sock.close()
            raise TransportError(f"cannot read {endpoint.known_hosts}: {exc}") from None
        client.set_missing_host_key_policy(_RefuseUnknownHost(endpoint))  # type: ignore[arg-type]
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
            )
        except BaseException as exc:
            client.close()
            sock.close()
            raise self._connect_error(endpoint, exc) from None
        return client

    def _connect_error(self, endpoint: Endpoint, exc: BaseException) -> BaseException:
        import paramiko

        where = str(endpoint)
        if isinstance(exc, TransportError | KeyboardInterrupt | SystemExit):
            return exc
        if isinstance(exc, paramiko.BadHostKeyException):
            return _changed_key(endpoint, exc.key, exc.expected_key)
        if isinstance(exc, paramiko.PasswordRequiredException):
            return TransportError(
                f"the key for {endpoint.user}@{where} is protected by a passphrase",
                hint="load it into ssh-agent (`ssh-add KEYFILE`) and retry",
            )
        if isinstance(exc, paramiko.AuthenticationException):
            return TransportError(
                f"{where} refused the login of user '{endpoint.user}' (keys tried: "
                f"{_tried_keys(endpoint)})",
                hint="check login.user and login.identity_file, and that the public key is in "
                "~/.ssh/authorized_keys on the cluster (or use transport: openssh for "
                "password/MFA logins)",
            )
        if isinstance(exc, OSError) and not isinstance(exc, EOFError):
            return _socket_error(endpoint, exc, self.connect_timeout)
        text = str(exc)
        if "banner" in text.lower():
            return TransportError(
                f"{where} accepted the connection but sent no SSH greeting within "
                f"{self.connect_timeout:g}s",
                hint="is that port an SSH server? (an overloaded or firewalled login node "
                "can also do this; retry later)",
            )
        if "No existing session" in text or "Negotiation" in text:
            return TransportError(
                f"the SSH handshake with {where} did not finish within {self.connect_timeout:g}s",
                hint="the server or the network is too slow or filtered; retry later",
            )
        if isinstance(exc, EOFError | paramiko.SSHException):
            return TransportError(
                f"the SSH connection to {where} failed: {text or 'closed by the server'}",
                hint="check that the server is an SSH server and accepts you (its log may say why)",
            )
        return exc

    def _jump_channel(self, endpoint: Endpoint, depth: int) -> paramiko.Channel:
        """A direct-tcpip channel to ``endpoint`` through its ProxyJump host(s)."""
        import paramiko

        assert endpoint.proxy_jump is not None
        *before, last = [hop.strip() for hop in endpoint.proxy_jump.split(",")]
        user, _, hostport = last.rpartition("@")
        host, port = _split_host_port(hostport)
        jump_login = Login(
            host=host,
            **({"port": port} if port is not None else {}),
            user=user or None,
            identity_file=None,
            known_hosts=endpoint.known_hosts,
            proxy_jump=",".join(before) or None,
        )
        jump = resolve(jump_login, self._ssh_config)
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
            sftp, self._sftp = self._sftp, None
            client, self._client = self._client, None
            jumps, self._jumps = self._jumps, []
            for closable in (sftp, client, *reversed(jumps)):
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
        return TransportError(
            f"the connection to {self.endpoint} dropped while running "
            f"'{short_command(shown)}'{cause}",
            hint="it may or may not have run on the cluster; hpcrun reconnects on the next "
            "call but never repeats a command that may have started",
        )

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
                raise TransportError(
                    f"'{short_command(shown)}' timed out after {limit:.0f}s on {self.endpoint}",
                    hint="it may still be running there; raise the timeout if it needs longer",
                )
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
        self, command: Command, *, timeout: float | None, input: bytes | None
    ) -> tuple[str, int, bytes, bytes]:
        line, shown = remote_command(command)
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
        return shown, status, bytes(out), bytes(err)

    def run(
        self,
        command: Command,
        *,
        timeout: float | DefaultTimeout | None = DEFAULT,
        input: str | None = None,
        check: bool = False,
    ) -> CommandResult:
        limit = self.command_timeout if timeout is DEFAULT else timeout
        shown, status, out, err = self._exec(
            command, timeout=limit, input=None if input is None else input.encode()
        )
        result = CommandResult(
            shown, status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        )
        if check and not result.ok:
            raise CommandFailed(result)
        return result

    # ------------------------------------------------------------------ files

    def _sftp_client(self) -> paramiko.SFTPClient:
        with self._lock:
            transport = self._transport()
            if self._sftp is None or self._sftp.get_channel().get_transport() is not transport:
                try:
                    self._sftp = self._client.open_sftp()  # type: ignore[union-attr]
                except Exception as exc:
                    raise TransportError(
                        f"cannot start SFTP on {self.endpoint}: {exc}",
                        hint="the server must allow the sftp subsystem",
                    ) from None
                self._sftp.get_channel().settimeout(self.command_timeout)  # type: ignore[union-attr]
            return self._sftp

    def _sftp_call(self, what: str, action: Callable[[paramiko.SFTPClient], Any]) -> Any:
        import paramiko

        with self._sftp_lock:
            sftp = self._sftp_client()
            try:
                return action(sftp)
            except (paramiko.SSHException, EOFError, TimeoutError) as exc:
                # the SFTP session's state is unknown now: start a new one next time (on a
                # new connection too, if this one dropped)
                stale, self._sftp = self._sftp, None
                with contextlib.suppress(Exception):
                    if stale is not None:
                        stale.close()
                raise TransportError(
                    f"{what} on {self.endpoint} failed: {exc or 'connection lost'}",
                    hint="the connection dropped or stalled; retry",
                ) from None
            except OSError as exc:
                if isinstance(exc, FileNotFoundError):
                    raise
                raise RemoteError(f"{what} on {self.endpoint} failed: {exc}") from None

    def home(self) -> str:
        if self._home is None:
            self._home = str(self._sftp_call("finding the home folder", lambda s: s.normalize(".")))
        return self._home

    def _remote(self, path: str) -> str:
        return expand_home(path, self.home()) if path.startswith("~") else path

    def put_text(self, text: str, remote_path: str, mode: int = 0o600) -> None:
        target = self._remote(remote_path)
        parent, name = posixpath.split(target)
        temp = posixpath.join(parent, f".{name}.{secrets.token_hex(4)}.tmp")
        data = text.encode("utf-8")

        def write(sftp: paramiko.SFTPClient) -> None:
            if parent:
                _sftp_makedirs(sftp, parent)
            try:
                with sftp.open(temp, "wb") as handle:
                    handle.chmod(mode)  # before any content is there
                    handle.write(data)
                try:
                    sftp.posix_rename(temp, target)
                except OSError:  # no posix-rename@openssh.com: not atomic, but works
                    _sftp_remove(sftp, target)
                    sftp.rename(temp, target)
            except BaseException:
                _sftp_remove(sftp, temp)
                raise

        self._sftp_call(f"writing {target}", write)

    def read_from(self, remote_path: str, offset: int) -> bytes:
        path = self._remote(remote_path)

        def read(sftp: paramiko.SFTPClient) -> bytes:
            try:
                handle = sftp.open(path, "rb")
            except FileNotFoundError:
                return b""
            with handle:
                size = handle.stat().st_size or 0
                if size <= offset:
                    return b""
                handle.seek(offset)
                handle.prefetch(size)
                return bytes(handle.read())

        return bytes(self._sftp_call(f"reading {path}", read))

    def _exists(self, path: str) -> bool:
        def stat(sftp: paramiko.SFTPClient) -> bool:
            try:
                sftp.stat(path)
            except FileNotFoundError:
                return False
            return True

        return bool(self._sftp_call(f"looking for {path}", stat))

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

    def _rsync(self, files: Sequence[str], source: str, destination: str, **options: Any) -> int:
        self._transport()  # connection problems surface here, as themselves
        with Relay(self._relay_execute) as relay:
            argv = rsync_argv(
                rsh=relay.rsh(),
                source=source,
                destination=destination,
                io_timeout=self.command_timeout,
                **options,
            )
            try:
                outcome = run_rsync(argv, files)
            except FileNotFoundError:
                raise TransportError(
                    "rsync is not installed on this machine",
                    hint="install it (e.g. `apt install rsync` or `brew install rsync`)",
                ) from None
        if outcome.returncode in (0, 24):  # 24: some source files vanished meanwhile
            return outcome.stats.literal
        raise rsync_failure(outcome.returncode, outcome.stderr, str(self.endpoint))

    def sync_up(
        self,
        local_dir: Path,
        files: Sequence[str],
        remote_dir: str,
        *,
        link_dest: str | None = None,
    ) -> int:
        target = self._remote(remote_dir).rstrip("/") or "/"
        return self._rsync(
            files,
            f"{local_dir}/",
            remote_spec(self.endpoint.host, f"{target}/"),
            link_dest=self._remote(link_dest) if link_dest else None,
            rsync_path=f"mkdir -p {shlex.quote(target)} && rsync",
        )

    def sync_down(self, remote_dir: str, paths: Sequence[str], local_dir: Path) -> int:
        source = self._remote(remote_dir).rstrip("/") or "/"
        if not paths or not self._exists(source):
            return 0
        local_dir.mkdir(parents=True, exist_ok=True)
        return self._rsync(
            paths, remote_spec(self.endpoint.host, f"{source}/"), f"{local_dir}/", skip_missing=True
        )


def _quiet_paramiko() -> None:
    """paramiko logs a traceback at ERROR from its thread on every failed handshake;
    without a handler, logging's last resort prints it to stderr next to our one-line
    error. A NullHandler (what a library should install) stops that; the records still
    propagate to whatever handlers the application configured (e.g. ``--debug``)."""
    logger = logging.getLogger("paramiko")
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _split_host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, sep, port = text.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return text, None


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


def _sftp_makedirs(sftp: paramiko.SFTPClient, path: str) -> None:
    try:
        sftp.stat(path)
        return
    except FileNotFoundError:
        pass
    parent = posixpath.dirname(path.rstrip("/"))
    if parent and parent != path:
        _sftp_makedirs(sftp, parent)
    try:
        sftp.mkdir(path)
    except OSError as exc:
        if exc.errno not in (None, errno.EEXIST):
            try:
                sftp.stat(path)  # made meanwhile by someone else?
            except FileNotFoundError:
                raise exc from None
        elif exc.errno is None:  # SFTP's "Failure": most often "already exists"
            sftp.stat(path)


def _sftp_remove(sftp: paramiko.SFTPClient, path: str) -> None:
    with contextlib.suppress(Exception):  # best effort; it may not exist
        sftp.remove(path)
