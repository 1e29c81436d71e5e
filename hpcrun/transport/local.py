"""The local transport: this machine, through subprocess and the file system.

Used by the local site, and by Slurm sites when hpcrun runs on the login node itself.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from hpcrun.transport.base import (
    DEFAULT_COMMAND_TIMEOUT,
    Command,
    CommandResult,
    Fetched,
    Shell,
    TransportError,
    ensure,
    expand_home,
)


class LocalTransport:
    name = "local"

    def run(
        self,
        command: Command,
        *,
        timeout: float | None = DEFAULT_COMMAND_TIMEOUT,
        input: str | None = None,
        check: bool = False,
    ) -> CommandResult:
        argv = ["bash", "-c", command.code] if isinstance(command, Shell) else list(command)
        shown = command.code if isinstance(command, Shell) else shlex.join(argv)
        try:
            # Bytes in and out, decoded here: text mode would turn \r into \n.
            completed = subprocess.run(
                argv,
                input=input.encode() if input is not None else None,
                capture_output=True,
                timeout=timeout,
            )
        except FileNotFoundError as exc:
            result = CommandResult(shown, 127, "", f"{exc.filename}: command not found")
        except subprocess.TimeoutExpired:
            raise TransportError(f"'{shown}' timed out after {timeout:.0f}s") from None
        else:
            result = CommandResult(
                shown,
                completed.returncode,
                completed.stdout.decode(errors="replace"),
                completed.stderr.decode(errors="replace"),
            )
        return ensure(result) if check else result

    def home(self) -> str:
        return os.path.expanduser("~")

    def _path(self, path: str) -> Path:
        return Path(expand_home(path, self.home()))

    def put_text(self, text: str, remote_path: str, mode: int = 0o600) -> None:
        target = self._path(remote_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temp, mode)
        os.replace(temp, target)

    def sync_up(
        self,
        local_dir: Path,
        files: Sequence[str],
        remote_dir: str,
        *,
        link_dest: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        target = self._path(remote_dir)
        previous = self._path(link_dest) if link_dest else None
        sent = 0
        for relative in files:
            source = local_dir / relative
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            if previous is not None and _same_file(source, previous / relative):
                if destination.exists():
                    destination.unlink()
                os.link(previous / relative, destination)
                continue
            if destination.exists() and _same_file(source, destination):
                continue
            shutil.copy2(source, destination)
            sent += source.stat().st_size
            if progress is not None:  # as rsync reports it: the bytes sent so far
                progress(sent)
        return sent

    def sync_down(self, remote_dir: str, paths: Sequence[str], local_dir: Path) -> Fetched:
        """As rsync does it for the SSH transports (see ``Transport.sync_down``): never
        follows a symlink, recreates only those that stay inside the fetched tree."""
        base = self._path(remote_dir)
        sent, unsafe = 0, []
        for relative in paths:
            if _real_folder(base, relative):  # as rsync does: even an empty folder arrives
                (local_dir / os.path.normpath(relative)).mkdir(parents=True, exist_ok=True)
            for name in _walk(base, relative):
                source, destination = base / name, local_dir / name
                if source.is_symlink():
                    target = os.readlink(source)
                    if _link_stays_inside(name, target):
                        _place_link(target, destination)
                    else:
                        unsafe.append(name)
                elif source.is_file():
                    sent += _copy_if_changed(source, destination)
        return Fetched(sent, tuple(unsafe))

    def read_from(self, remote_path: str, offset: int) -> bytes:
        try:
            with open(self._path(remote_path), "rb") as handle:
                handle.seek(offset)
                return handle.read()
        except FileNotFoundError:
            return b""

    def close(self) -> None:
        return None


def _same_file(a: Path, b: Path) -> bool:
    """rsync's quick check: same size and modification time."""
    try:
        sa, sb = a.stat(), b.stat()
    except FileNotFoundError:
        return False
    return sa.st_size == sb.st_size and int(sa.st_mtime) == int(sb.st_mtime)


def _real_folder(base: Path, relative: str) -> bool:
    """``relative`` is a folder under ``base`` reached through no symlink at all."""
    parts = Path(os.path.normpath(relative)).parts
    if any((base / Path(*parts[:depth])).is_symlink() for depth in range(1, len(parts) + 1)):
        return False
    return (base / relative).is_dir()


def _walk(base: Path, relative: str) -> Iterator[str]:
    """``relative`` and, if it is a real folder (not a symlink), everything under it, as
    paths relative to ``base``; symlinks are listed, never followed."""
    parts = Path(os.path.normpath(relative)).parts
    for depth in range(1, len(parts)):  # a symlinked folder on the way is the entry itself
        if (base / Path(*parts[:depth])).is_symlink():
            yield str(Path(*parts[:depth]))
            return
    start = base / relative
    if not start.is_symlink() and start.is_dir():
        for current, folders, files in os.walk(start):  # os.walk follows no symlink
            for name in sorted(folders) + sorted(files):
                entry = Path(current) / name
                if entry.is_symlink() or not entry.is_dir():
                    yield os.path.relpath(entry, base)
    elif start.is_symlink() or start.exists():
        yield os.path.normpath(relative)


def _link_stays_inside(name: str, target: str) -> bool:
    """rsync's ``--safe-links`` rule: a relative target that, read from where the link is
    (``name``, relative to the fetched folder), never climbs above that folder."""
    if not target or os.path.isabs(target):
        return False
    depth = len(Path(name).parent.parts)
    for part in Path(target).parts:
        depth += -1 if part == ".." else 0 if part == "." else 1
        if depth < 0:
            return False
    return True


def _place_link(target: str, destination: Path) -> None:
    if destination.is_symlink() and os.readlink(destination) == target:
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    temp = destination.with_name(f".{destination.name}.{uuid.uuid4().hex[:8]}.tmp")
    os.symlink(target, temp)
    os.replace(temp, destination)


# never brought home: setuid, setgid, and write permission for others
_UNSAFE_MODE = stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH


def _copy_if_changed(source: Path, destination: Path) -> int:
    """Copy through a temporary file renamed into place (an interrupted copy never leaves
    a truncated file under the final name), without the unsafe mode bits."""
    if not destination.is_symlink() and _same_file(source, destination):
        return 0
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.")
    try:
        with os.fdopen(fd, "wb") as handle, open(source, "rb") as original:
            shutil.copyfileobj(original, handle)
        shutil.copystat(source, temp, follow_symlinks=False)
        os.chmod(temp, stat.S_IMODE(source.stat().st_mode) & ~_UNSAFE_MODE)
        os.replace(temp, destination)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return source.stat().st_size
