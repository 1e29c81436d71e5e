"""What an upload tells the person who started it: one warning line about large files it
is about to send, and a progress bar while it sends (both supplied by the caller: the CLI
draws on a terminal, the Python API warns through ``warnings``)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A progress reporter for ``total`` bytes described by ``label``: a context manager whose
# value is the callback taking the bytes sent so far, or None when no bar is wanted.
ProgressFactory = Callable[[int, str], AbstractContextManager[Callable[[int], None] | None]]

_NAMED_AT_MOST = 5


@dataclass(frozen=True)
class UploadFeedback:
    warn: Callable[[str], None]
    progress: ProgressFactory | None = None


def large_files_warning(scan: Any, project_root: Path) -> str | None:
    """One line naming the large files an upload would send (None: there are none)."""
    if not scan.large:
        return None
    named = [f"{path} ({_size(size)})" for path, size in scan.large[:_NAMED_AT_MOST]]
    more = len(scan.large) - len(named)
    listed = ", ".join(named) + (f" and {more} more" if more else "")
    ignore_file = project_root / ".hpcrunignore"
    return (
        f"uploading large files that are not ignored: {listed}; if the job does not need "
        f"them, list them in {ignore_file} (gitignore syntax)"
    )


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"  # not reached
