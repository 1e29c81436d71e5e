"""The database schema, as an append-only list of migrations.

``PRAGMA user_version`` is the number of migrations applied. Only ever append: a database
written by an older hpcrun migrates forward by running the scripts it has not seen yet.
Statements are separated by ``;`` (none may contain one in a literal).
"""

from __future__ import annotations

# Applied in order; user_version = number applied. Only ever append (later issues add columns).
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE runs (
        run           TEXT PRIMARY KEY,
        workflow      TEXT NOT NULL,
        site          TEXT NOT NULL,
        site_config   TEXT NOT NULL,
        state         TEXT NOT NULL,
        job_id        TEXT,
        exit_code     INTEGER,
        submitted_at  TEXT,
        finished_at   TEXT,
        artifacts_dir TEXT,
        remote_dir    TEXT,
        workflows_file TEXT,
        project_root  TEXT,
        request_key   TEXT UNIQUE,
        depends_on    TEXT NOT NULL DEFAULT '[]',
        created_at    TEXT NOT NULL,
        updated_at    TEXT NOT NULL,
        state_reason  TEXT,
        final         INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX runs_unfinished ON runs (final, site);
    CREATE INDEX runs_workflow ON runs (workflow, site, state);
    CREATE TABLE tags (
        name       TEXT PRIMARY KEY,
        run        TEXT NOT NULL REFERENCES runs (run) ON DELETE CASCADE,
        created_at TEXT NOT NULL
    );
    CREATE INDEX tags_run ON tags (run);
    """,
    # 2: what a run's artifacts are, so `hpcrun artifacts` and deps work without the spec.
    """
    ALTER TABLE runs ADD COLUMN working_dir TEXT;
    ALTER TABLE runs ADD COLUMN artifacts TEXT NOT NULL DEFAULT '[]';
    CREATE INDEX runs_project ON runs (project_root, site);
    """,
    # 3: the validated site config a run was submitted with (JSON, see hpcrun.site.snapshot),
    # so logs/artifacts/cancel/ps keep working when the YAML moves or changes.
    """
    ALTER TABLE runs ADD COLUMN site_snapshot TEXT;
    """,
    # 4: parameter sweeps (hpcrun.store.sweeps): a sweep, its array chunks, its points.
    """
    CREATE TABLE sweeps (
        sweep          TEXT PRIMARY KEY,
        workflow       TEXT NOT NULL,
        site           TEXT NOT NULL,
        site_config    TEXT NOT NULL,
        site_snapshot  TEXT,
        project_root   TEXT NOT NULL,
        workflows_file TEXT,
        remote_dir     TEXT,
        dest           TEXT,
        parameters     TEXT NOT NULL DEFAULT '[]',
        retries        INTEGER NOT NULL DEFAULT 0,
        max_parallel   INTEGER,
        created_at     TEXT NOT NULL,
        updated_at     TEXT NOT NULL,
        last_tick_at   TEXT,
        last_summary   TEXT
    );
    CREATE INDEX sweeps_workflow ON sweeps (workflow, site);
    CREATE TABLE sweep_chunks (
        sweep      TEXT NOT NULL REFERENCES sweeps (sweep) ON DELETE CASCADE,
        chunk      TEXT NOT NULL,
        job_name   TEXT NOT NULL,
        job_id     TEXT,
        state      TEXT NOT NULL,
        points     TEXT NOT NULL DEFAULT '[]',
        attempt    INTEGER NOT NULL DEFAULT 1,
        remote_dir TEXT,
        reason     TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (sweep, chunk)
    );
    CREATE TABLE sweep_points (
        sweep         TEXT NOT NULL REFERENCES sweeps (sweep) ON DELETE CASCADE,
        point         TEXT NOT NULL,
        position      INTEGER NOT NULL,
        label         TEXT NOT NULL,
        params        TEXT NOT NULL DEFAULT '{}',
        in_spec       INTEGER NOT NULL DEFAULT 1,
        state         TEXT NOT NULL DEFAULT 'pending',
        final         INTEGER NOT NULL DEFAULT 0,
        attempt       INTEGER NOT NULL DEFAULT 0,
        retries_used  INTEGER NOT NULL DEFAULT 0,
        chunk         TEXT,
        array_job_id  TEXT,
        task_index    INTEGER,
        submitted_at  TEXT,
        started_at    TEXT,
        finished_at   TEXT,
        exit_code     INTEGER,
        reason        TEXT,
        metrics       TEXT,
        artifacts_dir TEXT,
        local_log     TEXT,
        fetched       INTEGER NOT NULL DEFAULT 0,
        updated_at    TEXT NOT NULL,
        PRIMARY KEY (sweep, point)
    );
    CREATE INDEX sweep_points_chunk ON sweep_points (sweep, chunk);
    CREATE TABLE site_facts (
        site       TEXT NOT NULL,
        key        TEXT NOT NULL,
        value      TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (site, key)
    );
    """,
    # 5: what a run needs to be run again (`hpcrun rerun`, `hpcrun show`): what submit was
    # given (JSON: path, workflow), its command-line overrides and --var values (JSON), the
    # requirements env key, code content hash, git state; and its state history (one row
    # per state change, with the reason).
    """
    ALTER TABLE runs ADD COLUMN target TEXT;
    ALTER TABLE runs ADD COLUMN overrides TEXT;
    ALTER TABLE runs ADD COLUMN variables TEXT;
    ALTER TABLE runs ADD COLUMN env_key TEXT;
    ALTER TABLE runs ADD COLUMN code_hash TEXT;
    ALTER TABLE runs ADD COLUMN git_commit TEXT;
    ALTER TABLE runs ADD COLUMN git_dirty INTEGER;
    CREATE TABLE run_states (
        run    TEXT NOT NULL REFERENCES runs (run) ON DELETE CASCADE,
        at     TEXT NOT NULL,
        state  TEXT NOT NULL,
        reason TEXT
    );
    CREATE INDEX run_states_run ON run_states (run);
    """,
    # 6: what a finished run used (JSON from sacct, or the local site's own measures), how
    # many times the scheduler restarted it (preemption, requeue, self-requeue), and when
    # its artifacts were fetched (NULL: not yet; a detached run's first follower fetches).
    """
    ALTER TABLE runs ADD COLUMN efficiency TEXT;
    ALTER TABLE runs ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN artifacts_fetched_at TEXT;
    """,
)
