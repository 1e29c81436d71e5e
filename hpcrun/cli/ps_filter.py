"""``ps`` filters and row fitting: pure functions (tested in tests/unit/test_ps_filter.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from hpcrun.errors import UsageError

_STAMP = "%Y-%m-%dT%H:%M:%SZ"


def parse_since(text: str) -> timedelta:
    """``--since 2h`` / ``3d`` / ``90m``: an age (hpcrun.durations' forms)."""
    from hpcrun.durations import DurationError, parse_duration

    try:
        return timedelta(seconds=parse_duration(text))
    except DurationError as exc:
        raise UsageError(f"--since: {exc}", "e.g. --since 2h, --since 3d") from None


@dataclass(frozen=True)
class RunFilter:
    states: frozenset[str] = frozenset()
    workflows: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    since: datetime | None = None  # created at or after
    tags_by_run: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def matches(self, record: Any) -> bool:
        shown_state = record.to_json()["state"]  # 'submitting' filters as 'pending'
        if self.states and shown_state not in self.states:
            return False
        if self.workflows and record.workflow not in self.workflows:
            return False
        if self.tags and not self.tags & set(self.tags_by_run.get(record.run, ())):
            return False
        if self.since is not None:
            created = datetime.strptime(record.created_at, _STAMP).replace(tzinfo=timezone.utc)
            if created < self.since:
                return False
        return True


def fit_rows(rows: list[tuple[str, ...]], column: int, width: int) -> list[tuple[str, ...]]:
    """Shorten cells of ``column`` (ending them with '…') so every row fits in ``width``
    characters, columns separated by two spaces; never below 12 characters for it."""
    others = sum(max(len(row[i]) for row in rows) for i in range(len(rows[0])) if i != column)
    room = max(12, width - others - 2 * (len(rows[0]) - 1))
    return [
        tuple(
            cell[: room - 1] + "…" if i == column and len(cell) > room else cell
            for i, cell in enumerate(row)
        )
        for row in rows
    ]
