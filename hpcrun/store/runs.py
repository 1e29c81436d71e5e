"""Runs and tags: ``RunRecord`` and the store's methods for them (``RunsMixin``)."""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hpcrun.store.base import faults_explained as _faults_explained
from hpcrun.store.base import utc_now
from hpcrun.store_faults import StoreError

# The DESIGN.md contract states, plus the internal state before sbatch has answered.
CONTRACT_STATES = (
    "pending",
    "running",
    "completed",
    "failed",
    "cancelled",
    "timeout",
    "out_of_memory",
    "preempted",
    "node_fail",
    "unknown",
)
SUBMITTING = "submitting"
STATES = frozenset((*CONTRACT_STATES, SUBMITTING))

_NAME_MAX = 24
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class RunRecord:
    run: str
    workflow: str
    site: str
    site_config: str
    state: str = SUBMITTING
    job_id: str | None = None
    exit_code: int | None = None
    submitted_at: str | None = None
    finished_at: str | None = None
    artifacts_dir: str | None = None
    remote_dir: str | None = None
    workflows_file: str | None = None
    project_root: str | None = None
    request_key: str | None = None
    depends_on: tuple[str, ...] = ()
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)
    state_reason: str | None = None
    final: bool = False
    working_dir: str | None = None  # the workflow's working_dir, relative to code/
    artifacts: tuple[str, ...] = ()  # its artifact paths, relative to the working_dir
    # the site config it was submitted with (JSON); None for runs recorded before schema 3
    site_snapshot: str | None = None
    # what `hpcrun rerun` needs (schema 5; None for older runs): the command-line overrides
    # and --var values as JSON objects, the requirements env key, the code's content hash,
    # and the project's git commit and dirty flag (None: not a git work tree)
    target: str | None = None  # what submit was given: {"path": ..., "workflow": ...}
    overrides: str | None = None
    variables: str | None = None
    env_key: str | None = None
    code_hash: str | None = None
    git_commit: str | None = None
    git_dirty: bool | None = None
    # schema 6: what the finished run used (JSON object, see ``efficiency_figures``), the
    # scheduler's restart count (requeues after preemption or a self-requeue), and when its
    # artifacts were fetched (None: not fetched yet)
    efficiency: str | None = None
    restarts: int = 0
    artifacts_fetched_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``ps --json`` object: every field (a superset of the DESIGN.md keys)."""
        data = asdict(self)
        data["depends_on"] = list(self.depends_on)
        data["artifacts"] = list(self.artifacts)
        del data["site_snapshot"]  # internal, and long: `site`/`site_config` name it
        data["target"] = json.loads(self.target) if self.target else None
        data["overrides"] = json.loads(self.overrides) if self.overrides else None
        data["variables"] = json.loads(self.variables) if self.variables else None
        data["efficiency"] = json.loads(self.efficiency) if self.efficiency else None
        if self.state == SUBMITTING:  # internal; the ps --json contract knows it as pending
            data["state"] = "pending"
            data["state_reason"] = self.state_reason or "being submitted"
        return data


_COLUMNS = tuple(RunRecord.__dataclass_fields__)


def _record(row: sqlite3.Row) -> RunRecord:
    values = {name: row[name] for name in _COLUMNS}
    values["depends_on"] = tuple(json.loads(values["depends_on"] or "[]"))
    values["artifacts"] = tuple(json.loads(values["artifacts"] or "[]"))
    values["final"] = bool(values["final"])
    if values["git_dirty"] is not None:
        values["git_dirty"] = bool(values["git_dirty"])
    return RunRecord(**values)


def _check_state(state: str) -> None:
    if state not in STATES:
        raise StoreError(f"unknown run state '{state}'", f"use one of: {', '.join(sorted(STATES))}")


def sanitize_workflow_name(workflow: str) -> str:
    """``My_Train.v2`` -> ``my-train-v2``: lowercase [a-z0-9-], at most 24 characters."""
    name = re.sub(r"[^a-z0-9]+", "-", workflow.lower()).strip("-")
    return name[:_NAME_MAX].rstrip("-") or "run"


def _note_state(db: sqlite3.Connection, run: str, state: str, reason: str | None) -> None:
    db.execute(
        "INSERT INTO run_states (run, at, state, reason) VALUES (?, ?, ?, ?)",
        (run, utc_now(), state, reason),
    )


def _note_change(db: sqlite3.Connection, run: str, row: sqlite3.Row | None) -> None:
    """Append the run's current state to its history when it differs from the last entry
    (pollers repeat the same state every few seconds: only changes are history)."""
    if row is None:
        return
    last = db.execute(
        "SELECT state, reason FROM run_states WHERE run = ? ORDER BY rowid DESC LIMIT 1", (run,)
    ).fetchone()
    if last is None or (last["state"], last["reason"]) != (row["state"], row["state_reason"]):
        _note_state(db, run, row["state"], row["state_reason"])


class RunsMixin:
    """The store's run and tag methods (mixed into ``hpcrun.store.Store``)."""

    _db: sqlite3.Connection
    _write: Any

    def _one(self, sql: str, params: Sequence[Any] = ()) -> RunRecord | None:
        row = self._db.execute(sql, params).fetchone()
        return _record(row) if row is not None else None

    def _many(self, sql: str, params: Sequence[Any] = ()) -> list[RunRecord]:
        return [_record(row) for row in self._db.execute(sql, params).fetchall()]

    def _require(self, run: str) -> RunRecord:
        record = self.get(run)
        if record is None:
            raise StoreError(f"no run named '{run}'", "see `hpcrun ps -a` for the known runs")
        return record

    # ---------------------------------------------------------------- runs

    @_faults_explained
    def create_run(self, record: RunRecord) -> RunRecord:
        """Insert a new run; a StoreError if its name or request key is already used."""
        _check_state(record.state)
        values = asdict(record)  # not to_json(): that one speaks the ps --json contract
        values["depends_on"] = json.dumps(list(record.depends_on))
        values["artifacts"] = json.dumps(list(record.artifacts))
        values["final"] = int(record.final)
        values["git_dirty"] = None if record.git_dirty is None else int(record.git_dirty)
        columns = ", ".join(_COLUMNS)
        marks = ", ".join(f":{name}" for name in _COLUMNS)
        with self._write() as db:
            if db.execute("SELECT 1 FROM runs WHERE run = ?", (record.run,)).fetchone():
                raise StoreError(
                    f"a run named '{record.run}' already exists", "pick another run name"
                )
            if record.request_key is not None:
                taken = db.execute(
                    "SELECT run FROM runs WHERE request_key = ?", (record.request_key,)
                ).fetchone()
                if taken:
                    raise StoreError(
                        f"request key '{record.request_key}' was already used by run "
                        f"'{taken['run']}'",
                        "this submission was already made; see `hpcrun ps -a`",
                    )
            db.execute(f"INSERT INTO runs ({columns}) VALUES ({marks})", values)
            _note_state(db, record.run, record.state, record.state_reason)
        return self._require(record.run)

    @_faults_explained
    def get(self, run: str) -> RunRecord | None:
        return self._one("SELECT * FROM runs WHERE run = ?", (run,))

    @_faults_explained
    def find_by_request_key(self, key: str) -> RunRecord | None:
        return self._one("SELECT * FROM runs WHERE request_key = ?", (key,))

    @_faults_explained
    def set_submitted(self, run: str, job_id: str, submitted_at: str | None = None) -> RunRecord:
        """Record sbatch's job id; 'submitting' becomes 'pending' (a poller may be ahead)."""
        with self._write() as db:
            db.execute(
                "UPDATE runs SET job_id = ?, submitted_at = ?, updated_at = ?,"
                " state = CASE WHEN state = ? THEN 'pending' ELSE state END"
                " WHERE run = ?",
                (job_id, submitted_at or utc_now(), utc_now(), SUBMITTING, run),
            )
            row = db.execute("SELECT state, state_reason FROM runs WHERE run = ?", (run,))
            _note_change(db, run, row.fetchone())
        return self._require(run)

    @_faults_explained
    def update_state(
        self,
        run: str,
        state: str,
        *,
        exit_code: int | None = None,
        finished_at: str | None = None,
        reason: str | None = None,
        final: bool = False,
    ) -> RunRecord:
        """Set the state. A final run ignores later non-final updates (stale pollers,
        a requeue glimpsed after the end); a final update may correct a final one.

        ``exit_code`` and ``finished_at`` keep their old value when not given; a final
        update without ``finished_at`` stamps now. ``reason`` replaces the old reason.
        """
        _check_state(state)
        now = utc_now()
        if final and finished_at is None:
            finished_at = now
        with self._write() as db:
            db.execute(
                "UPDATE runs SET state = ?, exit_code = COALESCE(?, exit_code),"
                " finished_at = COALESCE(?, finished_at), state_reason = ?,"
                " final = ?, updated_at = ?"
                " WHERE run = ? AND (final = 0 OR ? = 1)",
                (state, exit_code, finished_at, reason, int(final), now, run, int(final)),
            )
            row = db.execute("SELECT state, state_reason FROM runs WHERE run = ?", (run,))
            _note_change(db, run, row.fetchone())
        return self._require(run)

    @_faults_explained
    def state_history(self, run: str) -> list[dict[str, str | None]]:
        """The run's state changes, oldest first: ``{"at", "state", "reason"}``."""
        rows = self._db.execute(
            "SELECT at, state, reason FROM run_states WHERE run = ? ORDER BY rowid", (run,)
        ).fetchall()
        return [{"at": r["at"], "state": r["state"], "reason": r["reason"]} for r in rows]

    @_faults_explained
    def set_efficiency(self, run: str, figures: dict[str, Any]) -> RunRecord:
        """Record what the finished run used (``hpcrun.efficiency.figures``)."""
        with self._write() as db:
            db.execute(
                "UPDATE runs SET efficiency = ?, updated_at = ? WHERE run = ?",
                (json.dumps(figures, sort_keys=True), utc_now(), run),
            )
        return self._require(run)

    @_faults_explained
    def set_restarts(self, run: str, restarts: int) -> RunRecord:
        """The scheduler's restart count of the run's job (requeues); never goes down."""
        with self._write() as db:
            db.execute(
                "UPDATE runs SET restarts = MAX(restarts, ?), updated_at = ? WHERE run = ?",
                (restarts, utc_now(), run),
            )
        return self._require(run)

    @_faults_explained
    def set_artifacts_dir(self, run: str, path: str | Path) -> RunRecord:
        with self._write() as db:
            db.execute(
                "UPDATE runs SET artifacts_dir = ?, updated_at = ? WHERE run = ?",
                (str(path), utc_now(), run),
            )
        return self._require(run)

    @_faults_explained
    def set_artifacts_fetched(self, run: str, path: str | Path) -> RunRecord:
        """Record that the run's artifacts were fetched into ``path``, now."""
        now = utc_now()
        with self._write() as db:
            db.execute(
                "UPDATE runs SET artifacts_dir = ?, artifacts_fetched_at = ?, updated_at = ?"
                " WHERE run = ?",
                (str(path), now, now, run),
            )
        return self._require(run)

    @_faults_explained
    def delete_run(self, run: str) -> None:
        """Forget a run (``hpcrun rm``/``prune``); its tags and state history cascade."""
        with self._write() as db:
            db.execute("DELETE FROM tags WHERE run = ?", (run,))
            db.execute("DELETE FROM runs WHERE run = ?", (run,))

    @_faults_explained
    def repoint_site(self, run: str, site: str, site_config: str, site_snapshot: str) -> RunRecord:
        """Point a run at another site config (its login changed): later commands use it."""
        with self._write() as db:
            db.execute(
                "UPDATE runs SET site = ?, site_config = ?, site_snapshot = ?, updated_at = ?"
                " WHERE run = ?",
                (site, site_config, site_snapshot, utc_now(), run),
            )
        return self._require(run)

    @_faults_explained
    def list_runs(self, include_finished: bool = True, limit: int | None = None) -> list[RunRecord]:
        """Newest first (rowid breaks ties within the same second)."""
        where = "" if include_finished else "WHERE final = 0"
        sql = f"SELECT * FROM runs {where} ORDER BY created_at DESC, rowid DESC"
        if limit is not None:
            return self._many(sql + " LIMIT ?", (int(limit),))
        return self._many(sql)

    @_faults_explained
    def unfinished(self, site: str | None = None) -> list[RunRecord]:
        """Runs whose state must still be asked for: not final and submitted, or submitting."""
        sql = "SELECT * FROM runs WHERE final = 0 AND (job_id IS NOT NULL OR state = ?)"
        params: list[Any] = [SUBMITTING]
        if site is not None:
            sql += " AND site = ?"
            params.append(site)
        return self._many(sql + " ORDER BY created_at, rowid", params)

    @_faults_explained
    def latest_completed(self, workflow: str, site: str) -> RunRecord | None:
        return self._one(
            "SELECT * FROM runs WHERE workflow = ? AND site = ? AND state = 'completed'"
            " ORDER BY finished_at DESC, created_at DESC, rowid DESC LIMIT 1",
            (workflow, site),
        )

    @_faults_explained
    def latest_upload(self, project_root: str, site: str) -> RunRecord | None:
        """The newest run of the same project at the same site that got a run folder: its
        code/ is the base for hard-linking unchanged files into the next upload."""
        return self._one(
            "SELECT * FROM runs WHERE project_root = ? AND site = ? AND remote_dir IS NOT NULL"
            " AND job_id IS NOT NULL ORDER BY created_at DESC, rowid DESC LIMIT 1",
            (project_root, site),
        )

    @_faults_explained
    def unique_run_name(self, workflow: str) -> str:
        """A short unused name like ``train-7f3k``; create_run still guards against races."""
        stem = sanitize_workflow_name(workflow)
        attempt = 0
        while True:
            # Widen the suffix if a busy namespace keeps colliding.
            size = 4 + attempt // 20
            suffix = "".join(secrets.choice(_BASE36) for _ in range(size))
            name = f"{stem}-{suffix}"
            taken = self._db.execute(
                "SELECT 1 FROM runs WHERE run = ? UNION ALL SELECT 1 FROM tags WHERE name = ?",
                (name, name),
            ).fetchone()
            if not taken:
                return name
            attempt += 1

    # ---------------------------------------------------------------- tags

    @_faults_explained
    def tag(self, run: str, name: str) -> None:
        """Point tag ``name`` at ``run``; an existing tag of that name moves."""
        from hpcrun.safepaths import check_name

        check_name(name, "tag")  # deps name tags too: the same rule (a UsageError, exit 2)
        with self._write() as db:
            if not db.execute("SELECT 1 FROM runs WHERE run = ?", (run,)).fetchone():
                raise StoreError(f"no run named '{run}'", "see `hpcrun ps -a` for the known runs")
            db.execute(
                "INSERT INTO tags (name, run, created_at) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET run = excluded.run,"
                " created_at = excluded.created_at",
                (name, run, utc_now()),
            )

    @_faults_explained
    def resolve_tag(self, name: str, workflow: str | None = None) -> RunRecord | None:
        """The run tagged ``name`` (only if it belongs to ``workflow``, when given)."""
        sql = "SELECT runs.* FROM tags JOIN runs ON runs.run = tags.run WHERE tags.name = ?"
        params: list[Any] = [name]
        if workflow is not None:
            sql += " AND runs.workflow = ?"
            params.append(workflow)
        return self._one(sql, params)

    @_faults_explained
    def tags_of(self, run: str) -> list[str]:
        rows = self._db.execute("SELECT name FROM tags WHERE run = ? ORDER BY name", (run,))
        return [row["name"] for row in rows.fetchall()]

    @_faults_explained
    def all_tags(self) -> list[tuple[str, str]]:
        """Every tag as ``(tag, run)``, by tag name."""
        rows = self._db.execute("SELECT name, run FROM tags ORDER BY name").fetchall()
        return [(row["name"], row["run"]) for row in rows]
