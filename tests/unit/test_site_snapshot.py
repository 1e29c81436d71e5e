"""Runs stand on their own: the site config snapshot, its schema migration, and how a
session finds a run's site from it (no YAML needed)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hpcrun import store as store_module
from hpcrun.errors import UsageError
from hpcrun.ops.session import Session, transport_key
from hpcrun.site.models import Site
from hpcrun.site.snapshot import site_from_snapshot, site_snapshot
from hpcrun.store import RunRecord, Store
from tests.conftest import write

CLUSTER = {
    "name": "mycluster",
    "scheduler": "slurm",
    "login": {
        "host": "login.example.org",
        "port": 2222,
        "user": "alice",
        "identity_file": "~/.ssh/id_ed25519",  # kept as written: expands when used
        "known_hosts": "~/.ssh/known_hosts",
    },
    "modules": {"python": {"3.10": "python/3.10.12"}, "always": ["gcc"]},
    "partitions": {"default": "gpu"},
    "gpus": {"A100": {"gres": "a100", "memory": "80GB", "partition": "gpu-a100"}},
    "defaults": {"time": "2h", "mem": "4GB", "python": "3.11"},
    "sbatch": ["--mail-type=END"],
    "templates": "templates",
    "env_build": "login",
}
CLUSTER_YAML = """name: mycluster
scheduler: slurm
login: {host: login.example.org, port: 2222, user: alice}
"""


def test_snapshot_round_trips_every_field() -> None:
    site = Site.model_validate(CLUSTER)
    text = site_snapshot(site)
    assert site_from_snapshot(text) == site
    assert site_from_snapshot(text).login.identity_file == "~/.ssh/id_ed25519"
    # canonical: the same config gives the same text (tracking groups by content)
    assert site_snapshot(Site.model_validate(dict(reversed(CLUSTER.items())))) == text


def test_a_damaged_snapshot_is_a_clear_error() -> None:
    with pytest.raises(UsageError, match="recorded site config does not validate"):
        site_from_snapshot('{"name": "x", "scheduler": "pbs"}')
    with pytest.raises(UsageError, match="recorded site config does not validate"):
        site_from_snapshot("{not json")


def _old_database(path: Path) -> None:
    """A database as the previous hpcrun left it: the MIGRATIONS prefix before snapshots."""
    previous = store_module.MIGRATIONS[:2]
    db = sqlite3.connect(path)
    for script in previous:
        db.executescript(script)
    db.execute(f"PRAGMA user_version = {len(previous)}")
    db.execute(
        "INSERT INTO runs (run, workflow, site, site_config, state, job_id, created_at,"
        " updated_at, artifacts) VALUES ('old-1', 'train', 'c', '/gone/c.yaml', 'pending',"
        " '42', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '[\"model\"]')"
    )
    db.commit()
    db.close()


def test_migration_from_the_previous_schema_keeps_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "hpcrun.db"
    _old_database(path)
    with Store(path) as store:
        assert store.schema_version == len(store_module.MIGRATIONS)
        old = store.get("old-1")
        assert (old.job_id, old.artifacts, old.site_snapshot) == ("42", ("model",), None)
        snapshot = site_snapshot(Site.model_validate(CLUSTER))
        store.create_run(RunRecord(run="new-1", workflow="w", site="mycluster",
                                   site_config="/x.yaml", site_snapshot=snapshot))  # fmt: skip
        assert store.get("new-1").site_snapshot == snapshot
        moved = store.repoint_site("old-1", "c2", "/new/c2.yaml", snapshot)
        assert (moved.site, moved.site_config, moved.site_snapshot) == (
            "c2",
            "/new/c2.yaml",
            snapshot,
        )
        assert "site_snapshot" not in moved.to_json()  # internal: not part of ps --json


def _record(run: str, site_config: str, snapshot: str | None) -> RunRecord:
    return RunRecord(
        run=run, workflow="w", site="mycluster", site_config=site_config, site_snapshot=snapshot
    )


def test_session_takes_the_site_from_the_snapshot_not_the_yaml(tmp_path: Path) -> None:
    yaml_path = write(tmp_path / "c.yaml", CLUSTER_YAML.replace("login.example", "other"))
    site = Site.model_validate(CLUSTER)
    with Session() as session:
        found = session.site_of(_record("a-1", str(yaml_path), site_snapshot(site)))
    assert found == site  # the YAML was edited since: the recorded config wins


def test_session_falls_back_to_the_yaml_for_runs_without_a_snapshot(tmp_path: Path) -> None:
    yaml_path = write(tmp_path / "c.yaml", CLUSTER_YAML)
    with Session() as session:
        assert session.site_of(_record("a-1", str(yaml_path), None)).login.port == 2222
        # a snapshot this hpcrun cannot read also falls back to the YAML
        assert session.site_of(_record("a-2", str(yaml_path), '{"x": 1}')).name == "mycluster"


def test_no_snapshot_and_no_yaml_says_to_pass_site(tmp_path: Path) -> None:
    with Session() as session, pytest.raises(UsageError) as caught:
        session.site_of(_record("a-1", str(tmp_path / "gone.yaml"), None))
    assert "recorded without a copy of its site config" in caught.value.message
    assert "gone.yaml" in caught.value.message
    assert "--site" in (caught.value.hint or "")
    assert "hpcrun logs a-1 --site SITE" in (caught.value.hint or "")


def test_logins_decide_connection_sharing() -> None:
    site = Site.model_validate(CLUSTER)
    edited = site.model_copy(update={"defaults": site.defaults.model_copy(update={"time": "1h"})})
    moved_host = Site.model_validate({**CLUSTER, "login": {**CLUSTER["login"], "host": "x"}})
    assert transport_key(edited) == transport_key(site)
    assert transport_key(moved_host) != transport_key(site)
