"""The OpenSSH transport: the ``ssh`` binary, for sites that need what only it does
(ControlMaster reuse of an MFA login, GSSAPI, smartcards, the user's full ssh_config).

Every command is one ``ssh`` run through a ControlMaster socket under
``hpcrun_home()/ssh/``: the first one logs in (and may prompt when stdin is a
terminal), the master stays ``ControlPersist`` seconds, and later commands and rsync
transfers ride on it without logging in again. Host keys are checked strictly against
known_hosts (``StrictHostKeyChecking=yes``), never added.

Like the paramiko transport, a command is never re-run after a dropped connection.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from hpcrun.errors import RemoteError
from hpcrun.paths import hpcrun_home
from hpcrun.transport.base import Shell, TransportError
from hpcrun.transport.remote import RemoteTransport
from hpcrun.transport.ssh_endpoint import (
    command_dropped,
    command_timed_out,
    connection_refused,
    host_key_changed,
    host_key_revoked,
    host_key_unknown,
    key_fingerprint,
    no_answer,
)

# A Unix socket path must fit in sun_path (104 bytes on macOS, 108 on Linux). Ours is
# "<dir>/cm-" + %C (40 hex chars), and ssh first binds it with ".<16 random chars>" added.
_SOCKET_PATH_LIMIT = 103
_SOCKET_NAME_LENGTH = len("/cm-") + 40 + 17
_KEY_TYPES = {"ED25519": "ssh-ed25519", "ECDSA": "ecdsa-sha2", "RSA": "ssh-rsa", "DSA": "ssh-dss"}


@dataclass(eq=False, kw_only=True)
class OpenSshTransport(RemoteTransport):
    """A Slurm login node through the ``ssh`` binary and a ControlMaster socket."""

    name = "openssh"

    control_persist: int = 60  # seconds the master outlives its last use
    _control_dir: Path | None = field(default=None, init=False, repr=False)

    # ------------------------------------------------------------------ ssh

    def control_dir(self) -> Path:
        """Where the ControlMaster sockets live (made on first use, mode 0700)."""
        if self._control_dir is None:
            home = hpcrun_home()
            wanted = home / "ssh"
            if len(str(wanted)) + _SOCKET_NAME_LENGTH > _SOCKET_PATH_LIMIT:
                # too long for a socket: a short folder, still one per HPCRUN_HOME
                tag = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:10]
                base = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
                wanted = base / f"hpcrun-{os.getuid()}-{tag}"
            wanted.mkdir(parents=True, exist_ok=True, mode=0o700)
            if wanted.stat().st_uid != os.getuid():
                raise TransportError(
                    f"{wanted} belongs to another user; refusing to keep SSH sockets there",
                    hint="set HPCRUN_HOME to a folder of your own",
                )
            wanted.chmod(0o700)
            self._control_dir = wanted
        return self._control_dir

    def ssh_options(self) -> list[str]:
        """Every ``ssh`` option (not the destination), also used for rsync's ``-e``."""
        login = self.login
        options = ["-F", str(self.ssh_config)] if self.ssh_config else []
        options += [
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={self.control_dir()}/cm-%C",
            "-o", f"ControlPersist={self.control_persist}",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"ConnectTimeout={max(1, round(self.connect_timeout))}",
            "-o", "ServerAliveInterval=30",
            "-o", "ServerAliveCountMax=4",
        ]  # fmt: skip
        if login.known_hosts:
            known_hosts = os.path.expanduser(login.known_hosts)
            options += ["-o", f"UserKnownHostsFile={known_hosts}"]
        if sys.stdin is None or not sys.stdin.isatty():
            options += ["-o", "BatchMode=yes"]
        if "port" in login.model_fields_set:
            options += ["-p", str(login.port)]
        if login.user:
            options += ["-l", login.user]
        if login.identity_file:
            options += ["-i", os.path.expanduser(login.identity_file)]
        if login.proxy_jump:
            options += ["-J", login.proxy_jump]
        return options

    def _where(self) -> str:
        port = f":{self.login.port}" if "port" in self.login.model_fields_set else ""
        return f"{self.login.host}{port}"

    def _exec(
        self, line: str, shown: str, *, timeout: float | None, input: bytes | None
    ) -> tuple[int, bytes, bytes]:
        argv = ["ssh", *self.ssh_options(), "-T", self.login.host, line]
        try:
            completed = subprocess.run(
                argv,
                input=input,
                stdin=None if input is not None else subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError:
            raise TransportError(
                "the OpenSSH client (ssh) is not installed on this machine",
                hint="install it, or use `transport: paramiko` in the site's login",
            ) from None
        except subprocess.TimeoutExpired:
            raise command_timed_out(shown, timeout, self._where()) from None
        if completed.returncode == 255:
            stderr = completed.stderr.decode("utf-8", "replace")
            error = self._connection_error(stderr, shown)
            if error is None and not stderr.strip() and not self._master_alive():
                # a mux client whose master lost its connection exits 255, silently
                error = self._dropped(shown, "the ControlMaster connection ended")
            if error is not None:
                raise error
        return completed.returncode, completed.stdout, completed.stderr

    def _master_alive(self) -> bool:
        checked = subprocess.run(
            ["ssh", *self.ssh_options(), "-O", "check", self.login.host],
            capture_output=True, timeout=15, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        return checked.returncode == 0

    def _dropped(self, shown: str, why: str) -> TransportError:
        return command_dropped(self._where(), shown, f": {why}", reconnects=False)

    def _connection_error(self, stderr: str, shown: str) -> TransportError | None:
        """ssh's exit code 255 is its own failure, unless the command itself exited 255:
        tell them apart by what ssh printed."""
        where = self._where()
        text = stderr.strip()
        last = text.splitlines()[-1] if text else "no message"
        if "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr:
            found = re.search(r"(SHA256:[A-Za-z0-9+/]+)", stderr)
            key = re.search(r"The fingerprint for the (\w+) key", stderr)
            new = f"{key.group(1) if key else 'new'} key {found.group(1) if found else '?'}"
            return host_key_changed(
                where,
                new,
                hint="only if the cluster's admins confirm the new key: remove the old one "
                "with `ssh-keygen -R HOST -f KNOWN_HOSTS`, then trust the new key",
            )
        if "REVOKED HOST KEY" in stderr or "marked as revoked" in stderr:
            key = re.search(r"The (\S+) host key for", stderr)
            known = os.path.expanduser(self.login.known_hosts or "~/.ssh/known_hosts")
            return host_key_revoked(where, f"its {key.group(1) if key else ''} key", known)
        if "Host key verification failed" in stderr or "host key is known" in stderr:
            return self._unknown_host_key(stderr)
        if "Permission denied" in stderr or "Too many authentication failures" in stderr:
            return TransportError(
                f"{where} refused the login of user '{self.login.user or '(default)'}' "
                f"(keys tried: {self.login.identity_file or 'ssh defaults and agent'}): {last}",
                hint="check login.user and login.identity_file; password/MFA logins need a "
                "terminal (run hpcrun from one, or log in once with ssh to open the "
                "ControlMaster it reuses)",
            )
        if "Could not resolve" in stderr:
            return TransportError(
                f"cannot resolve host name '{self.login.host}'",
                hint="check login.host in the site config (or Host/HostName in ~/.ssh/config)",
            )
        if "Connection refused" in stderr:
            return connection_refused(where)
        if "banner exchange" in stderr or "kex_exchange_identification" in stderr:
            return TransportError(
                f"{where} accepted the connection but the SSH greeting failed: {last}",
                hint="is that port an SSH server? (an overloaded login node can also do this)",
            )
        if "timed out" in stderr:
            return no_answer(where, self.connect_timeout, f": {last}")
        if re.search(r"closed by remote host|Connection reset|Broken pipe|client_loop", stderr):
            return self._dropped(shown, last)
        if re.search(r"^(ssh|ssh_askpass|mux_client|Control|channel \d+):", stderr, re.M):
            return TransportError(f"ssh to {where} failed: {last}")
        return None

    def _unknown_host_key(self, stderr: str) -> TransportError:
        kind = re.search(r"No (\w+) host key is known", stderr)
        host, port = self._effective_host_port()
        shown_keys = _scan_fingerprints(host, port, kind.group(1) if kind else None)
        known = os.path.expanduser(self.login.known_hosts or "~/.ssh/known_hosts")
        keys = f" (it presents {shown_keys})" if shown_keys else ""
        return host_key_unknown(host, port, self.login.user, known, keys)

    def _effective_host_port(self) -> tuple[str, int]:
        """HostName and Port after ssh_config (``ssh -G``)."""
        host, port = self.login.host, self.login.port
        try:
            shown = subprocess.run(
                ["ssh", *self.ssh_options(), "-G", self.login.host],
                capture_output=True, text=True, timeout=10, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return host, port
        for line in shown.stdout.splitlines():
            key, _, value = line.partition(" ")
            if key == "hostname":
                host = value
            elif key == "port" and value.isdigit():
                port = int(value)
        return host, port

    def stop_master(self) -> None:
        """End the ControlMaster (it otherwise ends ControlPersist seconds after last use)."""
        subprocess.run(
            ["ssh", *self.ssh_options(), "-O", "exit", self.login.host],
            capture_output=True, timeout=15, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def close(self) -> None:
        """Nothing to do: the master outlives us by design (ControlPersist)."""
        return None

    # ------------------------------------------------------------------ commands

    def home(self) -> str:
        if self._home is None:
            result = self.run(Shell('printf "%s" "$HOME"'), check=True)
            self._home = result.stdout.strip()
        return self._home

    def put_text(self, text: str, remote_path: str, mode: int = 0o600) -> None:
        target = self._remote(remote_path)
        parent, _, name = target.rpartition("/")
        folder = parent or "."
        pattern = shlex.quote(f"{folder}/.{name}.XXXXXX")
        script = (
            f"umask 077 && mkdir -p {shlex.quote(folder)} && tmp=$(mktemp {pattern}) && "
            f'{{ chmod {mode:o} "$tmp" && cat > "$tmp" && mv -f "$tmp" {shlex.quote(target)}; }}'
            ' || { rm -f "$tmp"; exit 1; }'
        )
        status, _, err = self._exec(
            f"sh -c {shlex.quote(script)}", f"writing {target}", timeout=self.command_timeout,
            input=text.encode("utf-8"),
        )  # fmt: skip
        if status != 0:
            detail = err.decode("utf-8", "replace").strip() or f"exit code {status}"
            raise RemoteError(f"writing {target} on {self._where()} failed: {detail}")

    def read_from(self, remote_path: str, offset: int) -> bytes:
        path = shlex.quote(self._remote(remote_path))
        script = f"if [ -f {path} ]; then tail -c +{int(offset) + 1} {path}; fi"
        status, out, err = self._exec(
            f"sh -c {shlex.quote(script)}", f"reading {path}", timeout=self.command_timeout,
            input=None,
        )  # fmt: skip
        if status != 0:
            detail = err.decode("utf-8", "replace").strip() or f"exit code {status}"
            raise RemoteError(f"reading {path} on {self._where()} failed: {detail}")
        return out

    # ------------------------------------------------------------------ rsync

    def _rsync_shell(self) -> AbstractContextManager[list[str]]:
        return contextlib.nullcontext(["ssh", *self.ssh_options()])

    def _sync_source_exists(self, path: str) -> bool:
        status, _, _ = self._exec(
            f"test -d {shlex.quote(path)}", "test -d", timeout=self.command_timeout, input=None
        )
        return status == 0

    def _rsync_error(self, stderr: str) -> TransportError | None:
        return self._connection_error(stderr, "rsync")


def _scan_fingerprints(host: str, port: int, kind: str | None) -> str:
    """``ssh-ed25519 SHA256:...`` of what the server presents (best effort, for messages)."""
    try:
        scanned = subprocess.run(
            ["ssh-keyscan", "-T", "5", "-p", str(port), host],
            capture_output=True, text=True, timeout=15, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return ""
    wanted = _KEY_TYPES.get(kind.upper(), "") if kind else ""
    found = []
    for line in scanned.stdout.splitlines():
        parts = line.split()
        if len(parts) < 3 or line.startswith("#") or not parts[1].startswith(wanted):
            continue
        try:
            blob = base64.b64decode(parts[2])
        except ValueError:
            continue
        found.append(f"{parts[1]} {key_fingerprint(blob)}")
    return ", ".join(found)
