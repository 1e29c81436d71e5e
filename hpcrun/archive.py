"""Bounded zip extraction: a project zip may come from anyone, and a 300 KB "zip bomb"
can declare (or really hold) gigabytes.

Before anything is written the archive's listing is checked against the limits below;
while extracting, every member is streamed with a byte cap, because declared sizes can lie.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from hpcrun.errors import UsageError

MAX_TOTAL_BYTES = 1024**3  # all members together, uncompressed
MAX_MEMBERS = 100_000
MAX_RATIO = 100  # uncompressed : compressed, checked for members above RATIO_FROM_BYTES
RATIO_FROM_BYTES = 1024**2  # small files (a page of zeros) may compress better; harmless
_CHUNK = 1024**2

_HINT = (
    "a project zip holds code and small inputs: put large data next to the job "
    "(--inputs, or a path on the cluster), or unpack it and submit the folder"
)


def _size(count: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if count < 1024 or unit == "GiB":
            return f"{count} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024  # type: ignore[assignment]
    return str(count)  # pragma: no cover


def check_limits(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse, before extracting, an archive whose listing exceeds a limit."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise UsageError(
            f"{path} has {len(members)} members, more than the limit of {MAX_MEMBERS}; "
            "nothing was extracted",
            _HINT,
        )
    total = sum(info.file_size for info in members)
    if total > MAX_TOTAL_BYTES:
        raise UsageError(
            f"{path} would expand to {_size(total)}, more than the limit of "
            f"{_size(MAX_TOTAL_BYTES)}; nothing was extracted",
            _HINT,
        )
    for info in members:
        if info.file_size <= RATIO_FROM_BYTES:
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > MAX_RATIO:
            raise UsageError(
                f"{path}: member {info.filename} expands {ratio:.0f} times "
                f"({_size(info.compress_size)} to {_size(info.file_size)}), more than the "
                f"limit of {MAX_RATIO}:1 for members over {_size(RATIO_FROM_BYTES)}; "
                "nothing was extracted (this looks like a zip bomb)",
                _HINT,
            )


def _copy_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path, budget: int) -> int:
    """Stream one member to ``dest``; at most its declared size and the remaining budget."""
    cap = min(info.file_size, budget)
    written = 0
    with archive.open(info) as source, dest.open("wb") as sink:
        while chunk := source.read(min(_CHUNK, cap - written + 1)):
            written += len(chunk)
            if written > cap:
                raise UsageError(
                    f"member {info.filename} holds more data than its declared "
                    f"{_size(info.file_size)} (or the archive's {_size(MAX_TOTAL_BYTES)} "
                    "limit is reached); extraction stopped",
                    _HINT,
                )
            sink.write(chunk)
    return written


def extract_bounded(archive: zipfile.ZipFile, path: Path, target: Path) -> None:
    """Extract ``archive`` (already checked for unsafe names) into ``target``, all or
    nothing: into a temporary folder first, renamed to ``target`` when complete."""
    check_limits(archive, path)
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    budget = MAX_TOTAL_BYTES
    try:
        for info in archive.infolist():
            dest = partial / info.filename
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                budget -= _copy_capped(archive, info, dest, budget)
            except UsageError as exc:
                raise UsageError(f"{path}: {exc.message}", exc.hint) from None
            except (zipfile.BadZipFile, EOFError, NotImplementedError, RuntimeError) as exc:
                raise UsageError(f"{path}: cannot extract {info.filename}: {exc}") from None
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
