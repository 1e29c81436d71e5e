"""Wait for several runs to end: per round ONE scheduler poll per site for all of them
(``ops.track.refresh``), with the back-off of ``ops.follow``. A lost connection to a login
node is ridden out as ``follow`` does (``ops.reconnect``): nothing is concluded about its
runs, and past the limit ConnectionLostError (exit code 75)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hpcrun.ops.follow import LOCAL_BACKOFF, Backoff
from hpcrun.ops.reconnect import Reconnecting
from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh
from hpcrun.transport.base import TransportError


@dataclass(frozen=True)
class Waited:
    ended: list[Any]  # final RunRecords, in the order they were seen ending
    ongoing: list[Any]  # RunRecords still going when the timeout came (else empty)


def wait_for(
    session: Session,
    records: Sequence[Any],
    *,
    timeout: float | None = None,
    on_end: Callable[[Any], None] = lambda _: None,
    on_event: Callable[[str], None] = lambda _: None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Waited:
    """Poll until every run is final or ``timeout`` seconds have passed; ``on_end`` is
    called once per run as it is seen final (runs already final first)."""
    store = session.store
    deadline = None if timeout is None else clock() + timeout
    if backoff is None:
        local = all(r.site == "local" for r in records)
        backoff = LOCAL_BACKOFF if local else Backoff()
    ended: list[Any] = []
    ongoing = list(records)
    outages: dict[str, Reconnecting] = {}
    interval = backoff.first
    while True:
        lost: dict[str, str] = {}
        if any(not r.final for r in ongoing):
            lost = refresh(session, [r for r in ongoing if not r.final]).lost
        still = []
        for record in ongoing:
            record = store.get(record.run) or record
            if record.final:
                ended.append(record)
                on_end(record)
            else:
                still.append(record)
        progressed = len(still) < len(ongoing)
        ongoing = still
        if not ongoing:
            return Waited(ended, [])
        pause = _outage_pause(session, ongoing, lost, outages, on_event)
        interval = backoff.next(interval, progressed)
        pause = interval if pause is None else pause
        if deadline is not None:
            left = deadline - clock()
            if left <= 0:
                return Waited(ended, ongoing)
            pause = min(pause, left)
        sleep(pause)


def _outage_pause(
    session: Session,
    ongoing: list[Any],
    lost: dict[str, str],
    outages: dict[str, Reconnecting],
    on_event: Callable[[str], None],
) -> float | None:
    """Seconds to wait before retrying a lost site (None: none is lost); ConnectionLostError
    once one stayed lost past the limit. A site that answers again is announced."""
    for name in [n for n in outages if n not in lost]:
        outages.pop(name).succeeded()
    pauses = []
    for name, why in lost.items():
        if name not in outages:
            record = next((r for r in ongoing if r.site == name), None)
            site = session.site_of(record) if record is not None else None
            where = site.login.host if site is not None and site.login else name
            runs = " ".join(r.run for r in ongoing if r.site == name)
            outages[name] = Reconnecting(
                where, f"{runs} may still be running", f"wait again with: hpcrun wait {runs}",
                on_event,
            )  # fmt: skip
        pauses.append(outages[name].failed(TransportError(why)))
    return min(pauses) if pauses else None
