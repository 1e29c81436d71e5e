"""A second factor after the key (keyboard-interactive), for the paramiko transport.

Many sites accept the key only as a first step ("partial success") and then ask a
question: a one-time code, a push confirmation, a password. paramiko's ``SSHClient``
then calls ``Transport.auth_interactive_dumb``, which prints the prompts on stdout and
reads stdin with ``input()``: it would echo a password, mix prompts into output that
hpcrun parses (``ps --json``), and wait forever under cron. Here that method asks on the
terminal, getpass-style (``/dev/tty``, no echo for secret answers, the server's text
shown as it is), and without a terminal fails at once with what to do instead.

paramiko is imported here lazily (``hpcrun --help`` stays fast).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from hpcrun.transport.base import TransportError
from hpcrun.transport.ssh_endpoint import has_terminal, second_factor_without_terminal

if TYPE_CHECKING:
    import paramiko

# How long the user has to answer (paramiko's auth_timeout would otherwise end the login
# after the connect timeout, long before anyone has typed a code); sshd's LoginGraceTime
# (2 minutes by default) usually ends it first.
ANSWER_TIMEOUT = 300.0


def transport_factory(where: str, host: str) -> type[paramiko.Transport]:
    """A ``paramiko.Transport`` class for ``SSHClient.connect(transport_factory=...)``
    whose keyboard-interactive step asks on the terminal (``where``: for messages;
    ``host``: the login host as the site names it)."""
    import paramiko

    class InteractiveTransport(paramiko.Transport):
        def auth_interactive_dumb(
            self, username: str, handler: Any = None, submethods: str = ""
        ) -> list[str]:
            if not has_terminal():
                # before any question arrives: nothing waits for an answer that never comes
                raise second_factor_without_terminal(where, "keyboard-interactive", host=host)
            self.auth_timeout = max(self.auth_timeout or 0.0, ANSWER_TIMEOUT)
            try:
                with _terminal() as tty:
                    asker = _Asker(tty, where)
                    return list(self.auth_interactive(username, asker.answer, submethods))
            except paramiko.BadAuthenticationType as exc:
                raise TransportError(
                    f"{where} accepted the key but then asks for {', '.join(exc.allowed_types)}"
                    ", which the paramiko transport cannot answer",
                    hint="use `transport: openssh` in the site's login (ssh asks for it)",
                ) from None
            except paramiko.AuthenticationException as exc:
                raise TransportError(
                    f"{where} accepted the key but refused the answer to its second-factor "
                    f"question ({exc})",
                    hint="run the command again and answer anew (one-time codes expire quickly)",
                ) from None

    return InteractiveTransport


class _Asker:
    """Answers the server's questions on the terminal (runs in paramiko's thread)."""

    def __init__(self, tty: IO[str], where: str) -> None:
        self.tty = tty
        self.where = where
        self.introduced = False

    def answer(
        self, title: str, instructions: str, prompts: Sequence[tuple[str, bool]]
    ) -> list[str]:
        if not prompts:  # some servers send text only (or nothing): no answer due
            if title or instructions:
                self._write("".join(f"{text.rstrip()}\n" for text in (title, instructions) if text))
            return []
        if not self.introduced:
            self._write(f"{self.where} asks for a second factor:\n")
            self.introduced = True
        for text in (title, instructions):
            if text.strip():
                self._write(text.rstrip() + "\n")
        return [self._ask(prompt, echo) for prompt, echo in prompts]

    def _write(self, text: str) -> None:
        self.tty.write(text)
        self.tty.flush()

    def _ask(self, prompt: str, echo: bool) -> str:
        self._write(prompt)
        with contextlib.ExitStack() as stack:
            if not echo:
                stack.enter_context(_no_echo(self.tty))
            line = self.tty.readline()
            if not echo:
                self._write("\n")  # the user's Enter was not echoed either
        return line.rstrip("\r\n")


@contextlib.contextmanager
def _terminal() -> Iterator[IO[str]]:
    """The controlling terminal (as getpass uses it), else stdin/stderr. Its settings are
    restored on the way out, also when Ctrl-C interrupts a question (the question runs
    in paramiko's thread, which would leave echo off)."""
    try:
        fd = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        # as getpass does: a tty cannot seek, so no buffered "w+" file
        tty: IO[str] = io.TextIOWrapper(
            io.FileIO(fd, "w+"), encoding="utf-8", errors="replace", line_buffering=True
        )
        own = True
    except OSError:
        tty, own = _StdStreams(), False  # type: ignore[assignment]
    saved = _settings(tty)
    try:
        yield tty
    finally:
        if saved is not None:
            import termios

            with contextlib.suppress(OSError, termios.error):
                termios.tcsetattr(tty.fileno(), termios.TCSADRAIN, saved)
        if own:
            with contextlib.suppress(OSError):
                tty.close()


def _settings(tty: IO[str]) -> list[Any] | None:
    try:
        import termios

        return termios.tcgetattr(tty.fileno())
    except (ImportError, OSError, ValueError):
        return None
    except Exception:  # termios.error: not a terminal after all
        return None


@contextlib.contextmanager
def _no_echo(tty: IO[str]) -> Iterator[None]:
    saved = _settings(tty)
    if saved is None:
        yield
        return
    import termios

    quiet = list(saved)
    quiet[3] &= ~termios.ECHO
    termios.tcsetattr(tty.fileno(), termios.TCSAFLUSH, quiet)
    try:
        yield
    finally:
        termios.tcsetattr(tty.fileno(), termios.TCSAFLUSH, saved)


class _StdStreams:
    """stdin for answers, stderr for questions (never stdout: hpcrun's output)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def readline(self) -> str:
        return sys.stdin.readline()

    def fileno(self) -> int:
        return sys.stdin.fileno()
