"""Job time limits: dstack's ``max_duration`` ("90m", "2h", "1d12h") and Slurm's ``--time``
forms ("90", "1:30:00", "2-00:00:00"), parsed to seconds and written back in the one form
hpcrun puts on ``#SBATCH --time`` (``HH:MM:SS``, or ``D-HH:MM:SS`` from a day on).

Pure functions, no imports beyond ``re``: the site and workflow models, the CLI and the
partition checks share them, so "what a time limit is" is decided in one place.
"""

from __future__ import annotations

import re
from functools import lru_cache

ACCEPTED_FORMS = (
    "a number of minutes (90), units (45s, 90m, 2h, 1d, 1w, 1d12h, 2h30m), or Slurm's "
    "MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS (1:30:00, 2-00:00:00)"
)
_UNIT_SECONDS = {"w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
# "1d12h", "2h30m", "45s": each unit at most once, largest first (checked below).
_UNITS_RE = re.compile(r"(?:\d+[wdhms])+", re.IGNORECASE)
_UNIT_PART_RE = re.compile(r"(\d+)([wdhms])", re.IGNORECASE)
# Slurm: MM | MM:SS | HH:MM:SS | D-HH | D-HH:MM | D-HH:MM:SS (sinfo prints the same forms).
_CLOCK_RE = re.compile(r"(\d+)(?::(\d+))?(?::(\d+))?")
_DAYS_RE = re.compile(r"(\d+)-(\d+)(?::(\d+))?(?::(\d+))?")
# What sinfo/scontrol print for a partition without a limit.
_UNLIMITED = {"infinite", "unlimited"}


class DurationError(ValueError):
    """Not a time limit hpcrun accepts; the message says what was given and what works."""


def parse_duration(value: object) -> int:
    """A time limit as whole seconds (> 0). A bare number is minutes, as in Slurm."""
    if isinstance(value, bool) or value is None:
        raise DurationError(f"{value!r} is not a time limit; use {ACCEPTED_FORMS}")
    if isinstance(value, int):
        value = str(value)  # YAML's `max_duration: 90`: minutes, as in Slurm
    if not isinstance(value, str):
        raise DurationError(f"{value!r} is not a time limit; use {ACCEPTED_FORMS}")
    seconds = _parse(value)  # no strip: a line break or a space is refused, not ignored
    if seconds is None:
        raise DurationError(f"'{value}' is not a time limit; use {ACCEPTED_FORMS}")
    if seconds <= 0:
        raise DurationError(f"'{value}' is not a time limit greater than zero")
    return seconds


@lru_cache(maxsize=256)  # pure, and a job resolves the same few limits again and again
def _parse(text: str) -> int | None:
    if _UNITS_RE.fullmatch(text):
        return _parse_units(text)
    match = _DAYS_RE.fullmatch(text)
    if match:
        days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
        if hours > 23 or minutes > 59 or seconds > 59:
            return None
        return ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    match = _CLOCK_RE.fullmatch(text)
    if match:
        parts = [int(g) for g in match.groups() if g is not None]
        if any(part > 59 for part in parts[1:]):
            return None
        if len(parts) == 1:  # MM
            return parts[0] * 60
        if len(parts) == 2:  # MM:SS
            return parts[0] * 60 + parts[1]
        return (parts[0] * 60 + parts[1]) * 60 + parts[2]  # HH:MM:SS
    return None


def _parse_units(text: str) -> int | None:
    total, previous = 0, None
    order = list(_UNIT_SECONDS)
    for number, unit in _UNIT_PART_RE.findall(text):
        position = order.index(unit.lower())
        if previous is not None and position <= previous:
            return None  # "30m2h", "1h1h": ambiguous or a typo
        previous = position
        total += int(number) * _UNIT_SECONDS[unit.lower()]
    return total


def slurm_time(seconds: int) -> str:
    """Seconds -> ``HH:MM:SS`` or ``D-HH:MM:SS`` (what ``#SBATCH --time`` gets)."""
    if seconds <= 0:
        raise DurationError(f"{seconds} s is not a time limit greater than zero")
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}-{clock}" if days else clock


def normalise(value: object) -> str:
    """Any accepted form -> Slurm's ``--time`` text; ``DurationError`` if not accepted."""
    return slurm_time(parse_duration(value))


def parse_limit(text: str) -> int | None:
    """A partition's MaxTime as sinfo/scontrol print it (``infinite``, ``5:00``,
    ``1-00:00:00``) -> seconds; None when there is no limit (or it cannot be read)."""
    text = text.strip()
    if not text or text.lower() in _UNLIMITED or _UNITS_RE.fullmatch(text):
        return None  # sinfo never prints units; such text is not a limit
    seconds = _parse(text)
    return seconds if seconds else None
