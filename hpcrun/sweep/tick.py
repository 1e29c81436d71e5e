"""One cron tick of a sweep: lock, reconcile, poll, fetch, retry, submit, summarize.

Safe to run any number of times, overlapping, after crashes: a per-sweep lock lets one tick
work at a time; every chunk is recorded 'submitting' BEFORE the one remote command that runs
the sbatch of every due chunk, and the next tick finds such a chunk's array by its
deterministic job name (or the chunk folder's ``.jobid``) before it submits anything, so no
point is ever submitted twice. All of a sweep's arrays are polled with one squeue and at
most one sacct.

Remote layout, ``<remote_root>/sweeps/<sweep>/``: ``code/`` (uploaded at most once per tick,
only when something is submitted), ``chunks/<chunk>/`` (``sweep.sbatch``, ``points.tsv``,
``.jobid``, ``slurm-<array>_<task>.log``) and ``points/<point>/`` (``output/``, ``input/``,
``checkpoint/``, ``job.log``). Fetched: ``<dest>/<sweep>/<point>/{output/,job.log}``.
"""

from __future__ import annotations

import io
import os
import signal
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcrun.errors import HpcrunError, UsageError
from hpcrun.ops.in_doubt import age_seconds
from hpcrun.ops.session import Session

# Test-only: set to 1 and the tick SIGKILLs itself right after an sbatch returned, before
# the store records the array (the crash the reconcile step exists for).
KILL_AFTER_SBATCH_ENV = "HPCRUN_TEST_KILL_AFTER_SBATCH"
MAX_ARRAY_FACT = "MaxArraySize"


@dataclass(frozen=True)
class TickRequest:
    file: Path | None
    workflow: str
    site: str | None = None
    wait: bool = False  # wait for another tick of the same sweep instead of exiting
    rerun_failed: bool = False
    rerun: tuple[str, ...] = ()  # point ids (or unique prefixes, or labels)
    dest: Path | None = None


@dataclass
class TickResult:
    sweep: str
    local: bool = False  # the sweep runs on the local site
    busy: bool = False  # another tick held the sweep's lock: this one did nothing
    state: Any = None  # hpcrun.store.SweepState after the tick
    summary: str = ""
    healthy: bool = True
    done: bool = False
    sbatch_calls: int = 0  # chunks sbatch ran for (a chunk submitted before: its .jobid)
    submit_commands: int = 0  # remote commands that ran them (one per tick, but halving)
    submitted: list[tuple[str, str, int]] = field(default_factory=list)  # chunk, array, n
    deferred: int = 0
    notes: list[str] = field(default_factory=list)  # said once, on stderr

    @property
    def exit_code(self) -> int:
        return 0 if self.busy or self.healthy else 1


def default_dest() -> Path:
    from hpcrun.paths import hpcrun_home

    return hpcrun_home() / "sweeps"


def tick(session: Session, request: TickRequest) -> TickResult:
    from hpcrun.locks import holding, holding_if_free
    from hpcrun.ops.prepare import load_target, resolve_workflows_file
    from hpcrun.ops.sweep_render import is_sweep
    from hpcrun.sweep.progress import sweep_name

    target = load_target(resolve_workflows_file(request.file), request.workflow)
    if not is_sweep(target):
        raise UsageError(
            f"workflow '{request.workflow}' has no 'sweep:' block",
            f"run it with `hpcrun submit {request.workflow}`, or add a sweep: matrix",
        )
    site, site_path = session.site(request.site)
    name = sweep_name(target.workflow.name, site.name, str(target.project_root.resolve()))
    if request.wait:
        with holding(f"sweep-{name}"):
            return _locked_tick(session, request, target, site, site_path, name)
    with holding_if_free(f"sweep-{name}") as acquired:
        if not acquired:
            return TickResult(name, busy=True, summary=f"another tick of sweep {name} is "
                              "running; this one did nothing (--wait waits for it)")  # fmt: skip
        return _locked_tick(session, request, target, site, site_path, name)


def _locked_tick(
    session: Session, request: TickRequest, target: Any, site: Any, site_path: Path, name: str
) -> TickResult:
    from hpcrun.ops import stage
    from hpcrun.ops.sweep_render import build_sweep
    from hpcrun.site.snapshot import site_snapshot
    from hpcrun.store import SweepRecord

    store = session.store
    prepared = build_sweep(target, site, site_path, name=name)
    transport = session.transport(site)
    arrays = _arrays(site)
    sweep_dir = f"{stage.remote_root(transport, prepared.plan)}/sweeps/{name}"
    spec = target.workflow.sweep
    known = store.get_sweep(name)
    if request.dest is not None:
        dest = request.dest.expanduser().resolve() / name
    elif known is not None and known.dest:
        dest = Path(known.dest)  # an earlier --dest holds until another is given
    else:
        dest = default_dest().expanduser().resolve() / name
    store.save_sweep(SweepRecord(
        sweep=name, workflow=target.workflow.name, site=site.name,
        site_config=str(site_path.resolve()), project_root=str(target.project_root.resolve()),
        site_snapshot=site_snapshot(site),
        workflows_file=str(target.workflows_file.resolve()) if target.workflows_file else None,
        remote_dir=sweep_dir, dest=str(dest), parameters=tuple(spec.parameters),
        retries=spec.retries, max_parallel=spec.max_parallel,
    ))  # fmt: skip
    store.sync_points(name, [(p.id, p.label, p.params) for p in prepared.points])
    result = TickResult(name, local=site.scheduler == "local", notes=list(prepared.warnings))

    _reconcile(store, transport, arrays, name, result)
    _poll(store, transport, arrays, name, sweep_dir)
    _fetch(store, transport, name, sweep_dir, dest, result)
    _reruns(store, name, request, spec.retries)
    _submit_due(store, transport, arrays, prepared, sweep_dir, site, result)

    from hpcrun.sweep.progress import count, summary_line

    state = store.read_sweep(name)
    counts = count(state.points, spec.retries)
    result.state, result.summary = state, summary_line(counts)
    result.healthy, result.done = counts.healthy, counts.done
    store.sweep_ticked(name, result.summary)
    return result


def _arrays(site: Any) -> Any:
    if site.scheduler == "local":
        from hpcrun.ops.backends.local_array import LocalArrays

        return LocalArrays()
    if site.restricted_commands:
        from hpcrun.ops.backends.slurm_array_restricted import RestrictedSlurmArrays

        return RestrictedSlurmArrays()
    from hpcrun.ops.backends.slurm_array import SlurmArrays

    return SlurmArrays()


# ------------------------------------------------------------------ 1. reconcile


def _reconcile(store: Any, transport: Any, arrays: Any, name: str, result: TickResult) -> None:
    """Chunks an earlier tick recorded 'submitting' (it died, or sbatch timed out): adopt
    their arrays, wait for them, or free their points, BEFORE anything is submitted."""
    from hpcrun.sweep.progress import reconcile

    pending = store.chunks(name, "submitting")
    if not pending:
        return
    traces = arrays.recorded(transport, [c.remote_dir for c in pending])
    unrecorded = {c.job_name: age_seconds(c.updated_at) for c in pending
                  if traces[c.remote_dir].job_id is None}  # fmt: skip
    found = arrays.find(transport, unrecorded) if unrecorded else {}
    for chunk in pending:
        trace = traces[chunk.remote_dir]
        decision = reconcile(found.get(chunk.job_name), trace.job_id, trace.in_flight,
                             age_seconds(chunk.updated_at), arrays.grace_seconds,
                             trace.abandoned)  # fmt: skip
        if decision.action == "adopt":
            store.chunk_submitted(name, chunk.chunk, decision.job_id)
            result.notes.append(f"chunk {chunk.chunk}: array {decision.job_id} {decision.why}")
        elif decision.action == "free":
            store.chunk_deferred(name, chunk.chunk, decision.why)
        else:
            result.notes.append(f"chunk {chunk.chunk}: {decision.why}")


# ------------------------------------------------------------------ 2. poll


def _poll(store: Any, transport: Any, arrays: Any, name: str, sweep_dir: str) -> None:
    state = store.read_sweep(name)
    tasks: dict[str, list[int]] = {}
    points: dict[tuple[str, int], str] = {}  # each task's point folder
    for p in state.points:
        if not p.final and p.array_job_id is not None and p.task_index is not None:
            tasks.setdefault(p.array_job_id, []).append(p.task_index)
            points[(p.array_job_id, p.task_index)] = f"{sweep_dir}/points/{p.point}"
    if not tasks:
        return
    dirs = {c.job_id: c.remote_dir for c in state.chunks if c.job_id in tasks}
    statuses = arrays.poll(transport, tasks, dirs, points)
    updates = []
    for p in state.points:
        status = statuses.get((p.array_job_id, p.task_index)) if p.array_job_id else None
        if status is None or p.final:
            continue
        updates.append({
            "point": p.point, "array_job_id": p.array_job_id, "state": status.state,
            "final": status.final, "exit_code": status.exit_code,
            "started_at": status.started_at, "finished_at": status.ended_at,
            "reason": status.reason,
        })  # fmt: skip
    store.update_points(name, updates)


# ------------------------------------------------------------------ 3. fetch


def _fetch(
    store: Any, transport: Any, name: str, sweep_dir: str, dest: Path, result: TickResult
) -> None:
    """One sync_down for every finished point not fetched yet: ``output/`` and ``job.log``
    of each into ``<dest>/<point>/`` (safe: setuid bits stripped, outside links refused)."""
    state = store.read_sweep(name)
    due = [p for p in state.points if p.final and not p.fetched and p.attempt > 0]
    if not due:
        return
    dest.mkdir(parents=True, exist_ok=True)
    paths = [f"{p.point}/{part}" for p in due for part in ("output", "job.log")]
    try:
        fetched = transport.sync_down(f"{sweep_dir}/points", paths, dest)
    except HpcrunError as exc:
        result.notes.append(f"fetching artifacts failed, retried next tick: {exc.message}")
        return
    for link in fetched.unsafe_links:
        result.notes.append(f"not fetched: {link} links outside its folder")
    for p in due:
        folder = dest / p.point
        folder.mkdir(exist_ok=True)
        log = folder / "job.log"
        store.point_fetched(name, p.point, str(folder), str(log) if log.exists() else None,
                            _metrics(folder, p.point, result))  # fmt: skip


def _metrics(folder: Path, point: str, result: TickResult) -> dict[str, Any] | None:
    """The point's metrics.json (``output/metrics.json``), read by hpcrun.sweep.results."""
    from hpcrun.sweep.results import read_metrics

    return read_metrics(folder, point, warn=result.notes.append)


# ------------------------------------------------------------------ 4. retries and reruns


def _reruns(store: Any, name: str, request: TickRequest, retries: int) -> None:
    from hpcrun.sweep.progress import retry_due

    state = store.read_sweep(name)
    wanted = set()
    for asked in request.rerun:
        matches = [p for p in state.points if p.point.startswith(asked) or p.label == asked]
        if len(matches) != 1:
            known = ", ".join(f"{p.point} ({p.label})" for p in state.points[:5])
            raise UsageError(
                f"--rerun {asked}: {'no' if not matches else 'more than one'} point matches",
                f"give a point id (or a unique prefix, or its label); e.g. {known}",
            )
        wanted.add(matches[0].point)
    for p in state.points:
        if not p.in_spec:
            continue
        if p.point in wanted or (request.rerun_failed and p.final and p.state != "completed"):
            if p.final:
                store.point_for_retry(name, p.point, automatic=False)
        elif retry_due(p, retries) and p.fetched:
            store.point_for_retry(name, p.point, automatic=True)


# ------------------------------------------------------------------ 5. submit


def _submit_due(
    store: Any, transport: Any, arrays: Any, prepared: Any, sweep_dir: str, site: Any,
    result: TickResult,
) -> None:  # fmt: skip
    from hpcrun.ops.backends import SchedulerUnavailable
    from hpcrun.ops.backends.slurm_array import BatchItem, SubmitLimited
    from hpcrun.store import ChunkRecord
    from hpcrun.transport.base import TransportError

    state = store.read_sweep(name := result.sweep)
    waiting = {c.chunk for c in state.chunks if c.state == "submitting"}
    due = [p for p in state.points if p.in_spec and not p.final and p.array_job_id is None
           and p.chunk not in waiting]  # fmt: skip
    if not due:
        return
    capacity = _max_array_size(store, transport, arrays, site)
    queue = _chunks(state, prepared, due, capacity)
    parallel = state.sweep.max_parallel or arrays.default_parallel()
    _write_chunks(transport, sweep_dir, prepared, queue)  # creates the sweep's folders too
    _upload(store, transport, prepared, sweep_dir, site)
    limited: str | None = None
    # max_parallel holds for the whole sweep, but an array's %N throttles only itself: with
    # max_parallel, each new array waits for the sweep's unfinished ones (afterany) where
    # the scheduler can chain arrays; where it cannot (the local runner), one array runs at
    # a time. Without max_parallel, Slurm runs the arrays side by side.
    chain = arrays.chains_arrays and state.sweep.max_parallel is not None
    earlier = _unfinished_arrays(state) if chain or not arrays.chains_arrays else []
    chunks_dir = f"{sweep_dir}/chunks"
    while queue:
        if earlier and not arrays.chains_arrays:
            result.notes.append(f"{sum(c.size for c, _ in queue)} point(s) wait for the "
                                "sweep's running array (max_parallel)")  # fmt: skip
            break
        # ALL due chunks go out in ONE remote command (a batch); each is recorded
        # 'submitting' BEFORE it, so a tick killed half way never submits one twice
        batch, queue = (queue, []) if arrays.chains_arrays else (queue[:1], queue[1:])
        store.chunks_submitting([
            ChunkRecord(name, chunk.id, chunk.job_name, "submitting",
                        tuple(p.id for p in chunk.points), attempt,
                        remote_dir=f"{chunks_dir}/{chunk.id}")
            for chunk, attempt in batch
        ])  # fmt: skip
        if limited is not None:
            for chunk, _attempt in batch:
                store.chunk_deferred(name, chunk.id, limited)
                result.deferred += chunk.size
            continue
        items = [BatchItem(chunk.id, chunk.sbatch_options(parallel)) for chunk, _ in batch]
        result.submit_commands += 1
        outcome = arrays.submit_batch(transport, chunks_dir, items, tuple(earlier), chain,
                                      prepared.plan)  # fmt: skip
        result.sbatch_calls += outcome.attempted
        if os.environ.get(KILL_AFTER_SBATCH_ENV) == "1":
            os.kill(os.getpid(), signal.SIGKILL)  # test-only: see KILL_AFTER_SBATCH_ENV
        queued = [(batch[index][0], job_id) for index, job_id in outcome.submitted]
        store.chunks_submitted(name, [(chunk.id, job_id) for chunk, job_id in queued])
        for chunk, job_id in queued:
            result.submitted.append((chunk.id, job_id, chunk.size))
            earlier.append(job_id)
        not_run = [batch[index] for index in outcome.not_run]
        if outcome.cut_short is not None:
            # the chunks it did not report may or may not be queued: they stay 'submitting'
            # and the next tick adopts their arrays by name, or frees their points
            _not_submitted(store, name, not_run, "the submit command ended early")
            result.notes.append(f"{outcome.cut_short.message}; the next tick checks whether "
                                "Slurm queued the rest")  # fmt: skip
            break
        if outcome.failed is None:
            _not_submitted(store, name, not_run, "its folder was abandoned")
            continue
        index, exc = outcome.failed
        chunk, attempt = batch[index]
        if isinstance(exc, (SchedulerUnavailable, TransportError)):
            # sbatch may or may not have queued it: the chunk stays 'submitting' and the
            # next tick adopts its array by name, or frees its points
            _not_submitted(store, name, not_run, "sbatch failed for an earlier chunk")
            result.notes.append(f"chunk {chunk.id}: {exc.message}; the next tick checks "
                                "whether Slurm queued it")  # fmt: skip
            break
        if isinstance(exc, SubmitLimited):
            # nothing of this array was queued (sbatch refused it whole) and the batch
            # stopped there: try halves, and once even one task is refused, leave the rest
            # to a later tick (one more submit command per halving)
            store.chunk_deferred(name, chunk.id, "a submit limit was reached")
            if chunk.size > 1:
                halves = _halves(state, chunk, attempt)
                _write_chunks(transport, sweep_dir, prepared, halves)
                queue = [*halves, *not_run, *queue]
            else:
                limited = f"submit limit reached ({exc.message})"
                result.deferred += chunk.size
                queue = [*not_run, *queue]
            continue
        store.chunk_deferred(name, chunk.id, f"sbatch refused it: {exc.message}")
        _not_submitted(store, name, not_run, "sbatch refused an earlier chunk")
        if "invalid job array specification" in exc.message.lower():
            store.set_site_fact(site.name, MAX_ARRAY_FACT, "")  # read it again next tick
            if site.restricted_commands and site.max_array_size is None:
                raise UsageError(
                    f"{exc.message} (an array of {chunk.size} tasks: more than this "
                    "cluster's MaxArraySize?)",
                    "with restricted_commands hpcrun cannot read MaxArraySize (scontrol); "
                    "set max_array_size in the site config (`hpcrun site check` with a "
                    "normal key shows it)",
                ) from exc
        raise exc
    if result.deferred:
        result.notes.append(f"{result.deferred} point(s) deferred to the next tick: the "
                            "cluster's per-user submit limit is reached")  # fmt: skip


def _not_submitted(store: Any, name: str, chunks: Sequence[Any], why: str) -> None:
    """Chunks the submit command certainly did not run sbatch for: free for a later tick."""
    for chunk, _attempt in chunks:
        store.chunk_deferred(name, chunk.id, f"not submitted: {why}")


def _unfinished_arrays(state: Any) -> list[str]:
    """Array job ids of the sweep that still have points not ended (in submit order)."""
    open_chunks = {p.chunk for p in state.points if not p.final and p.array_job_id}
    return [c.job_id for c in state.chunks
            if c.chunk in open_chunks and c.job_id and c.state == "submitted"]  # fmt: skip


def _chunks(state: Any, prepared: Any, due: Sequence[Any], capacity: int) -> list[Any]:
    """Due points in arrays of at most ``capacity``, one group per attempt number."""
    from hpcrun.sweep.chunks import split

    by_id = {p.id: p for p in prepared.points}
    groups: dict[int, list[Any]] = {}
    for p in due:
        groups.setdefault(p.attempt + 1, []).append(by_id[p.point])
    queue = []
    for attempt, points in sorted(groups.items()):
        for chunk in split(state.sweep.sweep, points, capacity):
            queue.append((_identified(state, chunk, attempt), attempt))
    return queue


def _identified(state: Any, chunk: Any, attempt: int) -> Any:
    """The chunk's identity hashes the sweep's name AND its record's creation time (a
    fresh HPCRUN_HOME never mistakes an old chunk folder on the cluster for its own), its
    points and their attempt (a retry is a new array with its own identity)."""
    from dataclasses import replace

    from hpcrun.sweep.chunks import chunk_id

    salt = f"{state.sweep.sweep}/{state.sweep.created_at}"
    return replace(chunk, id=chunk_id(salt, [f"{p.id}@{attempt}" for p in chunk.points]))


def _halves(state: Any, chunk: Any, attempt: int) -> list[Any]:
    from hpcrun.sweep.chunks import split

    size = (chunk.size + 1) // 2
    return [
        (_identified(state, c, attempt), attempt) for c in split(chunk.sweep, chunk.points, size)
    ]


def _max_array_size(store: Any, transport: Any, arrays: Any, site: Any) -> int:
    """The site's ``max_array_size`` if set; else read once per site from ``scontrol show
    config``, then from the store's cache (a restricted key: Slurm's default)."""
    if site.scheduler == "local" or site.restricted_commands or site.max_array_size:
        return site.max_array_size or arrays.max_array_size(transport)
    cached = store.site_fact(site.name, MAX_ARRAY_FACT)
    if cached and cached.isdigit():
        return int(cached)
    value = arrays.max_array_size(transport)
    store.set_site_fact(site.name, MAX_ARRAY_FACT, str(value))
    return value


def _upload(store: Any, transport: Any, prepared: Any, sweep_dir: str, site: Any) -> None:
    """Once per tick, only when submitting, after ``_write_chunks`` made the folders: the
    code (hard-linked against the project's previous upload to this site), and the
    login-node environment if asked."""
    from hpcrun.ignore import project_files

    root = prepared.job.target.project_root
    previous = store.latest_upload(str(root), site.name)
    link_dest = f"{previous.remote_dir}/code" if previous is not None else None
    transport.sync_up(root, project_files(root), f"{sweep_dir}/code", link_dest=link_dest)
    plan = prepared.plan
    if plan.env_key and site.env_build == "login":
        from hpcrun.ops import stage
        from hpcrun.ops.prepare import site_templates_dir
        from hpcrun.render import render_env_script

        script = render_env_script(plan, site_templates_dir(site, prepared.job.site_path))
        stage.build_env_on_login_node(transport, script, sweep_dir)


def _write_chunks(transport: Any, sweep_dir: str, prepared: Any, queue: Sequence[Any]) -> None:
    """The sweep's folders (mode 0700), and every chunk's folder with its array script
    and point table, in ONE round trip: a tar archive on stdin (tables of thousands of
    points exceed a command line), where the array script, the same for every chunk, is
    stored once and hard-linked into the other chunks' folders."""
    import base64
    import shlex

    from hpcrun.ops.backends.slurm_array import ARRAY_SCRIPT
    from hpcrun.sweep.table import TABLE_FILE, render_table
    from hpcrun.transport.base import Shell, ensure

    parameters = tuple(prepared.job.target.workflow.sweep.parameters)
    files = [
        (f"{chunk.id}/{file_name}", text, mode)
        for chunk, _attempt in queue
        for file_name, text, mode in (
            (ARRAY_SCRIPT, prepared.script, 0o700),
            (TABLE_FILE, render_table(parameters, chunk.points), 0o600),
        )
    ]
    if getattr(transport, "restricted", False):
        _write_chunks_with_rsync(transport, sweep_dir, files)
        return
    buffer = io.BytesIO()
    stored: dict[str, str] = {}  # text -> the archive path that holds it
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path, text, mode in files:
            info = tarfile.TarInfo(path)
            info.mode, info.mtime = mode, int(time.time())
            if path.endswith(f"/{ARRAY_SCRIPT}") and text in stored:
                info.type, info.linkname = tarfile.LNKTYPE, stored[text]
                archive.addfile(info)
                continue
            data = text.encode()
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            if path.endswith(f"/{ARRAY_SCRIPT}"):
                stored[text] = path
    quoted = shlex.quote(sweep_dir)
    chunks_dir = shlex.quote(f"{sweep_dir}/chunks")
    code = (f"umask 077 && mkdir -p {quoted}/code {chunks_dir} {quoted}/points && "
            f"chmod 700 {quoted} && base64 -d | tar -x -C {chunks_dir} -f -")  # fmt: skip
    payload = base64.b64encode(buffer.getvalue()).decode()
    ensure(transport.run(Shell(code), input=payload), "writing the chunks' point tables")


def _write_chunks_with_rsync(
    transport: Any, sweep_dir: str, files: Sequence[tuple[str, str, int]]
) -> None:
    """A restricted key runs no shell: the chunk folders are written locally, then ONE
    rsync sends them all."""
    import tempfile

    from hpcrun.transport.base import ensure

    folders = [sweep_dir.rpartition("/")[0], sweep_dir,
               *(f"{sweep_dir}/{sub}" for sub in ("code", "chunks", "points"))]  # fmt: skip
    ensure(transport.run(["mkdir", "-p", "-m", "700", *folders]), f"creating {sweep_dir}")
    with tempfile.TemporaryDirectory(prefix="hpcrun-chunks-") as tmp:
        for path, text, mode in files:
            local = Path(tmp, path)
            local.parent.mkdir(mode=0o700, exist_ok=True)
            local.write_text(text, encoding="utf-8")
            local.chmod(mode)
        transport.sync_up(Path(tmp), [path for path, _, _ in files], f"{sweep_dir}/chunks")
