"""The OpenSSH transport: the ``ssh`` binary, for sites that need what only it does
(ControlMaster reuse of an MFA login, GSSAPI, smartcards, the user's full ssh_config).

Every command is one ``ssh`` run through a ControlMaster socket: the user's own
``ControlPath`` when ssh_config sets one for the host (a master opened with plain ``ssh``
carries hpcrun too), else one under ``hpcrun_home()/ssh/``. The first command logs in (and
may prompt when stdin is a terminal; ``BatchMode`` otherwise), the master stays
``ControlPersist`` seconds, and later commands and rsync transfers ride on it without
logging in again. Host keys are checked strictly against known_hosts
(``StrictHostKeyChecking=yes``), never added, at the login node and at every jump host
(the chain is written out as ProxyCommands, see ``openssh_hops``).

Like the paramiko transport, a command is never re-run after a dropped connection.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import subprocess
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

from hpcrun.paths import hpcrun_home
from hpcrun.transport.base import TransportError
from hpcrun.transport.openssh_hops import (
    Hop,
    failing_hop,
    host_in_message,
    needs_second_factor,
    parse_hops,
    presented_key,
    proxy_command,
)
from hpcrun.transport.remote import RemoteTransport
from hpcrun.transport.shell_noise import without_markers
from hpcrun.transport.ssh_endpoint import (
    command_dropped,
    command_timed_out,
    connection_refused,
    has_terminal,
    host_key_changed,
    host_key_revoked,
    host_key_unknown,
    no_answer,
    second_factor_without_terminal,
)
from hpcrun.transport.ssh_known_hosts import host_name

# A Unix socket path must fit in sun_path (104 bytes on macOS, 108 on Linux). Ours is
# "<dir>/cm-" + %C (40 hex chars), and ssh first binds it with ".<16 random chars>" added.
_SOCKET_PATH_LIMIT = 103
_SOCKET_NAME_LENGTH = len("/cm-") + 40 + 17


@dataclass(eq=False, kw_only=True)
class OpenSshTransport(RemoteTransport):
    """A Slurm login node through the ``ssh`` binary and a ControlMaster socket."""

    name = "openssh"

    control_persist: int = 60  # seconds the master outlives its last use
    _control_dir: Path | None = field(default=None, init=False, repr=False)
    # (ControlPath set?, ControlPersist set?) in the user's ssh_config for the host
    _user_control: tuple[bool, bool] | None = field(default=None, init=False, repr=False)

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
        options = ["-o", "ControlMaster=auto", *self._control_options(), *self._checks()]
        if "port" in login.model_fields_set:
            options += ["-p", str(login.port)]
        if login.user:
            options += ["-l", login.user]
        if login.proxy_jump:
            # not -J: ssh would not pass the checks above to the hops (see openssh_hops)
            command = proxy_command(parse_hops(login.proxy_jump), self._hop_options())
            options += ["-o", f"ProxyCommand={command}"]
        return options

    def _checks(self) -> list[str]:
        """The options the login node and every jump host get alike: host keys checked
        strictly against the site's known_hosts, no prompt without a terminal, the key."""
        login = self.login
        options = ["-F", str(self.ssh_config)] if self.ssh_config else []
        options += [
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"ConnectTimeout={max(1, round(self.connect_timeout))}",
            "-o", "ServerAliveInterval=30",
            "-o", "ServerAliveCountMax=4",
        ]  # fmt: skip
        if login.known_hosts:
            known_hosts = os.path.expanduser(login.known_hosts)
            options += ["-o", f"UserKnownHostsFile={known_hosts}"]
        if not has_terminal():
            options += ["-o", "BatchMode=yes"]
        if login.identity_file:
            options += ["-i", os.path.expanduser(login.identity_file)]
        return options

    def _hop_options(self) -> list[str]:
        # a hop is a plain `ssh -W` inside the login node's master: no master of its own
        return [*self._checks(), "-o", "ControlMaster=no", "-o", "ControlPath=none"]

    def _control_options(self) -> list[str]:
        """ControlPath and ControlPersist: the user's own from ssh_config when it sets a
        ControlPath for this host (so a master opened with plain `ssh HOST`, second
        factor and all, is the one hpcrun rides), else hpcrun's socket folder."""
        if self._user_control is None:
            self._user_control = _configured_control(self.ssh_config, self.login.host)
        path, persist = self._user_control
        options = [] if path else ["-o", f"ControlPath={self.control_dir()}/cm-%C"]
        if not persist:
            options += ["-o", f"ControlPersist={self.control_persist}"]
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
            # ssh's own words; the markers (shell_noise) only say the command started
            stderr = without_markers(completed.stderr.decode("utf-8", "replace"))
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
        if self.login.proxy_jump and "UNKNOWN port 65535" in stderr:
            # the ProxyCommand (the jump hosts) failed, and ssh silenced its words: ask again
            stderr = self._probe(parse_hops(self.login.proxy_jump), None) + stderr
        text = stderr.strip()
        last = text.splitlines()[-1] if text else "no message"
        key_error = self._host_key_error(stderr)
        if key_error is not None:
            return key_error
        if "stdio forwarding failed" in stderr or "administratively prohibited" in stderr:
            return TransportError(
                f"a jump host on the way to {where} refused to forward the connection: "
                f"{text.splitlines()[0]}",
                hint="check login.proxy_jump (the hops, first hop first) and that each hop "
                "may reach the next (its sshd's AllowTcpForwarding/PermitOpen)",
            )
        if needs_second_factor(stderr) and not has_terminal():
            methods = re.search(r"Permission denied \(([^)]*)\)", stderr)
            methods_text = methods.group(1) if methods else ""
            return second_factor_without_terminal(
                where, methods_text, host=self.login.host, openssh=True
            )
        if "Permission denied" in stderr or "Too many authentication failures" in stderr:
            return TransportError(
                f"{where} refused the login of user '{self.login.user or '(default)'}' "
                f"(keys tried: {self.login.identity_file or 'ssh defaults and agent'}): {last}",
                hint="check login.user and login.identity_file; password/MFA logins need a "
                "terminal (run hpcrun from one, or log in once with ssh through the "
                "ControlMaster of ~/.ssh/config, which hpcrun then reuses)",
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

    def _host_key_error(self, stderr: str) -> TransportError | None:
        """An unknown, changed or revoked host key, at the login node or at a jump host
        (ssh names the host whose key failed; it is checked at every hop)."""
        changed = "REMOTE HOST IDENTIFICATION HAS CHANGED" in stderr
        revoked = "REVOKED HOST KEY" in stderr or "marked as revoked" in stderr
        unknown = "Host key verification failed" in stderr or "host key is known" in stderr
        if not (changed or revoked or unknown):
            return None
        hops = parse_hops(self.login.proxy_jump) if self.login.proxy_jump else []
        named = host_in_message(stderr)
        host, port = named or self._effective_host_port()
        index = failing_hop(hops, host, port) if named else None
        role = f"jump host {index + 1} of {len(hops)}" if index is not None else None
        where = f"{host}:{port}" + (f" ({role})" if role else "")
        known = os.path.expanduser(self.login.known_hosts or "~/.ssh/known_hosts")
        if changed:
            found = re.search(r"(SHA256:[A-Za-z0-9+/]+)", stderr)
            key = re.search(r"The fingerprint for the (\w+) key", stderr)
            new = f"{key.group(1) if key else 'new'} key {found.group(1) if found else '?'}"
            entry = host_name(host, port)
            return host_key_changed(
                where,
                new,
                hint="only if the cluster's admins confirm the new key: remove the old one "
                f"with `ssh-keygen -R '{entry}' -f {known}`, then trust the new key",
            )
        presented = self._presented_key(hops, index)
        if revoked:
            key = re.search(r"The (\S+) host key for", stderr)
            shown = presented or f"its {key.group(1) if key else ''} key"
            return host_key_revoked(where, shown, known)
        keys = f" (it presents {presented})" if presented else ""
        before = hops if index is None else hops[:index]
        behind = ",".join(hop.text for hop in before)
        user = self.login.user if index is None else hops[index].user
        return host_key_unknown(host, port, user, known, keys, role=role, behind=behind)

    def _presented_key(self, hops: list[Hop], index: int | None) -> str:
        """``type SHA256:...`` of the key that the login node (``index`` None) or a jump
        host presents, seen along the same path as the failed connection (``ssh -v``
        prints it before the check refuses it; best effort, for the message)."""
        return presented_key(self._probe(hops, index, verbose=True))

    def _probe(self, hops: list[Hop], index: int | None, *, verbose: bool = False) -> str:
        """ssh's stderr for a bare login (``true``, no master, never a prompt) to the login
        node (``index`` None) or to jump host ``index`` along the same hops. Without
        ControlPersist ssh lets the hops' own messages through (with it, it silences
        them), so this says which hop failed and why."""
        probe = ["-o", "BatchMode=yes", *self._hop_options()]
        if index is None:
            login = self.login
            probe += ["-p", str(login.port)] if "port" in login.model_fields_set else []
            probe += ["-l", login.user] if login.user else []
            before, target = hops, [login.host]
        else:
            before, target = hops[:index], hops[index].destination()
        if before:
            probe += ["-o", f"ProxyCommand={proxy_command(before, self._hop_options())}"]
        try:
            shown = subprocess.run(
                ["ssh", *(["-v"] if verbose else []), *probe, *target, "true"],
                capture_output=True, text=True, timeout=self.connect_timeout * 3, check=False,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return ""
        return shown.stderr

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

    # ------------------------------------------------------------------ rsync

    def _rsync_shell(self) -> AbstractContextManager[list[str]]:
        return contextlib.nullcontext(["ssh", *self.ssh_options()])

    def _rsync_error(self, stderr: str) -> TransportError | None:
        return self._connection_error(stderr, "rsync")


def _configured_control(ssh_config: Path | None, host: str) -> tuple[bool, bool]:
    """(ControlPath set?, ControlPersist set?) for ``host`` in the user's ssh_config, as
    ``ssh -G`` resolves it (Match, Include and all)."""
    argv = ["ssh", *(["-F", str(ssh_config)] if ssh_config else []), "-G", host]
    try:
        shown = subprocess.run(
            argv, capture_output=True, text=True, timeout=10, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False, False
    values = dict(line.partition(" ")[::2] for line in shown.stdout.splitlines())
    path = values.get("controlpath", "none") not in ("", "none")
    return path, path and values.get("controlpersist", "no") not in ("", "no")
