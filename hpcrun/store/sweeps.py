"""Parameter sweeps in the store: the sweep, its array chunks, its points.

This module is the CONTRACT between the cron tick (``hpcrun.sweep.tick``, the only writer)
and the views (``hpcrun sweep status|report``, readers). Readers use only
``Store.read_sweep``, ``Store.get_sweep``, ``Store.find_sweeps`` and the frozen dataclasses
below; every field is documented where it is declared.

Identity: a sweep is named ``<workflow>-<6 hex>`` where the hex is a hash of the workflow,
the site's name and the project folder (``hpcrun.sweep.identity.sweep_name``), so the same
workflow of two projects, or on two sites, are two sweeps. A point's identity is
``hpcrun.sweep.points.point_id`` (workflow + parameter values).

Point states are the DESIGN.md contract states (``pending`` ... ``unknown``). A point that
was never submitted, or is waiting for its retry, is ``pending`` with ``job_id`` None.

Chunk states: ``submitting`` (recorded BEFORE sbatch; the next tick reconciles it by its job
name), ``submitted`` (sbatch answered; ``job_id`` is the array job id) and ``deferred``
(sbatch refused for a submit limit, or nothing was queued: its points go out with a later
tick). Every write is one short ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hpcrun.store.base import faults_explained as _faults_explained
from hpcrun.store.base import utc_now
from hpcrun.store_faults import StoreError

CHUNK_STATES = ("submitting", "submitted", "deferred")
# Point states that may be retried (DESIGN.md names); preempted only when Slurm did not requeue
# it (a requeued job shows as pending, never as preempted).
RETRYABLE = frozenset(("failed", "timeout", "node_fail", "out_of_memory", "preempted"))


@dataclass(frozen=True)
class SweepRecord:
    sweep: str  # the sweep's name: ``<workflow>-<hash>``; HPCRUN_SWEEP in the jobs
    workflow: str  # the workflow's name in workflows.yaml
    site: str  # the site's name
    site_config: str  # path of the site YAML used by the last tick
    project_root: str  # local project folder (absolute)
    site_snapshot: str | None = None  # the validated site config (JSON) of the last tick
    workflows_file: str | None = None  # the workflows file of the last tick
    remote_dir: str | None = None  # ``<remote_root>/sweeps/<sweep>`` (local path on `local`)
    dest: str | None = None  # local folder; point artifacts go to ``<dest>/<point id>/``
    parameters: tuple[str, ...] = ()  # parameter names, in the spec's order
    retries: int = 0  # retries allowed per point (``sweep.retries``)
    max_parallel: int | None = None  # ``sweep.max_parallel``
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)
    last_tick_at: str | None = None  # when a tick last finished (ISO-8601 UTC)
    last_summary: str | None = None  # that tick's one-line summary


@dataclass(frozen=True)
class ChunkRecord:
    sweep: str
    chunk: str  # the chunk's identity (hash of sweep, point ids and attempt)
    job_name: str  # its deterministic ``--job-name``
    state: str  # one of CHUNK_STATES
    points: tuple[str, ...]  # point ids: array task i runs points[i]
    attempt: int = 1  # the attempt of its points this array is (1 = first run)
    job_id: str | None = None  # the array's job id (as sbatch printed it), once known
    remote_dir: str | None = None  # ``<sweep remote_dir>/chunks/<chunk>``
    reason: str | None = None  # why deferred, or what reconcile found
    created_at: str = field(default_factory=utc_now)
    updated_at: str = field(default_factory=utc_now)


@dataclass(frozen=True)
class PointRecord:
    sweep: str
    workflow: str
    site: str
    point: str  # the point's identity (16 hex); HPCRUN_POINT in the job
    label: str  # readable parameters: ``lr=0.1,bs=32``
    params: dict[str, str]  # parameter name -> value (text, as written in the spec)
    position: int  # order of the point in the spec (matrix order, then includes)
    state: str  # a DESIGN.md contract state; 'pending' also before submission
    final: bool = False  # the state will not change (unless retried or --rerun)
    attempt: int = 0  # how many times it was submitted (0: never; 2: its first retry ran)
    retries_used: int = 0  # automatic retries submitted so far
    retries_allowed: int = 0  # the sweep's ``retries``
    exit_code: int | None = None  # of the last attempt, once final
    array_job_id: str | None = None  # the array job id of its last attempt ("123")
    task_index: int | None = None  # its array task index in that array (4)
    chunk: str | None = None  # the chunk of its last attempt
    submitted_at: str | None = None  # ISO-8601 UTC
    started_at: str | None = None
    finished_at: str | None = None
    reason: str | None = None  # why pending/deferred/failed, when known
    metrics: dict[str, Any] = field(default_factory=dict)  # its metrics.json (flat object)
    # local folder of its fetched artifacts: ``<dest>/<point>/``, holding ``output/`` (the
    # OUTPUT_FOLDER's content; metrics.json is ``output/metrics.json``) and ``job.log``
    artifacts_dir: str | None = None
    fetched: bool = False  # its artifacts of the final state were fetched
    log_path: str | None = None  # its log on the cluster: ``<sweep>/points/<point>/job.log``
    local_log: str | None = None  # the fetched copy of that log, if any
    in_spec: bool = True  # False: the spec no longer has this point (kept for history)

    @property
    def job_id(self) -> str | None:
        """The Slurm id of its last attempt's array task: ``123_4``."""
        if self.array_job_id is None or self.task_index is None:
            return None
        return f"{self.array_job_id}_{self.task_index}"

    @property
    def run_seconds(self) -> float | None:
        """Seconds from start to end of its last attempt; None if it did not both."""
        if not self.started_at or not self.finished_at:
            return None
        start = datetime.fromisoformat(self.started_at.replace("Z", "+00:00"))
        end = datetime.fromisoformat(self.finished_at.replace("Z", "+00:00"))
        return max((end - start).total_seconds(), 0.0)

    @property
    def exhausted(self) -> bool:
        """Ended without completing and will not be retried automatically (a retryable end
        with no retries left, or cancelled/unknown): the tick exits 1 for it."""
        if not self.final or self.state == "completed":
            return False
        return not (self.state in RETRYABLE and self.retries_used < self.retries_allowed)


@dataclass(frozen=True)
class SweepState:
    """Everything about one sweep: what ``read_sweep`` returns."""

    sweep: SweepRecord
    points: tuple[PointRecord, ...]  # in spec order; points dropped from the spec last
    chunks: tuple[ChunkRecord, ...]  # oldest first


_SWEEP_COLUMNS = tuple(SweepRecord.__dataclass_fields__)


def _sweep(row: sqlite3.Row) -> SweepRecord:
    values = {name: row[name] for name in _SWEEP_COLUMNS}
    values["parameters"] = tuple(json.loads(values["parameters"] or "[]"))
    return SweepRecord(**values)


def _chunk(row: sqlite3.Row) -> ChunkRecord:
    return ChunkRecord(
        sweep=row["sweep"], chunk=row["chunk"], job_name=row["job_name"], state=row["state"],
        points=tuple(json.loads(row["points"] or "[]")), attempt=row["attempt"],
        job_id=row["job_id"], remote_dir=row["remote_dir"], reason=row["reason"],
        created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


def _point(row: sqlite3.Row, sweep: SweepRecord) -> PointRecord:
    log = f"{sweep.remote_dir}/points/{row['point']}/job.log" if sweep.remote_dir else None
    return PointRecord(
        sweep=sweep.sweep, workflow=sweep.workflow, site=sweep.site, point=row["point"],
        label=row["label"], params=json.loads(row["params"] or "{}"), position=row["position"],
        state=row["state"], final=bool(row["final"]), attempt=row["attempt"],
        retries_used=row["retries_used"], retries_allowed=sweep.retries,
        exit_code=row["exit_code"], array_job_id=row["array_job_id"],
        task_index=row["task_index"], chunk=row["chunk"], submitted_at=row["submitted_at"],
        started_at=row["started_at"], finished_at=row["finished_at"], reason=row["reason"],
        metrics=json.loads(row["metrics"]) if row["metrics"] else {},
        artifacts_dir=row["artifacts_dir"], fetched=bool(row["fetched"]), log_path=log,
        local_log=row["local_log"], in_spec=bool(row["in_spec"]),
    )  # fmt: skip


class SweepsMixin:
    """The store's sweep methods (mixed into ``hpcrun.store.Store``)."""

    _db: sqlite3.Connection
    _write: Any

    # ------------------------------------------------------------ reading (the views' API)

    @_faults_explained
    def get_sweep(self, sweep: str) -> SweepRecord | None:
        row = self._db.execute("SELECT * FROM sweeps WHERE sweep = ?", (sweep,)).fetchone()
        return _sweep(row) if row is not None else None

    @_faults_explained
    def find_sweeps(
        self, workflow: str | None = None, site: str | None = None, project_root: str | None = None
    ) -> list[SweepRecord]:
        """Sweeps matching every given filter, most recently ticked first."""
        sql, params = "SELECT * FROM sweeps WHERE 1 = 1", []
        for column, value in (("workflow", workflow), ("site", site),
                              ("project_root", project_root)):  # fmt: skip
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        sql += " ORDER BY COALESCE(last_tick_at, updated_at) DESC, rowid DESC"
        return [_sweep(row) for row in self._db.execute(sql, params).fetchall()]

    @_faults_explained
    def read_sweep(self, sweep: str) -> SweepState | None:
        """The sweep, its points (spec order) and chunks, read in one snapshot."""
        self._db.execute("BEGIN")  # one read transaction: a consistent view during a tick
        try:
            record = self.get_sweep(sweep)
            if record is None:
                return None
            rows = self._db.execute(
                "SELECT * FROM sweep_points WHERE sweep = ? ORDER BY in_spec DESC, position",
                (sweep,),
            ).fetchall()
            chunks = self._db.execute(
                "SELECT * FROM sweep_chunks WHERE sweep = ? ORDER BY created_at, rowid", (sweep,)
            ).fetchall()
        finally:
            self._db.execute("COMMIT")
        return SweepState(
            record, tuple(_point(row, record) for row in rows), tuple(_chunk(c) for c in chunks)
        )

    # ------------------------------------------------------------ writing (the tick's)

    @_faults_explained
    def save_sweep(self, record: SweepRecord) -> SweepRecord:
        """Insert the sweep, or update its configuration (not its created_at/last tick)."""
        values = {name: getattr(record, name) for name in _SWEEP_COLUMNS}
        values["parameters"] = json.dumps(list(record.parameters))
        values["updated_at"] = utc_now()
        columns = ", ".join(_SWEEP_COLUMNS)
        marks = ", ".join(f":{name}" for name in _SWEEP_COLUMNS)
        keep = ("sweep", "created_at", "last_tick_at", "last_summary")
        updates = ", ".join(f"{n} = excluded.{n}" for n in _SWEEP_COLUMNS if n not in keep)
        with self._write() as db:
            db.execute(
                f"INSERT INTO sweeps ({columns}) VALUES ({marks})"
                f" ON CONFLICT (sweep) DO UPDATE SET {updates}",
                values,
            )
        found = self.get_sweep(record.sweep)
        assert found is not None
        return found

    @_faults_explained
    def sync_points(self, sweep: str, points: Sequence[tuple[str, str, Mapping[str, str]]]) -> int:
        """Make the sweep's points (id, label, params) those of the spec, in order: new
        ones are added as pending, known ones keep their history, points the spec dropped
        are kept with ``in_spec`` false. Returns how many are new."""
        now, new = utc_now(), 0
        with self._write() as db:
            known = {row[0] for row in db.execute(
                "SELECT point FROM sweep_points WHERE sweep = ?", (sweep,))}  # fmt: skip
            db.execute("UPDATE sweep_points SET in_spec = 0 WHERE sweep = ?", (sweep,))
            for position, (point, label, params) in enumerate(points):
                if point in known:
                    db.execute(
                        "UPDATE sweep_points SET in_spec = 1, position = ? WHERE sweep = ?"
                        " AND point = ?",
                        (position, sweep, point),
                    )
                else:
                    new += 1
                    db.execute(
                        "INSERT INTO sweep_points (sweep, point, position, label, params,"
                        " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (sweep, point, position, label, json.dumps(dict(params)), now),
                    )
        return new

    @_faults_explained
    def chunk_submitting(self, chunk: ChunkRecord) -> None:
        """Record the chunk BEFORE sbatch, and its points as its tasks (task i = points[i])."""
        self.chunks_submitting([chunk])

    @_faults_explained
    def chunks_submitting(self, chunks: Sequence[ChunkRecord]) -> None:
        """``chunk_submitting`` for every chunk of one submit command, in ONE transaction."""
        now = utc_now()
        with self._write() as db:
            for chunk in chunks:
                db.execute(
                    "INSERT INTO sweep_chunks (sweep, chunk, job_name, job_id, state, points,"
                    " attempt, remote_dir, reason, created_at, updated_at)"
                    " VALUES (?, ?, ?, NULL, 'submitting', ?, ?, ?, NULL, ?, ?)"
                    " ON CONFLICT (sweep, chunk) DO UPDATE SET state = 'submitting',"
                    " reason = NULL, updated_at = excluded.updated_at",
                    (chunk.sweep, chunk.chunk, chunk.job_name, json.dumps(list(chunk.points)),
                     chunk.attempt, chunk.remote_dir, now, now),
                )  # fmt: skip
                db.executemany(
                    "UPDATE sweep_points SET chunk = ?, task_index = ?,"
                    " array_job_id = NULL, state = 'pending', final = 0, exit_code = NULL,"
                    " started_at = NULL, finished_at = NULL, reason = 'being submitted',"
                    " fetched = 0, updated_at = ? WHERE sweep = ? AND point = ?",
                    [(chunk.chunk, index, now, chunk.sweep, point)
                     for index, point in enumerate(chunk.points)],
                )  # fmt: skip

    @_faults_explained
    def chunk_submitted(self, sweep: str, chunk: str, job_id: str) -> None:
        """sbatch answered (or reconcile found the array): the chunk's points are queued."""
        self.chunks_submitted(sweep, [(chunk, job_id)])

    @_faults_explained
    def chunks_submitted(self, sweep: str, arrays: Sequence[tuple[str, str]]) -> None:
        """``chunk_submitted`` for (chunk, array job id) pairs, in ONE transaction."""
        now = utc_now()
        with self._write() as db:
            for chunk, job_id in arrays:
                db.execute(
                    "UPDATE sweep_chunks SET state = 'submitted', job_id = ?, reason = NULL,"
                    " updated_at = ? WHERE sweep = ? AND chunk = ?",
                    (job_id, now, sweep, chunk),
                )
                # the point's attempt counts submissions: a deferred chunk did not make one
                db.execute(
                    "UPDATE sweep_points SET array_job_id = ?, submitted_at = ?, reason = NULL,"
                    " attempt = (SELECT attempt FROM sweep_chunks WHERE sweep = ? AND chunk = ?),"
                    " updated_at = ? WHERE sweep = ? AND chunk = ? AND array_job_id IS NULL",
                    (job_id, now, sweep, chunk, now, sweep, chunk),
                )

    @_faults_explained
    def chunk_deferred(self, sweep: str, chunk: str, reason: str) -> None:
        """Nothing of the chunk is queued (a submit limit, or reconcile confirmed it): its
        points wait for a later tick."""
        now = utc_now()
        with self._write() as db:
            db.execute(
                "UPDATE sweep_chunks SET state = 'deferred', reason = ?, updated_at = ?"
                " WHERE sweep = ? AND chunk = ?",
                (reason, now, sweep, chunk),
            )
            db.execute(
                "UPDATE sweep_points SET reason = ?, updated_at = ?"
                " WHERE sweep = ? AND chunk = ? AND array_job_id IS NULL",
                (f"deferred: {reason}", now, sweep, chunk),
            )

    @_faults_explained
    def chunks(self, sweep: str, state: str | None = None) -> list[ChunkRecord]:
        sql, params = "SELECT * FROM sweep_chunks WHERE sweep = ?", [sweep]
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        rows = self._db.execute(sql + " ORDER BY created_at, rowid", params).fetchall()
        return [_chunk(row) for row in rows]

    @_faults_explained
    def update_points(self, sweep: str, updates: Iterable[Mapping[str, Any]]) -> None:
        """Apply polled states in ONE transaction. Each update names ``point`` and
        ``array_job_id`` (an answer about an older attempt is ignored) and gives ``state``,
        ``final`` and optionally ``exit_code``, ``started_at``, ``finished_at``, ``reason``.
        A final point ignores non-final updates (a stale poll)."""
        now = utc_now()
        with self._write() as db:
            for u in updates:
                final = int(bool(u["final"]))
                db.execute(
                    "UPDATE sweep_points SET state = ?, final = ?,"
                    " exit_code = COALESCE(?, exit_code), started_at = COALESCE(?, started_at),"
                    " finished_at = COALESCE(?, finished_at), reason = ?, updated_at = ?"
                    " WHERE sweep = ? AND point = ? AND array_job_id = ? AND (final = 0 OR ? = 1)",
                    (u["state"], final, u.get("exit_code"), u.get("started_at"),
                     u.get("finished_at"), u.get("reason"), now, sweep, u["point"],
                     u["array_job_id"], final),
                )  # fmt: skip

    @_faults_explained
    def point_for_retry(self, sweep: str, point: str, *, automatic: bool) -> None:
        """Make a finished point due again: an automatic retry counts against ``retries``,
        a ``--rerun`` starts its retry count afresh. Its history stays in earlier chunks."""
        counter = "retries_used + 1" if automatic else "0"
        with self._write() as db:
            db.execute(
                f"UPDATE sweep_points SET retries_used = {counter}, chunk = NULL,"
                " array_job_id = NULL, task_index = NULL, state = 'pending', final = 0,"
                " reason = ?, fetched = 0, updated_at = ? WHERE sweep = ? AND point = ?",
                ("waiting for its retry" if automatic else "to be rerun", utc_now(), sweep,
                 point),
            )  # fmt: skip

    @_faults_explained
    def point_fetched(
        self,
        sweep: str,
        point: str,
        artifacts_dir: str,
        local_log: str | None,
        metrics: Mapping[str, Any] | None,
    ) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sweep_points SET artifacts_dir = ?, local_log = ?, fetched = 1,"
                " metrics = COALESCE(?, metrics), updated_at = ? WHERE sweep = ? AND point = ?",
                (artifacts_dir, local_log, json.dumps(dict(metrics)) if metrics is not None
                 else None, utc_now(), sweep, point),
            )  # fmt: skip

    @_faults_explained
    def sweep_ticked(self, sweep: str, summary: str) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE sweeps SET last_tick_at = ?, last_summary = ? WHERE sweep = ?",
                (utc_now(), summary, sweep),
            )

    # ------------------------------------------------------------ cached facts of a site

    @_faults_explained
    def site_fact(self, site: str, key: str) -> str | None:
        """A cached fact about a site (e.g. its MaxArraySize), or None."""
        row = self._db.execute(
            "SELECT value FROM site_facts WHERE site = ? AND key = ?", (site, key)
        ).fetchone()
        return row[0] if row is not None else None

    @_faults_explained
    def set_site_fact(self, site: str, key: str, value: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO site_facts (site, key, value, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (site, key) DO UPDATE SET value = excluded.value,"
                " updated_at = excluded.updated_at",
                (site, key, value, utc_now()),
            )


def require_sweep(state: SweepState | None, name: str) -> SweepState:
    if state is None:
        raise StoreError(f"no sweep named '{name}'", "run `hpcrun sweep FILE WORKFLOW` first")
    return state
