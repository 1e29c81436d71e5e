"""Run history: schema 5 migration from a real schema-4 database, the state history kept
by the store, the recorded overrides/variables/code hash, and the pure `ps` filters."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from hpcrun import store as store_module
from hpcrun.cli.ps_filter import RunFilter, fit_rows, parse_since
from hpcrun.errors import UsageError
from hpcrun.ops.history import (
    code_hash,
    git_state,
    merge_overrides,
    overrides_from_json,
    overrides_json,
)
from hpcrun.spec.overrides import Overrides
from hpcrun.store import RunRecord, Store


def test_a_schema_4_database_migrates_to_run_history(tmp_path: Path) -> None:
    path = tmp_path / "hpcrun.db"
    db = sqlite3.connect(path)
    for script in store_module.MIGRATIONS[:4]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 4")
    db.execute("INSERT INTO runs (run, workflow, site, site_config, state, created_at,"
               " updated_at) VALUES ('old-1', 'w', 'c', '/c.yaml', 'running', 'x', 'x')")  # fmt: skip
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS) >= 5
        old = store.get("old-1")
        assert old is not None and (old.overrides, old.code_hash, old.git_dirty) == (None,) * 3
        assert old.to_json()["overrides"] is None and store.state_history("old-1") == []
        store.update_state("old-1", "completed", exit_code=0, final=True)
        assert [e["state"] for e in store.state_history("old-1")] == ["completed"]


def test_state_history_records_changes_only(tmp_path: Path) -> None:
    with Store(tmp_path / "hpcrun.db") as store:
        store.create_run(RunRecord(run="r-1", workflow="w", site="c", site_config="/c.yaml",
                                   overrides='{"cpu": 2}', git_dirty=True))  # fmt: skip
        store.set_submitted("r-1", "42")
        store.update_state("r-1", "pending", reason="Priority")
        store.update_state("r-1", "pending", reason="Priority")  # a poller repeating itself
        store.update_state("r-1", "running")
        store.update_state("r-1", "running")
        store.update_state("r-1", "failed", exit_code=3, reason="exit code 3", final=True)
        store.update_state("r-1", "running")  # stale: ignored by a final run, not history
        history = store.state_history("r-1")
        assert [(e["state"], e["reason"]) for e in history] == [
            ("submitting", None), ("pending", None), ("pending", "Priority"),
            ("running", None), ("failed", "exit code 3"),
        ]  # fmt: skip
        record = store.get("r-1")
        assert record is not None and record.git_dirty is True
        assert record.to_json()["overrides"] == {"cpu": 2}


def test_overrides_round_trip_and_merge() -> None:
    given = Overrides(args=("a", "b c"), env=("X=1",), cpu=2, sbatch=("--exclusive",))
    text = overrides_json(given)
    assert "null" not in text  # only what was given
    assert overrides_from_json(text) == given
    merged = merge_overrides(given, Overrides(env=("X=2",), memory="1GB"))
    assert merged == Overrides(args=("a", "b c"), env=("X=2",), cpu=2, memory="1GB",
                               sbatch=("--exclusive",))  # fmt: skip
    assert overrides_from_json(None) == Overrides()


def test_code_hash_follows_contents_not_only_size(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "b.py").write_text("y = 2\n")
    first = code_hash(tmp_path, ["a.py", "b.py"])
    assert code_hash(tmp_path, ["b.py", "a.py"]) == first
    (tmp_path / "a.py").write_text("x = 9\n")  # same size, other contents
    assert code_hash(tmp_path, ["a.py", "b.py"]) != first


def test_no_git_work_tree_records_nothing(tmp_path: Path) -> None:
    assert git_state(tmp_path) == (None, None)


class _Run:
    def __init__(self, run: str, workflow: str, state: str, created_at: str) -> None:
        self.record = RunRecord(run=run, workflow=workflow, site="c", site_config="/c",
                                state=state, created_at=created_at)  # fmt: skip


def test_run_filter() -> None:
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)
    a = _Run("a-1", "train", "running", "2026-01-01T23:00:00Z").record
    b = _Run("b-1", "eval", "failed", "2025-12-30T00:00:00Z").record
    c = _Run("c-1", "train", "submitting", "2026-01-01T23:30:00Z").record
    runs = [a, b, c]

    def names(f: RunFilter) -> list[str]:
        return [r.run for r in runs if f.matches(r)]

    assert names(RunFilter()) == ["a-1", "b-1", "c-1"]
    assert names(RunFilter(states=frozenset({"pending"}))) == ["c-1"]  # submitting is pending
    assert names(RunFilter(workflows=frozenset({"train"}))) == ["a-1", "c-1"]
    assert names(RunFilter(since=now - parse_since("2h"))) == ["a-1", "c-1"]
    assert names(RunFilter(since=now - parse_since("3d"))) == ["a-1", "b-1", "c-1"]
    tagged = RunFilter(tags=frozenset({"best"}), tags_by_run={"b-1": ["best"]})
    assert names(tagged) == ["b-1"]
    assert parse_since("90m") == timedelta(minutes=90)
    with pytest.raises(UsageError, match="--since"):
        parse_since("yesterday")


def test_fit_rows_shortens_only_the_reason_column() -> None:
    rows = [("RUN", "STATE", "AT"), ("r-1", "pending (" + "x" * 200 + ")", "now")]
    fitted = fit_rows(rows, 1, 60)
    assert all(len("  ".join(row)) <= 60 for row in fitted)
    assert fitted[1][1].endswith("…") and fitted[1][0] == "r-1" and fitted[1][2] == "now"
    assert fit_rows(rows, 1, 1000) == rows
