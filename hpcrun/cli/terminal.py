"""Manners at a terminal: colour only for a person at one (and never with ``NO_COLOR``), and
a progress bar for uploads big enough to take a while, drawn on stderr only when it is a
terminal. A pipe, a file or cron gets plain text and nothing extra."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

# Smaller uploads take well under a second on any link: a bar would only flicker.
PROGRESS_MIN_BYTES = 4 * 1024 * 1024


def no_colour() -> bool:
    """``NO_COLOR`` set to anything but the empty string (https://no-color.org), or a
    terminal that says it cannot show colours (``TERM=dumb``)."""
    return bool(os.environ.get("NO_COLOR")) or os.environ.get("TERM") == "dumb"


def is_terminal(stream: TextIO) -> bool:
    """A person is watching ``stream``: a TTY, and not a dumb one."""
    try:
        return stream.isatty() and os.environ.get("TERM", "") != "dumb"
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


def upload_feedback() -> Any:
    """The CLI's ``UploadFeedback``: warnings as hpcrun's warning lines, and the bar."""
    from hpcrun.cli.common import warn
    from hpcrun.ops.upload_feedback import UploadFeedback

    return UploadFeedback(warn=warn, progress=upload_progress)


@contextmanager
def upload_progress(total: int, label: str) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr for an upload of ``total`` bytes; None (no bar, and the
    transfer is not asked to report) when it is small or stderr is not a terminal."""
    stream = sys.stderr
    if total < PROGRESS_MIN_BYTES or not is_terminal(stream):
        yield None
        return
    import click

    from hpcrun.cli.common import human_size

    shown = {"done": 0}

    def position(_: Any) -> str:
        return f"{human_size(shown['done'])} of {human_size(total)}"

    with click.progressbar(
        length=total, label=f"hpcrun: {label}", file=stream, item_show_func=position,
        show_pos=False, width=30,
    ) as bar:  # fmt: skip

        def advance(done: int) -> None:
            done = min(done, total)
            step = done - shown["done"]
            if step > 0:
                shown["done"] = done  # first: the bar's label reads it while updating
                bar.update(step)

        yield advance
        advance(total)  # files unchanged since the last upload are never "sent"
