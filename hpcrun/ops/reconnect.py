"""Riding out a lost connection to the login node while following a run.

A dropped or refused connection says nothing about the job: hpcrun retries with back-off
(saying so once), for up to ``HPCRUN_RECONNECT_TIMEOUT`` seconds (default 600), then gives
up with ``ConnectionLostError`` (exit code 75), which tells the user how to re-attach. The
transports reconnect on their own on the next call after a drop.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

from hpcrun.errors import ConnectionLostError, UsageError
from hpcrun.transport.base import TransportError

RECONNECT_ENV = "HPCRUN_RECONNECT_TIMEOUT"
DEFAULT_RECONNECT_TIMEOUT = 600.0  # seconds
LONGEST_WAIT = 30.0

T = TypeVar("T")


def reconnect_timeout() -> float:
    """Seconds to keep retrying a lost connection (``$HPCRUN_RECONNECT_TIMEOUT``)."""
    text = os.environ.get(RECONNECT_ENV, "").strip()
    if not text:
        return DEFAULT_RECONNECT_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise UsageError(
            f"{RECONNECT_ENV}={text!r} is not a number of seconds",
            f"e.g. {RECONNECT_ENV}=600 (0: give up at the first failure)",
        )
    return seconds


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


class Reconnecting:
    """The state of one outage: when it began, what was said, how long to wait next."""

    def __init__(
        self,
        where: str,
        gave_up: str,
        hint: str,
        on_event: Callable[[str], None],
        limit: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.where, self.gave_up, self.hint = where, gave_up, hint
        self.on_event, self.clock = on_event, clock
        self.limit = reconnect_timeout() if limit is None else limit
        self.since: float | None = None
        self.wait = 1.0

    def failed(self, error: TransportError) -> float:
        """Seconds to wait before the next try; ConnectionLostError once past the limit."""
        now = self.clock()
        if self.since is None:
            self.since, self.wait = now, 1.0
            self.on_event(
                f"connection to {self.where} lost ({error.message}); "
                f"retrying for up to {_minutes(self.limit)}"
            )
        left = self.since + self.limit - now
        if left <= 0:
            raise ConnectionLostError(
                f"the connection to {self.where} stayed lost for {_minutes(self.limit)} "
                f"({error.message}); {self.gave_up}",
                f"{self.hint} ({RECONNECT_ENV} sets how many seconds to keep retrying)",
            )
        wait, self.wait = min(self.wait, left), min(LONGEST_WAIT, self.wait * 2)
        return max(wait, 0.1)

    def succeeded(self) -> None:
        if self.since is not None:
            self.on_event(f"connection to {self.where} is back")
            self.since = None

    def call(self, action: Callable[[], T], sleep: Callable[[float], None] = time.sleep) -> T:
        """``action()``, retried while the connection is lost."""
        while True:
            try:
                result = action()
            except TransportError as error:
                sleep(self.failed(error))
                continue
            self.succeeded()
            return result
