"""The sweep tables of the store: points kept across spec changes, chunks recorded before
sbatch, polled states, retries; and a schema-3 database migrating to them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hpcrun import store as store_module
from hpcrun.store import ChunkRecord, Store, SweepRecord


def sweep(store: Store, retries: int = 1) -> None:
    store.save_sweep(SweepRecord(sweep="grid-abc123", workflow="grid", site="c",
                                 site_config="/c.yaml", project_root="/p",
                                 remote_dir="/r/sweeps/grid-abc123", retries=retries,
                                 parameters=("lr",)))  # fmt: skip


def test_points_chunks_states_and_retries(tmp_path: Path) -> None:
    with Store(tmp_path / "hpcrun.db") as store:
        sweep(store)
        assert store.sync_points("grid-abc123", [("a", "lr=1", {"lr": "1"}),
                                                 ("b", "lr=2", {"lr": "2"})]) == 2  # fmt: skip
        chunk = ChunkRecord("grid-abc123", "c1", "hpcrun-sweep.grid-abc123.c1", "submitting",
                            ("b", "a"), remote_dir="/r/sweeps/grid-abc123/chunks/c1")  # fmt: skip
        store.chunk_submitting(chunk)
        state = store.read_sweep("grid-abc123")
        assert {p.point: (p.chunk, p.task_index, p.attempt) for p in state.points} == {
            "a": ("c1", 1, 0), "b": ("c1", 0, 0)}  # fmt: skip
        store.chunk_submitted("grid-abc123", "c1", "77")
        store.update_points("grid-abc123", [
            {"point": "a", "array_job_id": "77", "state": "failed", "final": True,
             "exit_code": 2, "started_at": "2026-01-01T00:00:00Z",
             "finished_at": "2026-01-01T00:00:30Z"},
            {"point": "b", "array_job_id": "76", "state": "completed", "final": True},  # stale
        ])  # fmt: skip
        a, b = sorted(store.read_sweep("grid-abc123").points, key=lambda p: p.point)
        assert (a.state, a.final, a.job_id, a.attempt, a.run_seconds) == ("failed", True, "77_1",
                                                                          1, 30.0)  # fmt: skip
        assert not a.exhausted  # one retry allowed
        assert (b.state, b.job_id) == ("pending", "77_0")
        store.point_for_retry("grid-abc123", "a", automatic=True)
        a = store.read_sweep("grid-abc123").points[0]
        assert (a.state, a.final, a.retries_used, a.array_job_id, a.chunk) == (
            "pending", False, 1, None, None)  # fmt: skip
        # the spec drops point b: it is kept, out of the spec, after the others
        assert store.sync_points("grid-abc123", [("a", "lr=1", {"lr": "1"})]) == 0
        points = store.read_sweep("grid-abc123").points
        assert [(p.point, p.in_spec) for p in points] == [("a", True), ("b", False)]
        assert [s.sweep for s in store.find_sweeps(workflow="grid")] == ["grid-abc123"]


def test_deferred_chunks_do_not_count_as_attempts(tmp_path: Path) -> None:
    with Store(tmp_path / "hpcrun.db") as store:
        sweep(store)
        store.sync_points("grid-abc123", [("a", "lr=1", {"lr": "1"})])
        store.chunk_submitting(ChunkRecord("grid-abc123", "c1", "n1", "submitting", ("a",)))
        store.chunk_deferred("grid-abc123", "c1", "submit limit reached")
        (a,) = store.read_sweep("grid-abc123").points
        assert (a.attempt, a.state, a.reason) == (0, "pending", "deferred: submit limit reached")
        assert [c.state for c in store.chunks("grid-abc123")] == ["deferred"]


def test_site_facts_are_cached(tmp_path: Path) -> None:
    with Store(tmp_path / "hpcrun.db") as store:
        assert store.site_fact("c", "MaxArraySize") is None
        store.set_site_fact("c", "MaxArraySize", "8")
        assert store.site_fact("c", "MaxArraySize") == "8"


def test_a_schema_3_database_migrates_to_sweeps(tmp_path: Path) -> None:
    path = tmp_path / "hpcrun.db"
    db = sqlite3.connect(path)
    for script in store_module.MIGRATIONS[:3]:
        db.executescript(script)
    db.execute("PRAGMA user_version = 3")
    db.execute("INSERT INTO runs (run, workflow, site, site_config, state, created_at,"
               " updated_at) VALUES ('old-1', 'w', 'c', '/c.yaml', 'completed', 'x', 'x')")  # fmt: skip
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS)
        assert store.get("old-1") is not None
        sweep(store)
        assert store.get_sweep("grid-abc123") is not None
