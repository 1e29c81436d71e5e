"""A login key bound to a command wrapper (site option ``restricted_commands: true``).

Some sites give automation (cron) a key whose ``authorized_keys`` entry forces a wrapper
that runs only single allow-listed commands (``mkdir``, ``cat``, ``rsync --server``,
``sbatch``, ``squeue``, ``scancel``), split on white space, without a shell. Such a wrapper
refuses ``bash -c``, ``&&``, pipes, redirections, quotes and ``$``.

``RestrictedTransport`` wraps an SSH transport and sends only such commands:

- every command line is one allow-listed program and words made of ``[A-Za-z0-9_@%+=:,./-]``
  (so nothing needs quoting, and a hostile name cannot change the command's meaning);
  anything else is refused HERE, before it is sent, with ``NotAvailableRestricted``;
- no login shell probe and no output markers (both need a shell);
- a few read-only commands hpcrun uses are answered with ``cat`` instead (``test -d``,
  ``tail -c N``, ``tail -n N``), and squeue's ``|`` field separator becomes ``@``;
- ``put_text`` uploads with rsync, ``read_from`` is ``cat`` (the whole file; the part
  from ``offset`` is cut here), ``sync_up`` runs ``mkdir -p`` first instead of rsync's
  ``--rsync-path`` shell snippet;
- ``home()`` reads HOME from ``cat /proc/self/environ`` (Linux login nodes).

A ``Shell`` snippet is never sent: it raises ``NotAvailableRestricted``, which names the
operation so that the caller's error says what to do instead. No silent fallback.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Callable, Sequence
from datetime import tzinfo
from pathlib import Path
from typing import Any

from hpcrun.errors import RemoteError, UsageError
from hpcrun.transport.base import (
    Command,
    CommandResult,
    Fetched,
    Shell,
    ensure,
    expand_home,
)

# What a restricted key must allow (docs/ssh.md lists the same).
ALLOWED_PROGRAMS = ("mkdir", "cat", "rsync", "sbatch", "squeue", "scancel")
# A word that means the same with and without a shell, so needs no quoting.
SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
# squeue's field separator in hpcrun's formats is "|" (a shell pipe); "@" appears in no
# field hpcrun asks for (ids, states, times, reasons, hpcrun job names).
SQUEUE_SEPARATOR = "@"
HINT = (
    "this site's key runs only single commands (restricted_commands: true); run this "
    "operation with a normal login key (a site config without restricted_commands for "
    "the same cluster), or ask the site to allow it"
)


_DEFAULT: Any = object()


class NotAvailableRestricted(UsageError):
    """An operation needs a command a restricted key does not allow (never sent)."""

    def __init__(self, what: str, hint: str = HINT) -> None:
        super().__init__(f"{what} is not available with restricted_commands", hint)


def restricted_argv(argv: Sequence[str]) -> list[str]:
    """``argv`` as a restricted key may run it: ``env VAR=... squeue`` loses its ``env``
    prefix, squeue's ``|`` separators become ``@``; then every word is checked.
    Raises ``NotAvailableRestricted`` for a program that is not allowed or a word that
    would need quoting."""
    words = list(argv)
    if words and words[0] == "env":
        while len(words) > 1 and "=" in words[1] and not words[1].startswith("-"):
            words.pop(1)  # the cluster's defaults instead (e.g. squeue's ISO times)
        words.pop(0)
    if not words:
        raise NotAvailableRestricted("an empty command")
    if words[0] not in ALLOWED_PROGRAMS:
        raise NotAvailableRestricted(f"running '{words[0]}' on the cluster")
    if words[0] == "squeue":
        words = [_squeue_word(word) for word in words]
    for word in words:
        if not SAFE_WORD.fullmatch(word):
            raise NotAvailableRestricted(
                f"sending {word!r} (a word that would need shell quoting)",
                "with restricted_commands, names and paths sent to the cluster may hold only "
                "letters, digits and _ @ % + = : , . / -; rename it (or remote_root)",
            )
    return words


def _squeue_word(word: str) -> str:
    if word.startswith(("--format=", "--Format=", "-o", "-O")):
        return word.replace("|", SQUEUE_SEPARATOR)
    return word


def parse_environ(data: bytes) -> dict[str, str]:
    """``/proc/self/environ`` (NUL-separated ``KEY=value``) as a dict."""
    pairs = (item.decode("utf-8", "replace").partition("=") for item in data.split(b"\0"))
    return {key: value for key, sep, value in pairs if sep and key}


def tail_bytes(data: bytes, count: int) -> bytes:
    return data[-count:] if count > 0 else b""


def tail_lines(data: bytes, count: int) -> bytes:
    lines = data.splitlines(keepends=True)
    return b"".join(lines[-count:]) if count > 0 else b""


class RestrictedTransport:
    """An SSH transport (``RemoteTransport``) that sends only single allow-listed commands."""

    restricted = True

    def __init__(self, inner: Any) -> None:
        self.inner = inner  # a RemoteTransport: its _exec, _rsync_shell, _where are used
        self.name = inner.name
        self.login = inner.login
        self._home: str | None = None
        self._timezone: tzinfo | bool | None = None  # False: asked, unreadable

    # ------------------------------------------------------------------ commands

    def run(
        self,
        command: Command,
        *,
        timeout: Any = _DEFAULT,
        input: str | None = None,
        check: bool = False,
    ) -> CommandResult:
        if isinstance(command, Shell):
            first = command.code.strip().splitlines()[0][:60] if command.code.strip() else ""
            raise NotAvailableRestricted(f"a shell command on the cluster ({first!r})")
        argv = list(command)
        # a number, None (no limit), or (the default, or the SSH transports' DEFAULT
        # marker) the transport's own command timeout
        explicit = timeout is None or isinstance(timeout, int | float)
        limit = timeout if explicit else self.inner.command_timeout
        emulated = self._emulated(argv, limit)
        if emulated is not None:
            return ensure(emulated) if check else emulated
        words = restricted_argv(argv)
        status, out, err = self._send(words, limit, None if input is None else input.encode())
        if words[0] == "squeue":
            out = out.replace(SQUEUE_SEPARATOR.encode(), b"|")
        line = " ".join(words)
        result = CommandResult(line, status, out.decode("utf-8", "replace"),
                               err.decode("utf-8", "replace"))  # fmt: skip
        return ensure(result) if check else result

    def _send(
        self, words: Sequence[str], timeout: float | None, input: bytes | None = None
    ) -> tuple[int, bytes, bytes]:
        line = " ".join(restricted_argv(words))  # checked words: no quoting needed
        return self.inner._exec(line, line, timeout=timeout, input=input)

    def _cat(self, path: str, timeout: float | None) -> tuple[int, bytes, bytes]:
        return self._send(["cat", path], timeout)

    def _emulated(self, argv: list[str], timeout: float | None) -> CommandResult | None:
        """``test -d P``, ``tail -c N P`` and ``tail -n N P`` answered with ``cat``."""
        shown = " ".join(argv)
        if len(argv) == 3 and argv[:2] == ["test", "-d"]:
            status, _, err = self._cat(argv[2], timeout)
            text = err.decode("utf-8", "replace")
            code = 0 if "Is a directory" in text else 1 if "No such file" in text else 2
            return CommandResult(shown, code if status else 1, "", "" if code < 2 else text)
        if len(argv) == 4 and argv[0] == "tail" and argv[1] in ("-c", "-n"):
            if not argv[2].isdigit():
                return None
            status, out, err = self._cat(argv[3], timeout)
            cut = tail_bytes if argv[1] == "-c" else tail_lines
            data = cut(out, int(argv[2])) if status == 0 else b""
            return CommandResult(shown, status, data.decode("utf-8", "replace"),
                                 err.decode("utf-8", "replace"))  # fmt: skip
        return None

    # ------------------------------------------------------------------ files

    def home(self) -> str:
        if self._home is None:
            status, out, err = self._cat("/proc/self/environ", self.inner.command_timeout)
            home = parse_environ(out).get("HOME", "") if status == 0 else ""
            if not home.startswith("/"):
                detail = err.decode("utf-8", "replace").strip() or f"exit code {status}"
                raise RemoteError(
                    f"cannot learn the home folder on {self.inner._where()} with "
                    f"`cat /proc/self/environ` ({detail})",
                    "with restricted_commands hpcrun learns the home folder from "
                    "`cat /proc/self/environ` (Linux): the key's wrapper must allow it",
                )
            self._home = home
        return self._home

    def _remote(self, path: str) -> str:
        return expand_home(path, self.home()) if path.startswith("~") else path

    def _mkdir(self, folder: str) -> None:
        ensure(self.run(["mkdir", "-p", folder]), f"creating {folder}")

    def put_text(self, text: str, remote_path: str, mode: int = 0o600) -> None:
        """Through rsync (no ``cat >``): a local file with the mode set, sent to the
        target's folder; rsync writes a temporary file and renames it."""
        target = self._remote(remote_path)
        parent, _, name = target.rpartition("/")
        restricted_argv(["cat", target])  # the same word rules as any command
        self._mkdir(parent or ".")
        with tempfile.TemporaryDirectory(prefix="hpcrun-put-") as tmp:
            local = Path(tmp, name)
            local.write_text(text, encoding="utf-8")
            local.chmod(mode)
            self._rsync([name], f"{tmp}/", f"{parent or '.'}/", keep_partial=False)

    def read_from(self, remote_path: str, offset: int) -> bytes:
        """The file from ``offset`` (b"" if it does not exist): ``cat`` of all of it."""
        path = self._remote(remote_path)
        status, out, err = self._cat(path, self.inner.command_timeout)
        if status == 0:
            return out[max(0, int(offset)) :]
        detail = err.decode("utf-8", "replace").strip()
        if "No such file" in detail:
            return b""
        raise RemoteError(
            f"reading {path} on {self.inner._where()} failed: {detail or f'exit {status}'}"
        )

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
        self._mkdir(target)
        link = self._remote(link_dest) if link_dest else None
        if link:
            restricted_argv(["cat", link])
        outcome = self._rsync(
            files, f"{local_dir}/", f"{target}/", link_dest=link, on_progress=progress
        )
        return outcome.stats.literal

    def sync_down(self, remote_dir: str, paths: Sequence[str], local_dir: Path) -> Fetched:
        """A missing remote folder fetches nothing (rsync says so; no ``test -d``)."""
        from hpcrun.transport.rsync import unsafe_links

        source = self._remote(remote_dir).rstrip("/") or "/"
        restricted_argv(["cat", source])
        if not paths:
            return Fetched(0)
        local_dir.mkdir(parents=True, exist_ok=True)
        outcome = self._rsync(paths, f"{source}/", f"{local_dir}/", download=True,
                              missing_source_ok=True)  # fmt: skip
        if outcome is None:
            return Fetched(0)
        return Fetched(outcome.stats.literal, unsafe_links(outcome.stdout + outcome.stderr))

    def _rsync(
        self,
        files: Sequence[str],
        source: str,
        destination: str,
        *,
        link_dest: str | None = None,
        download: bool = False,
        keep_partial: bool = True,
        missing_source_ok: bool = False,
        on_progress: Callable[[int], None] | None = None,
    ) -> Any:
        """rsync over the inner transport's connection; the remote side runs only
        ``rsync --server ...`` (paths travel inside the protocol: ``-s``)."""
        from hpcrun.transport.rsync import remote_spec, rsync_argv, rsync_failure, run_rsync

        host = self.inner.login.host
        if download:
            source = remote_spec(host, source)
        else:
            destination = remote_spec(host, destination)
        with self.inner._rsync_shell() as rsh:
            argv = rsync_argv(
                rsh=rsh, source=source, destination=destination, link_dest=link_dest,
                io_timeout=self.inner.command_timeout, skip_missing=download,
                download=download, progress=on_progress is not None,
            )  # fmt: skip
            if not keep_partial:
                argv = [word for word in argv if word != "--partial"]
            outcome = run_rsync(argv, files, on_progress)
        if outcome.ok:
            return outcome
        if (
            missing_source_ok
            and "change_dir" in outcome.stderr
            and ("No such file" in outcome.stderr)
        ):
            return None
        error = self.inner._rsync_error(outcome.stderr)
        raise error or rsync_failure(outcome.returncode, outcome.stderr, self.inner._where())

    def cluster_timezone(self) -> tzinfo | None:
        """The login node's time zone (``cat /etc/localtime``), for squeue's times: without
        ``env SLURM_TIME_FORMAT=%s`` they are local and carry no zone. None if unreadable."""
        if self._timezone is None:
            from zoneinfo import ZoneInfo

            try:
                data = self.read_from("/etc/localtime", 0)
                self._timezone = ZoneInfo.from_file(io.BytesIO(data)) if data else False
            except (RemoteError, ValueError):
                self._timezone = False
        return self._timezone or None

    def close(self) -> None:
        self.inner.close()
