"""What an upload tells the person who started it: one warning line about what it is about
to send that is usually left out (un-ignored Python environments, large files), and a
progress bar while it sends (both supplied by the caller: the CLI draws on a terminal, the
Python API warns through ``warnings``)."""

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


def upload_warning(scan: Any, project_root: Path) -> str | None:
    """One line naming what an upload would send that is usually left out: Python
    environments un-ignored by a ``!`` rule, and large files (None: nothing of the kind)."""
    parts, advice = [], []
    if scan.environments:
        named = ", ".join(
            f"{env.path}/ ({_size(env.bytes)}, un-ignored in {project_root / env.rule_file})"
            for env in scan.environments
        )
        parts.append(f"Python environments un-ignored by a `!` rule: {named}")
        advice.append("the job builds its own environment from `requirements`: if it does "
                      "not need them, drop the rule")  # fmt: skip
    if scan.large:
        named = ", ".join(f"{path} ({_size(size)})" for path, size in scan.large[:_NAMED_AT_MOST])
        more = len(scan.large) - _NAMED_AT_MOST
        parts.append(f"large files that are not ignored: {named}"
                     + (f" and {more} more" if more > 0 else ""))  # fmt: skip
        ignore_file = project_root / ".hpcrunignore"
        advice.append(f"if the job does not need them, list them in {ignore_file} "
                      "(gitignore syntax)")  # fmt: skip
    if not parts:
        return None
    return f"uploading {', and '.join(parts)}; {'; '.join(advice)}"


def _size(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} GiB"  # not reached
