"""rsync, as the SSH transports run it: the command line, its ``--stats``, its failures.

How rsync reaches the other side (its ``-e`` remote shell) is the caller's: the paramiko
transport hands it the ``rsh_proxy`` relay, the OpenSSH transport ``ssh`` with its
ControlMaster options. Everything else about a transfer is here.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from hpcrun.errors import RemoteError
from hpcrun.transport.base import TransportError


@dataclass(frozen=True)
class SyncStats:
    literal: int  # file data actually sent (what sync_up/sync_down return)
    sent: int  # bytes on the wire, both directions, protocol included
    received: int
    files: int  # regular files transferred


_STAT_LINES = {
    "literal": re.compile(r"^Literal data: ([\d,.]+)", re.M),
    "sent": re.compile(r"^Total bytes sent: ([\d,.]+)", re.M),
    "received": re.compile(r"^Total bytes received: ([\d,.]+)", re.M),
    "files": re.compile(r"^Number of (?:regular )?files transferred: ([\d,.]+)", re.M),
}


def parse_stats(text: str) -> SyncStats:
    """The numbers of ``rsync --stats`` (any digit grouping)."""
    values: dict[str, int] = {}
    for key, pattern in _STAT_LINES.items():
        match = pattern.search(text)
        values[key] = int(re.sub(r"\D", "", match.group(1))) if match else 0
    return SyncStats(**values)


def rsync_argv(
    *,
    rsh: Sequence[str],
    source: str,
    destination: str,
    link_dest: str | None = None,
    rsync_path: str | None = None,
    io_timeout: float | None = None,
    skip_missing: bool = False,
    download: bool = False,
    progress: bool = False,
) -> list[str]:
    """The rsync command line; the file list comes NUL-separated on stdin.

    ``-s`` (protect args) sends paths inside the rsync protocol, never through the remote
    shell, so no path needs quoting for it.

    ``download``: what a job left on the cluster is untrusted: ``--safe-links`` drops
    symlinks that leave the transferred tree (``--info=name1`` makes the sender name
    them, see ``unsafe_links``), ``--chmod`` strips setuid/setgid bits and write access
    for others, and an interrupted file waits in ``PARTIAL_DIR`` (resumed from there,
    removed when done) instead of lying truncated under its final name.
    """
    keep = ["--partial-dir=" + PARTIAL_DIR, "--safe-links", "--chmod=ug-s,o-w", "--info=name1"]
    argv = [
        "rsync", "-rlpt", "--stats", *(keep if download else ["--partial"]), "-s", "--from0",
        "--files-from=-", "-e", " ".join(_rsync_quote(part) for part in rsh),
    ]  # fmt: skip
    if skip_missing:  # listed paths that do not exist are no error
        argv.append("--ignore-missing-args")
    if progress:  # one running total on stdout (parse_progress), for a progress bar
        argv.append("--info=progress2")
    if link_dest:
        argv.append(f"--link-dest={link_dest}")
    if rsync_path:
        argv.append(f"--rsync-path={rsync_path}")
    if io_timeout:
        argv.append(f"--timeout={max(1, int(io_timeout))}")
    return [*argv, source, destination]


PARTIAL_DIR = ".hpcrun-partial"  # rsync excludes it from transfers and deletes it when empty

_UNSAFE_LINK = re.compile(r'^ignoring unsafe symlink "(.*)" -> "(.*)"$', re.M)


def unsafe_links(output: str) -> tuple[str, ...]:
    """The symlinks ``--safe-links`` skipped, as rsync names them (relative paths)."""
    return tuple(dict.fromkeys(match.group(1) for match in _UNSAFE_LINK.finditer(output)))


def _rsync_quote(word: str) -> str:
    """Quote for rsync's own ``-e`` splitting (spaces split; quotes group; no backslashes)."""
    if word and re.fullmatch(r"[\w@%+=:,./-]+", word):
        return word
    return "'" + word.replace("'", "'\"'\"'") + "'"


def remote_spec(host: str, path: str) -> str:
    """``host:path`` for rsync (IPv6 literals in brackets)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{host}:{path}"


@dataclass(frozen=True)
class RsyncOutcome:
    returncode: int
    stdout: str
    stderr: str
    stats: SyncStats

    @property
    def ok(self) -> bool:
        return self.returncode in (0, 24)  # 24: some source files vanished meanwhile


def run_rsync(
    argv: Sequence[str], files: Sequence[str], on_progress: Callable[[int], None] | None = None
) -> RsyncOutcome:
    """Run rsync (``files`` on its stdin); ``TransportError`` if it is not installed here.
    ``on_progress``: called with the bytes sent so far as rsync reports them (the argv
    must ask for ``--info=progress2``)."""
    listing = b"".join(os.fsencode(name) + b"\0" for name in files)
    env = {**os.environ, "LC_ALL": "C"}
    try:
        if on_progress is None:
            completed = subprocess.run(
                list(argv), input=listing, capture_output=True, env=env, check=False
            )
            returncode, out, err = completed.returncode, completed.stdout, completed.stderr
        else:
            returncode, out, err = _run_reporting(argv, listing, env, on_progress)
    except FileNotFoundError:
        raise TransportError(
            "rsync is not installed on this machine",
            hint="install it (e.g. `apt install rsync` or `brew install rsync`)",
        ) from None
    stdout = out.decode("utf-8", errors="replace")
    stderr = err.decode("utf-8", errors="replace")
    return RsyncOutcome(returncode, stdout, stderr, parse_stats(stdout))


def _run_reporting(
    argv: Sequence[str], listing: bytes, env: dict[str, str], on_progress: Callable[[int], None]
) -> tuple[int, bytes, bytes]:
    """rsync with its stdout read as it comes (progress lines end in ``\r``); stdin and
    stderr are served by threads so that no pipe fills up and stalls it."""
    import threading

    process = subprocess.Popen(
        list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=env,
    )  # fmt: skip
    assert process.stdin and process.stdout and process.stderr
    errors: list[bytes] = []

    def feed() -> None:
        try:
            process.stdin.write(listing)  # type: ignore[union-attr]
            process.stdin.close()  # type: ignore[union-attr]
        except OSError:  # rsync ended early: its exit code says why
            pass

    threads = [threading.Thread(target=feed, daemon=True),
               threading.Thread(target=lambda: errors.append(process.stderr.read()),  # type: ignore[union-attr]
                                daemon=True)]  # fmt: skip
    for thread in threads:
        thread.start()
    output, pending = bytearray(), b""
    while chunk := process.stdout.read1(65536):
        output += chunk
        *lines, pending = re.split(rb"[\r\n]", pending + chunk)
        for line in lines:
            done = parse_progress(line.decode("ascii", errors="replace"))
            if done is not None:
                on_progress(done)
    returncode = process.wait()
    for thread in threads:
        thread.join()
    return returncode, bytes(output), b"".join(errors)


_PROGRESS = re.compile(r"^\s*([\d,.]+)\s+\d+%\s")


def parse_progress(line: str) -> int | None:
    """The byte count of one ``--info=progress2`` line (``  30,000,000  85%  893.09MB/s
    0:00:00 (xfr#1, to-chk=1/2)``); None for any other line."""
    match = _PROGRESS.match(line)
    return int(re.sub(r"\D", "", match.group(1))) if match else None


def rsync_failure(returncode: int, stderr: str, where: str) -> RemoteError:
    """The error for a failed rsync run."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    tail = " | ".join(lines[-3:]) or f"exit code {returncode}"
    if "command not found" in stderr or "rsync: not found" in stderr:
        return RemoteError(
            f"rsync is not installed on {where}",
            hint="ask the cluster's admins, or load a module that provides it",
        )
    if returncode in (12, 255) or "hpcrun:" in stderr:
        return TransportError(
            f"file transfer with {where} failed: {tail}",
            hint="the connection dropped or stalled; retrying resumes where it stopped",
        )
    return RemoteError(f"file transfer with {where} failed (rsync exit {returncode}): {tail}")
