"""Small-file operations over an SFTP session (the paramiko transport's ``put_text``,
``read_from`` and existence checks).

They only call methods of the session they are given (a ``paramiko.SFTPClient``), so
paramiko itself is not imported here; mapping its exceptions to hpcrun's errors stays
with the transport (``SshTransport._sftp_call``).
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import secrets
from typing import Any, Protocol


class SftpClient(Protocol):
    """The part of ``paramiko.SFTPClient`` used here."""

    def stat(self, path: str) -> Any: ...
    def mkdir(self, path: str, mode: int = ...) -> None: ...
    def open(self, filename: str, mode: str = ..., bufsize: int = ...) -> Any: ...
    def posix_rename(self, oldpath: str, newpath: str) -> None: ...
    def rename(self, oldpath: str, newpath: str) -> None: ...
    def remove(self, path: str) -> None: ...


def write_atomically(sftp: SftpClient, target: str, data: bytes, mode: int) -> None:
    """Write ``target`` through a temporary file in its folder (made if missing), renamed
    over it at the end; the mode is set before any content is there."""
    parent, name = posixpath.split(target)
    temp = posixpath.join(parent, f".{name}.{secrets.token_hex(4)}.tmp")
    if parent:
        makedirs(sftp, parent)
    try:
        with sftp.open(temp, "wb") as handle:
            handle.chmod(mode)  # before any content is there
            handle.write(data)
        try:
            sftp.posix_rename(temp, target)
        except OSError:  # no posix-rename@openssh.com: not atomic, but works
            _remove(sftp, target)
            sftp.rename(temp, target)
    except BaseException:
        _remove(sftp, temp)
        raise


def read_from(sftp: SftpClient, path: str, offset: int) -> bytes:
    """Bytes of ``path`` from ``offset`` to its current end (b"" if it does not exist)."""
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


def exists(sftp: SftpClient, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True


def makedirs(sftp: SftpClient, path: str) -> None:
    """``mkdir -p`` (tolerating a concurrent maker)."""
    if exists(sftp, path):
        return
    parent = posixpath.dirname(path.rstrip("/"))
    if parent and parent != path:
        makedirs(sftp, parent)
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


def _remove(sftp: SftpClient, path: str) -> None:
    with contextlib.suppress(Exception):  # best effort; it may not exist
        sftp.remove(path)
