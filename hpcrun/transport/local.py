"""The local transport: this machine, through subprocess and the file system.

Used by the local site, and by Slurm sites when hpcrun runs on the login node itself.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hpcrun.transport.base import (
    DEFAULT_COMMAND_TIMEOUT,
    Command,
    CommandResult,
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
        return sent

    def sync_down(self, remote_dir: str, paths: Sequence[str], local_dir: Path) -> int:
        base = self._path(remote_dir)
        sent = 0
        for relative in paths:
            source = base / relative
            if source.is_file():
                sent += _copy_if_changed(source, local_dir / relative)
            elif source.is_dir():
                for current, _, filenames in os.walk(source):
                    for name in filenames:
                        file = Path(current) / name
                        sent += _copy_if_changed(file, local_dir / file.relative_to(base))
        return sent

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


def _copy_if_changed(source: Path, destination: Path) -> int:
    if destination.exists() and _same_file(source, destination):
        return 0
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, destination)
    return source.stat().st_size
