"""What the two SSH transports (paramiko, OpenSSH) share: ``run`` on top of their
``_exec``, ``~`` in remote paths, and ``sync_up``/``sync_down`` with rsync.

Each transport supplies only what really differs: how a command line is executed, how
the home folder is found, how rsync reaches the other side (``_rsync_shell``: its
``-e`` remote shell), whether a folder exists there, and how it reads ssh's own errors.
"""

from __future__ import annotations

import enum
import shlex
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import KW_ONLY, dataclass, field
from pathlib import Path
from typing import ClassVar

from hpcrun.site.models import Login
from hpcrun.transport.base import (
    Command,
    CommandResult,
    Fetched,
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
    _home: str | None = field(default=None, init=False, repr=False)

    # ------------------------------------------------------------------ what differs

    @abstractmethod
    def _exec(
        self, line: str, shown: str, *, timeout: float | None, input: bytes | None
    ) -> tuple[int, bytes, bytes]:
        """Run a command line; (exit status, stdout, stderr). ``shown``: for messages."""

    @abstractmethod
    def home(self) -> str: ...

    @abstractmethod
    def _where(self) -> str:
        """The other side, for messages (``host:port``)."""

    @abstractmethod
    def _rsync_shell(self) -> AbstractContextManager[list[str]]:
        """The remote-shell command for ``rsync -e``, valid while the context lasts."""

    @abstractmethod
    def _sync_source_exists(self, path: str) -> bool:
        """Whether ``sync_down`` has anything to fetch from ``path``."""

    def _rsync_error(self, stderr: str) -> TransportError | None:
        """A connection failure recognised in a failed rsync's stderr, if any."""
        return None

    # ------------------------------------------------------------------ shared

    def run(
        self,
        command: Command,
        *,
        timeout: float | DefaultTimeout | None = DEFAULT,
        input: str | None = None,
        check: bool = False,
    ) -> CommandResult:
        limit = self.command_timeout if timeout is DEFAULT else timeout
        assert not isinstance(limit, DefaultTimeout)
        line, shown = remote_command(command)
        status, out, err = self._exec(
            line, shown, timeout=limit, input=None if input is None else input.encode()
        )
        result = CommandResult(
            shown, status, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        )
        return ensure(result) if check else result

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
    ) -> RsyncOutcome:
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
            )
            outcome = run_rsync(argv, files)
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
    ) -> int:
        target = self._remote(remote_dir).rstrip("/") or "/"
        outcome = self._rsync(
            files,
            f"{local_dir}/",
            remote_spec(self.login.host, f"{target}/"),
            link_dest=self._remote(link_dest) if link_dest else None,
            rsync_path=f"mkdir -p {shlex.quote(target)} && rsync",
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
