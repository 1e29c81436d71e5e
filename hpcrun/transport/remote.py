"""What the two SSH transports (paramiko, OpenSSH) share: ``run`` on top of their
``_exec``, the clean-shell check, ``~`` in remote paths, small files through plain
commands (``put_text``, ``read_from``), and ``sync_up``/``sync_down`` with rsync. No SFTP:
a site's sshd needs no sftp subsystem.

Each transport supplies only what really differs: how a command line is executed, how
rsync reaches the other side (``_rsync_shell``: its ``-e`` remote shell), and how it
reads ssh's own errors.

The first command of a transport is ``shell_noise.PROBE``: it learns the home folder and
whether the login shell prints text. If it does, every later call raises
``LoginShellNotClean`` (unless ``require_clean_shell`` is off: ``site check`` reports the
noise and goes on). Every other command runs between begin/end markers, so that what a
login shell prints never reaches a parser (see ``shell_noise``).
"""

from __future__ import annotations

import enum
import shlex
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import ClassVar

from hpcrun.errors import RemoteError
from hpcrun.site.models import Login
from hpcrun.transport import shell_noise
from hpcrun.transport.base import (
    Command,
    CommandResult,
    Fetched,
    Shell,
    TransportError,
    ensure,
    expand_home,
)
from hpcrun.transport.rsync import (
    RsyncOutcome,
    remote_spec,
    rsync_argv,
    rsync_failure,
    run_rsync,
    unsafe_links,
)
from hpcrun.transport.ssh_endpoint import remote_command


class DefaultTimeout(enum.Enum):
    """``timeout=DEFAULT``: the transport's ``command_timeout``."""

    COMMAND = enum.auto()


DEFAULT = DefaultTimeout.COMMAND


@dataclass(eq=False)
class RemoteTransport(ABC):
    """A Slurm login node over SSH; subclasses say how (see the module docstring).

    Nothing connects on construction: connections open on first use.
    """

    name: ClassVar[str]
    login: Login
    _: KW_ONLY
    connect_timeout: float = 15
    command_timeout: float = 120
    ssh_config: Path | None = None  # instead of ~/.ssh/config
    # False: a login shell that prints text is only reported (``login_shell()``), not
    # refused; for ``site check`` and tests (markers still keep it out of parsed output)
    require_clean_shell: bool = True
    _home: str | None = field(default=None, init=False, repr=False)
    _verdict: shell_noise.ShellVerdict | None = field(default=None, init=False, repr=False)
    _shell_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # ------------------------------------------------------------------ what differs

    @abstractmethod
    def _exec(
        self, line: str, shown: str, *, timeout: float | None, input: bytes | None
    ) -> tuple[int, bytes, bytes]:
        """Run a command line; (exit status, stdout, stderr). ``shown``: for messages."""

    @abstractmethod
    def _where(self) -> str:
        """The other side, for messages (``host:port``)."""

    @abstractmethod
    def _rsync_shell(self) -> AbstractContextManager[list[str]]:
        """The remote-shell command for ``rsync -e``, valid while the context lasts."""

    def _rsync_error(self, stderr: str) -> TransportError | None:
        """A connection failure recognised in a failed rsync's stderr, if any."""
        return None

    # ------------------------------------------------------------------ shared

    def login_shell(self) -> shell_noise.ShellVerdict:
        """Whether the login shell prints text for a non-interactive command (one round
        trip, the first of this transport; it also learns the home folder). Asked once
        per transport, i.e. per invocation and connection."""
        with self._shell_lock:
            if self._verdict is None:
                status, out, err = self._exec(
                    shell_noise.PROBE, "the login shell check",
                    timeout=self.command_timeout, input=None,
                )  # fmt: skip
                verdict = shell_noise.parse_probe(
                    out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
                )
                if verdict.home is None and not verdict.noise.strip():
                    detail = " ".join(verdict.stderr_noise.split())[-300:]
                    raise RemoteError(
                        f"{self._where()} cannot run a simple command (`printf`): "
                        f"{detail or f'exit code {status}'}",
                        hint="hpcrun needs a POSIX login shell (bash, zsh, sh) on the cluster",
                    )
                self._verdict = verdict
                if verdict.home is not None and self._home is None:
                    self._home = verdict.home
            return self._verdict

    def _ready(self) -> None:
        """Before any command or transfer: the login shell must be clean."""
        verdict = self.login_shell()
        if verdict.clean or not self.require_clean_shell:
            return
        raise self.not_clean_error(verdict)

    def not_clean_error(self, verdict: shell_noise.ShellVerdict) -> RemoteError:
        """The error, naming the startup file that prints the text if one can be found
        (one more, marker-protected, command: this is the failure path)."""
        shell, found = "", []
        text = shell_noise.first_line(verdict.noise)
        if text:
            try:
                located = self._command(
                    f"bash -c {shlex.quote(shell_noise.locate_script(text))}",
                    "locating the startup file", timeout=self.command_timeout, input=None,
                )  # fmt: skip
                shell, found = shell_noise.parse_locate(
                    located[1].decode("utf-8", "replace"), verdict.home
                )
            except RemoteError:
                pass  # the error below is what matters; the file is a bonus
        return shell_noise.not_clean_error(self._where(), verdict, shell, found)

    def _command(
        self, line: str, shown: str, *, timeout: float | None, input: bytes | None
    ) -> tuple[int, bytes, bytes]:
        """``_exec`` between markers: only what the command itself printed comes back."""
        markers = shell_noise.Markers.new()
        status, out, err = self._exec(
            shell_noise.wrap(line, markers), shown, timeout=timeout, input=input
        )
        return status, shell_noise.unwrap(out, markers), shell_noise.unwrap(err, markers)

    def run(
        self,
        command: Command,
        *,
        timeout: float | DefaultTimeout | None = DEFAULT,
        input: str | None = None,
        check: bool = False,
    ) -> CommandResult:
        self._ready()
        limit = self.command_timeout if timeout is DEFAULT else timeout
        assert not isinstance(limit, DefaultTimeout)
        line, shown = remote_command(command)
        status, out, err = self._command(
            line, shown, timeout=limit, input=None if input is None else input.encode()
        )
        result = CommandResult(
            shown, status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        )
        return ensure(result) if check else result

    def home(self) -> str:
        """The login user's home folder (from the login shell check: no extra round trip)."""
        if self._home is None:
            self._ready()
            if self._home is None:  # a noisy shell seen by site check: ask between markers
                self._home = self.run(Shell('printf "%s" "$HOME"'), check=True).stdout
        return self._home

    def put_text(self, text: str, remote_path: str, mode: int = 0o600) -> None:
        """A temporary file in the target's folder (made if missing), mode set before any
        content is there, renamed over the target: readers never see half a file."""
        target = self._remote(remote_path)
        parent, _, name = target.rpartition("/")
        folder = parent or "."
        pattern = shlex.quote(f"{folder}/.{name}.XXXXXX")
        script = (
            f"mkdir -p {shlex.quote(folder)} && tmp=$(umask 077 && mktemp {pattern}) && "
            f'{{ chmod {mode:o} "$tmp" && cat > "$tmp" && mv -f "$tmp" {shlex.quote(target)}; }}'
            ' || { rm -f "$tmp"; exit 1; }'
        )
        result = self.run(Shell(script), input=text)
        if not result.ok:
            detail = result.stderr.strip() or f"exit code {result.returncode}"
            raise RemoteError(f"writing {target} on {self._where()} failed: {detail}")

    def read_from(self, remote_path: str, offset: int) -> bytes:
        """Bytes from ``offset`` to the end (b"" if the file does not exist), as they are:
        the output stays bytes between the markers, never decoded."""
        self._ready()
        path = shlex.quote(self._remote(remote_path))
        script = f"if [ -f {path} ]; then tail -c +{int(offset) + 1} {path}; fi"
        status, out, err = self._command(
            f"sh -c {shlex.quote(script)}", f"reading {path}", timeout=self.command_timeout,
            input=None,
        )  # fmt: skip
        if status != 0:
            detail = err.decode("utf-8", "replace").strip() or f"exit code {status}"
            raise RemoteError(f"reading {path} on {self._where()} failed: {detail}")
        return out

    def _sync_source_exists(self, path: str) -> bool:
        """Whether ``sync_down`` has anything to fetch from ``path``."""
        return self.run(["test", "-d", path]).ok

    def _remote(self, path: str) -> str:
        return expand_home(path, self.home()) if path.startswith("~") else path

    def _rsync(
        self,
        files: Sequence[str],
        source: str,
        destination: str,
        *,
        link_dest: str | None = None,
        rsync_path: str | None = None,
        skip_missing: bool = False,
        download: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> RsyncOutcome:
        self._ready()  # rsync's protocol breaks on a noisy login shell: say why first
        with self._rsync_shell() as rsh:
            argv = rsync_argv(
                rsh=rsh,
                source=source,
                destination=destination,
                link_dest=link_dest,
                rsync_path=rsync_path,
                io_timeout=self.command_timeout,
                skip_missing=skip_missing,
                download=download,
                progress=on_progress is not None,
            )
            outcome = run_rsync(argv, files, on_progress)
        if outcome.ok:
            return outcome
        error = self._rsync_error(outcome.stderr)
        raise error or rsync_failure(outcome.returncode, outcome.stderr, self._where())

    def sync_up(
        self,
        local_dir: Path,
        files: Sequence[str],
        remote_dir: str,
        *,
        link_dest: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        target = self._remote(remote_dir).rstrip("/") or "/"
        outcome = self._rsync(
            files,
            f"{local_dir}/",
            remote_spec(self.login.host, f"{target}/"),
            link_dest=self._remote(link_dest) if link_dest else None,
            rsync_path=f"mkdir -p {shlex.quote(target)} && rsync",
            on_progress=progress,
        )
        return outcome.stats.literal

    def sync_down(self, remote_dir: str, paths: Sequence[str], local_dir: Path) -> Fetched:
        source = self._remote(remote_dir).rstrip("/") or "/"
        if not paths or not self._sync_source_exists(source):
            return Fetched(0)
        local_dir.mkdir(parents=True, exist_ok=True)
        outcome = self._rsync(
            paths,
            remote_spec(self.login.host, f"{source}/"),
            f"{local_dir}/",
            skip_missing=True,
            download=True,
        )
        return Fetched(outcome.stats.literal, unsafe_links(outcome.stdout + outcome.stderr))
