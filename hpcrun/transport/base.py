"""The one interface every transport implements, and what its methods return.

Commands are given as argv lists and quoted by the transport (``shlex.join``), or as a
``Shell`` snippet when shell syntax is wanted (pipes, redirections, ``cd && ...``): a
snippet is code, so any value interpolated into it must already be quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hpcrun.errors import RemoteError

DEFAULT_COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True)
class Shell:
    """A shell snippet, run by ``bash -c`` (remote: the login shell of the user)."""

    code: str


Command = Sequence[str] | Shell


@dataclass(frozen=True)
class CommandResult:
    argv: str  # what ran, for messages
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass(frozen=True)
class Fetched:
    """What ``sync_down`` brought home."""

    received: int  # bytes of file data transferred
    # symlinks NOT recreated because they point outside the fetched folder (absolute, or
    # with too many ``..``), as paths relative to the remote folder, for a warning
    unsafe_links: tuple[str, ...] = ()


class CommandFailed(RemoteError):
    def __init__(self, result: CommandResult, what: str | None = None) -> None:
        tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        detail = " | ".join(tail) or f"exit code {result.returncode}"
        super().__init__(f"{what or result.argv} failed: {detail}")
        self.result = result


class TransportError(RemoteError):
    """The connection itself failed (unreachable, auth, host key, dropped, timed out)."""


class Transport(Protocol):
    """Where jobs are submitted: this machine, or a cluster's login node."""

    name: str

    def run(
        self,
        command: Command,
        *,
        timeout: float | None = DEFAULT_COMMAND_TIMEOUT,
        input: str | None = None,
        check: bool = False,
    ) -> CommandResult:
        """Run a command; ``check=True`` raises ``CommandFailed`` on a non-zero exit."""
        ...

    def home(self) -> str:
        """The absolute home directory on that side (to expand ``~`` in site paths)."""
        ...

    def put_text(self, text: str, remote_path: str, mode: int = 0o600) -> None:
        """Write a small file atomically (temp file + rename)."""
        ...

    def sync_up(
        self,
        local_dir: Path,
        files: Sequence[str],
        remote_dir: str,
        *,
        link_dest: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Copy ``files`` (paths relative to ``local_dir``) to ``remote_dir``.

        Unchanged files are hard-linked from ``link_dest`` (a previous upload) instead of
        sent. Returns the number of bytes actually transferred. ``progress``, if given, is
        called now and then with the bytes sent so far (for a progress bar).
        """
        ...

    def sync_down(self, remote_dir: str, paths: Sequence[str], local_dir: Path) -> Fetched:
        """Copy ``paths`` (relative to ``remote_dir``; files or folders, missing ones
        skipped) into ``local_dir``, resumably: files already there and unchanged are not
        sent again.

        Safely, whatever the job left there: no file keeps a setuid/setgid bit or
        write permission for others; a symlink pointing outside the fetched folder is not
        recreated (it is listed in ``Fetched.unsafe_links``); each file is written under a
        temporary name and renamed when complete, so an interrupted fetch never leaves a
        truncated file under its final name."""
        ...

    def read_from(self, remote_path: str, offset: int) -> bytes:
        """Bytes of a file from ``offset`` to its current end (b"" if it does not exist)."""
        ...

    def close(self) -> None: ...


def expand_home(path: str, home: str) -> str:
    """``~/x`` -> ``<home>/x``; other paths unchanged."""
    if path == "~":
        return home
    if path.startswith("~/"):
        return f"{home.rstrip('/')}/{path[2:]}"
    return path


def ensure(result: CommandResult, what: str | None = None) -> CommandResult:
    """``result``, or ``CommandFailed`` (saying ``what`` failed, else the command line)."""
    if not result.ok:
        raise CommandFailed(result, what)
    return result
