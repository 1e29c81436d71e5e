"""The SQLite store: schema, runs, states, tags, names, several connections at once."""

from __future__ import annotations

import re
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcrun import store as store_module
from hpcrun.errors import UsageError
from hpcrun.store import RunRecord, Store, StoreError, default_store, utc_now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "home" / "hpcrun.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store(db_path) as opened:
        yield opened


def record(run: str = "train-a1b2", **changes: object) -> RunRecord:
    values: dict[str, object] = {
        "run": run,
        "workflow": "train",
        "site": "testcluster",
        "site_config": "/etc/sites/testcluster.yaml",
    }
    values.update(changes)
    return RunRecord(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- opening


def test_creates_private_folder_wal_and_schema(db_path: Path) -> None:
    with Store(db_path) as opened:
        assert opened.schema_version == len(store_module.MIGRATIONS)
        opened.create_run(record())
        # WAL mode keeps a -wal file next to the database while it is open.
        assert db_path.with_name("hpcrun.db-wal").exists()
    assert stat.S_IMODE(db_path.parent.stat().st_mode) == 0o700


def test_reopening_keeps_data_and_does_not_migrate_twice(db_path: Path) -> None:
    with Store(db_path) as first:
        first.create_run(record())
    with Store(db_path) as second:
        assert second.get("train-a1b2") is not None
        assert second.schema_version == len(store_module.MIGRATIONS)


def test_newer_schema_is_refused(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        newer = (*store_module.MIGRATIONS, "CREATE TABLE from_the_future (x)")
        patch.setattr(store_module, "MIGRATIONS", newer)
        Store(db_path).close()
    with pytest.raises(StoreError, match="newer"):
        Store(db_path)


def test_migrations_apply_in_order(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(db_path).close()
    later = (*store_module.MIGRATIONS, "ALTER TABLE runs ADD COLUMN note TEXT")
    monkeypatch.setattr(store_module, "MIGRATIONS", later)
    with Store(db_path) as upgraded:
        assert upgraded.schema_version == len(later)
        upgraded.create_run(record())  # the new column does not disturb RunRecord
        assert upgraded.get("train-a1b2") is not None


def test_default_store_lives_in_hpcrun_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HPCRUN_HOME", str(tmp_path / "state"))
    with default_store() as opened:
        assert opened.path == tmp_path / "state" / "hpcrun.db"
    assert (tmp_path / "state" / "hpcrun.db").exists()


def test_utc_now_format() -> None:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", utc_now())


# ---------------------------------------------------------------- runs


def test_create_and_get_round_trip(store: Store) -> None:
    created = store.create_run(
        record(depends_on=("prep-0000", "data-1111"), request_key="k1", remote_dir="~/hpcrun/x")
    )
    assert created == store.get("train-a1b2")
    assert created.state == "submitting"
    assert created.depends_on == ("prep-0000", "data-1111")
    assert created.final is False
    assert store.get("nope") is None


def test_to_json_has_the_ps_contract_keys(store: Store) -> None:
    data = store.create_run(record(depends_on=("a",))).to_json()
    contract = {"run", "workflow", "site", "job_id", "state", "exit_code", "submitted_at"}
    assert contract | {"finished_at", "artifacts_dir"} <= set(data)
    assert data["depends_on"] == ["a"]
    assert data["final"] is False


def test_duplicate_run_name_is_a_store_error(store: Store) -> None:
    store.create_run(record())
    with pytest.raises(StoreError, match="already exists"):
        store.create_run(record(workflow="other"))


def test_duplicate_request_key_is_a_store_error(store: Store) -> None:
    store.create_run(record(request_key="abc"))
    with pytest.raises(StoreError, match="request key 'abc'") as info:
        store.create_run(record("train-zzzz", request_key="abc"))
    assert "train-a1b2" in info.value.message
    assert store.get("train-zzzz") is None
    assert store.find_by_request_key("abc") == store.get("train-a1b2")
    assert store.find_by_request_key("other") is None


def test_null_request_keys_do_not_collide(store: Store) -> None:
    store.create_run(record("a-0000"))
    store.create_run(record("b-0000"))
    assert len(store.list_runs()) == 2


def test_unknown_state_is_refused(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown run state"):
        store.create_run(record(state="finished"))
    store.create_run(record())
    with pytest.raises(StoreError):
        store.update_state("train-a1b2", "done")


def test_set_submitted_moves_submitting_to_pending(store: Store) -> None:
    store.create_run(record())
    updated = store.set_submitted("train-a1b2", "1234", "2026-01-01T00:00:00Z")
    assert (updated.state, updated.job_id, updated.submitted_at) == (
        "pending",
        "1234",
        "2026-01-01T00:00:00Z",
    )


def test_set_submitted_does_not_move_a_state_back(store: Store) -> None:
    store.create_run(record())
    store.update_state("train-a1b2", "running")
    updated = store.set_submitted("train-a1b2", "1234")
    assert updated.state == "running"
    assert updated.job_id == "1234"
    assert updated.submitted_at is not None


def test_final_state_is_not_overwritten_by_a_non_final_update(store: Store) -> None:
    store.create_run(record())
    store.set_submitted("train-a1b2", "77")
    done = store.update_state(
        "train-a1b2", "failed", exit_code=3, finished_at="2026-01-01T00:00:09Z", final=True
    )
    assert (done.state, done.exit_code, done.final) == ("failed", 3, True)
    for late in ("running", "pending", "unknown"):
        after = store.update_state("train-a1b2", late, reason="stale poller")
        assert (after.state, after.exit_code, after.final) == ("failed", 3, True)
        assert after.finished_at == "2026-01-01T00:00:09Z"
        assert after.state_reason is None


def test_final_update_may_correct_a_final_one(store: Store) -> None:
    store.create_run(record())
    store.update_state("train-a1b2", "cancelled", final=True)
    corrected = store.update_state("train-a1b2", "completed", exit_code=0, final=True)
    assert (corrected.state, corrected.exit_code) == ("completed", 0)


def test_update_state_keeps_exit_code_and_stamps_finish(store: Store) -> None:
    store.create_run(record())
    running = store.update_state("train-a1b2", "running", reason=None)
    assert running.finished_at is None
    pending = store.update_state("train-a1b2", "pending", reason="Priority")
    assert pending.state_reason == "Priority"
    done = store.update_state("train-a1b2", "completed", exit_code=0, final=True)
    assert done.finished_at is not None
    assert done.state_reason is None
    assert done.updated_at >= done.created_at


def test_updates_on_a_missing_run_raise(store: Store) -> None:
    with pytest.raises(StoreError, match="no run named"):
        store.update_state("ghost", "running")
    with pytest.raises(StoreError, match="no run named"):
        store.set_submitted("ghost", "1")
    with pytest.raises(StoreError, match="no run named"):
        store.set_artifacts_dir("ghost", "/tmp")


def test_set_artifacts_dir(store: Store, tmp_path: Path) -> None:
    store.create_run(record())
    assert store.set_artifacts_dir("train-a1b2", tmp_path).artifacts_dir == str(tmp_path)


def test_list_runs_newest_first_with_limit(store: Store) -> None:
    same_second = "2026-01-01T00:00:00Z"
    for name in ("a-0000", "b-0000", "c-0000"):
        store.create_run(record(name, created_at=same_second))
    store.create_run(record("old-0000", created_at="2025-01-01T00:00:00Z"))
    store.update_state("b-0000", "completed", final=True)
    assert [r.run for r in store.list_runs()] == ["c-0000", "b-0000", "a-0000", "old-0000"]
    assert [r.run for r in store.list_runs(limit=2)] == ["c-0000", "b-0000"]
    assert [r.run for r in store.list_runs(include_finished=False)] == [
        "c-0000",
        "a-0000",
        "old-0000",
    ]


def test_unfinished_needs_a_job_id_or_submitting(store: Store) -> None:
    store.create_run(record("submitting-0000"))
    store.create_run(record("queued-0000", state="pending"))  # no job id: nothing to ask
    store.create_run(record("live-0000"))
    store.set_submitted("live-0000", "11")
    store.create_run(record("done-0000"))
    store.set_submitted("done-0000", "12")
    store.update_state("done-0000", "completed", final=True)
    store.create_run(record("elsewhere-0000", site="local"))
    store.set_submitted("elsewhere-0000", "13")
    assert {r.run for r in store.unfinished()} == {
        "submitting-0000",
        "live-0000",
        "elsewhere-0000",
    }
    assert {r.run for r in store.unfinished("local")} == {"elsewhere-0000"}


def test_latest_completed(store: Store) -> None:
    assert store.latest_completed("train", "testcluster") is None
    for name, finished in (("a-0000", "2026-01-02T00:00:00Z"), ("b-0000", "2026-01-01T00:00:00Z")):
        store.create_run(record(name))
        store.update_state(name, "completed", exit_code=0, finished_at=finished, final=True)
    store.create_run(record("c-0000"))
    store.update_state("c-0000", "failed", exit_code=1, final=True)
    store.create_run(record("d-0000", site="local"))
    store.update_state("d-0000", "completed", final=True)
    latest = store.latest_completed("train", "testcluster")
    assert latest is not None and latest.run == "a-0000"


# ---------------------------------------------------------------- names and tags


@pytest.mark.parametrize(
    ("workflow", "stem"),
    [
        ("train", "train"),
        ("My_Train.v2", "my-train-v2"),
        ("--weird--", "weird"),
        ("ünïcode", "n-code"),
        ("", "run"),
        ("a" * 40, "a" * 24),
        ("abcdefghijklmnopqrstuvw-xyz", "abcdefghijklmnopqrstuvw"),
    ],
)
def test_unique_run_name_shape(store: Store, workflow: str, stem: str) -> None:
    name = store.unique_run_name(workflow)
    assert re.fullmatch(rf"{re.escape(stem)}-[0-9a-z]{{4}}", name), name


def test_unique_run_name_retries_until_unused(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create_run(record("train-aaaa"))
    store.create_run(record("other-0000"))
    store.tag("other-0000", "train-bbbb")
    letters = iter("aaaa" + "bbbb" + "cccc")
    monkeypatch.setattr(store_module.secrets, "choice", lambda _alphabet: next(letters))
    assert store.unique_run_name("train") == "train-cccc"


def test_tags_point_to_one_run_and_move(store: Store) -> None:
    store.create_run(record("a-0000"))
    store.create_run(record("b-0000", workflow="eval"))
    store.tag("a-0000", "best")
    store.tag("a-0000", "v1")
    assert store.tags_of("a-0000") == ["best", "v1"]
    resolved = store.resolve_tag("best")
    assert resolved is not None and resolved.run == "a-0000"
    store.tag("b-0000", "best")
    assert store.tags_of("a-0000") == ["v1"]
    assert store.tags_of("b-0000") == ["best"]
    assert store.resolve_tag("best", workflow="train") is None
    moved = store.resolve_tag("best", workflow="eval")
    assert moved is not None and moved.run == "b-0000"
    assert store.resolve_tag("missing") is None


def test_tagging_a_missing_run_or_empty_name_fails(store: Store) -> None:
    with pytest.raises(StoreError, match="no run named"):
        store.tag("ghost", "best")
    store.create_run(record())
    with pytest.raises(UsageError, match="tag ' ' is not allowed: a tag is 1 to 64"):
        store.tag("train-a1b2", " ")


# ---------------------------------------------------------------- concurrency


def test_several_connections_write_at_once(db_path: Path) -> None:
    Store(db_path).close()
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            with Store(db_path) as own:
                for step in range(20):
                    name = f"w{index}-{step:04d}"
                    own.create_run(record(name))
                    own.set_submitted(name, str(index * 100 + step))
                    own.update_state(name, "completed", exit_code=0, final=True)
        except BaseException as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store(db_path) as check:
        runs = check.list_runs()
        assert len(runs) == 120
        assert all(run.final and run.state == "completed" for run in runs)


def test_many_stores_open_a_fresh_database_at_once(tmp_path: Path) -> None:
    path = tmp_path / "fresh" / "hpcrun.db"
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            Store(path).close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store(path) as opened:
        assert opened.schema_version == len(store_module.MIGRATIONS)


def test_artifacts_and_working_dir_round_trip(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        store.create_run(
            RunRecord(
                run="a-1", workflow="a", site="s", site_config="/s.yaml", remote_dir="/r/a-1",
                project_root="/p", working_dir="src", artifacts=("model", "logs/x"),
            )
        )  # fmt: skip
        record = store.get("a-1")
        assert (record.working_dir, record.artifacts) == ("src", ("model", "logs/x"))
        assert record.to_json()["artifacts"] == ["model", "logs/x"]


def test_latest_upload_is_the_newest_submitted_run_of_the_project(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        for name, project, submitted in (
            ("a-1", "/p", True),
            ("a-2", "/p", False),
            ("b-1", "/q", True),
        ):
            store.create_run(
                RunRecord(run=name, workflow="a", site="s", site_config="/s.yaml",
                          remote_dir=f"/r/{name}", project_root=project)
            )  # fmt: skip
            if submitted:
                store.set_submitted(name, "1")
        assert store.latest_upload("/p", "s").run == "a-1"  # a-2 never got a job
        assert store.latest_upload("/p", "other") is None


def test_submitting_is_reported_as_pending_in_json(tmp_path: Path) -> None:
    with Store(tmp_path / "db.sqlite") as store:
        record = store.create_run(RunRecord(run="s-1", workflow="s", site="x", site_config="/x"))
        assert record.state == "submitting"
        data = record.to_json()
        assert (data["state"], data["state_reason"]) == ("pending", "being submitted")
