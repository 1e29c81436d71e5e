"""rsync through a connection hpcrun already has (the paramiko transport's remote shell).

rsync wants a "remote shell" program (``-e``) that it can start as
``PROGRAM HOST COMMAND...`` and talk to over the program's stdin and stdout. With
paramiko there is no such program, so this module is one: ``rsync -e "python
.../rsh_proxy.py SOCKET"`` starts it (``python -m hpcrun.transport.rsh_proxy`` works
too); it hands the command to the parent
process over a private Unix socket and relays bytes. In the parent, a ``Relay`` thread
runs the command on an exec channel of the parent's existing SSH connection. There is
still exactly one SSH connection per hpcrun invocation, and rsync's delta transfer,
``--link-dest`` and ``--partial`` work as usual.

Wire protocol on the socket:
- helper -> parent: one line of JSON ``{"command": "..."}``, then the helper's stdin,
  raw, then a half-close (EOF).
- parent -> helper: frames of 1 kind byte (``o`` stdout, ``e`` stderr, ``x`` exit
  status), a 4-byte big-endian length and the payload; ``x`` carries a signed 4-byte int.

This whole module imports only the standard library: the helper side starts once per
rsync run, as ``python -I -S``. The rsync command line itself is in ``rsync.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import socket
import struct
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from types import TracebackType

_HEADER = struct.Struct(">cI")
_STATUS = struct.Struct(">i")
_CHUNK = 65536
_HEADER_LIMIT = 1 << 20

# execute(command, read_stdin, write_stdout, write_stderr) -> exit status
Execute = Callable[
    [str, Callable[[], bytes], Callable[[bytes], None], Callable[[bytes], None]], int
]


# --------------------------------------------------------------------------- helper side


# rsync may hand us non-blocking descriptors (ssh copes, so must we): wait, don't fail.


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        view = view[written:]


def _read_some(fd: int) -> bytes:
    while True:
        try:
            return os.read(fd, _CHUNK)
        except BlockingIOError:
            select.select([fd], [], [])


def _recv_exact(sock: socket.socket, size: int) -> bytes | None:
    buffer = bytearray()
    while len(buffer) < size:
        chunk = sock.recv(size - len(buffer))
        if not chunk:
            return None
        buffer.extend(chunk)
    return bytes(buffer)


def _forward_stdin(sock: socket.socket) -> None:
    try:
        while True:
            data = _read_some(0)
            if not data:
                break
            sock.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_WR)


def main(argv: Sequence[str]) -> int:
    """``rsh_proxy SOCKET [-l USER] HOST COMMAND...`` (as rsync calls a remote shell)."""
    if len(argv) < 3:
        sys.stderr.write("usage: python -m hpcrun.transport.rsh_proxy SOCKET HOST COMMAND...\n")
        return 255
    path, rest = argv[0], list(argv[1:])
    if rest[:1] == ["-l"]:
        rest = rest[2:]  # the user is the connection's, not rsync's to choose
    command = " ".join(rest[1:])  # what ssh does with its arguments
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
        sock.sendall(json.dumps({"command": command}).encode() + b"\n")
    except OSError as exc:
        sys.stderr.write(f"hpcrun rsh_proxy: cannot reach the parent process: {exc}\n")
        return 255
    threading.Thread(target=_forward_stdin, args=(sock,), daemon=True).start()
    while True:
        header = _recv_exact(sock, _HEADER.size)
        if header is None:
            sys.stderr.write("hpcrun rsh_proxy: the parent process went away\n")
            return 255
        kind, size = _HEADER.unpack(header)
        payload = _recv_exact(sock, size) if size else b""
        if payload is None:
            return 255
        if kind == b"x":
            return int(_STATUS.unpack(payload)[0]) & 0xFF
        _write_all(1 if kind == b"o" else 2, payload)


# --------------------------------------------------------------------------- parent side


class Relay:
    """A private Unix socket; every helper that connects gets its command run by
    ``execute`` (on the parent's SSH connection). Use as a context manager."""

    def __init__(self, execute: Execute) -> None:
        self._execute = execute
        self._dir = tempfile.mkdtemp(prefix="hpcrun-rsh-")  # mode 0700: ours only
        self.path = os.path.join(self._dir, "s")
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._wake_read, self._wake_write = os.pipe()  # ends the accept loop at once
        self._threads: list[threading.Thread] = []

    def rsh(self) -> list[str]:
        """The remote-shell command for ``rsync -e``: this file, run by this Python in
        isolated mode without ``site`` (it needs only the standard library; that halves
        its start-up time, paid once per transfer)."""
        return [sys.executable, "-I", "-S", os.path.abspath(__file__), self.path]

    def __enter__(self) -> Relay:
        self._server.bind(self.path)
        self._server.listen(4)
        acceptor = threading.Thread(target=self._accept, name="hpcrun-rsh-accept", daemon=True)
        acceptor.start()
        self._threads.append(acceptor)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        os.write(self._wake_write, b"x")
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._server.close()
        os.close(self._wake_read)
        os.close(self._wake_write)
        shutil.rmtree(self._dir, ignore_errors=True)

    def _accept(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self._server, self._wake_read], [], [])
                if self._wake_read in ready:
                    return
                conn, _ = self._server.accept()
            except OSError:
                return
            worker = threading.Thread(
                target=self._serve, args=(conn,), name="hpcrun-rsh", daemon=True
            )
            worker.start()
            self._threads.append(worker)

    def _serve(self, conn: socket.socket) -> None:
        lock = threading.Lock()

        def frame(kind: bytes, payload: bytes) -> None:
            with lock:
                conn.sendall(_HEADER.pack(kind, len(payload)) + payload)

        with conn:
            try:
                line, leftover = _read_line(conn)
                command = str(json.loads(line)["command"])
            except (OSError, ValueError, KeyError, TypeError):
                return
            pending = [leftover] if leftover else []

            def read_stdin() -> bytes:
                return pending.pop() if pending else conn.recv(_CHUNK)

            status = 255
            try:
                status = self._execute(
                    command,
                    read_stdin,
                    lambda data: frame(b"o", data),
                    lambda data: frame(b"e", data),
                )
            except OSError:  # the helper went away (rsync ended or timed out)
                return
            except Exception as exc:  # report, don't lose it in a thread
                message = f"hpcrun: {type(exc).__name__}: {exc}\n".encode()
                try:
                    frame(b"e", message)
                except OSError:
                    return
            try:
                frame(b"x", _STATUS.pack(status))
            except OSError:
                return


def _read_line(conn: socket.socket) -> tuple[bytes, bytes]:
    """The first line, and whatever came after it in the same reads."""
    buffer = b""
    while b"\n" not in buffer:
        chunk = conn.recv(_CHUNK)
        if not chunk or len(buffer) > _HEADER_LIMIT:
            raise ValueError("no command line from the helper")
        buffer += chunk
    line, _, rest = buffer.partition(b"\n")
    return line, rest


if __name__ == "__main__":
    sys.stdout.flush()
    os._exit(main(sys.argv[1:]))
