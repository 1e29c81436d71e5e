"""Submit a workflow: prepare, record the run, stage it, submit it once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hpcrun.errors import ConnectionLostError, HpcrunError, QueuedNotRecordedError
from hpcrun.locks import holding
from hpcrun.ops.backends import SchedulerUnavailable
from hpcrun.ops.prepare import PreparedJob, build_job, load_target, site_templates_dir
from hpcrun.ops.session import Session
from hpcrun.spec.overrides import Overrides
from hpcrun.transport.base import TransportError


@dataclass(frozen=True)
class SubmitRequest:
    target: Path | None  # workflows file, project folder or zip; None: the default file
    workflow: str | None  # None: target is a project folder or zip
    site: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    overrides: Overrides = field(default_factory=Overrides)
    inputs: Path | None = None
    request_key: str | None = None  # a second request with the same key submits nothing


@dataclass(frozen=True)
class Submitted:
    record: Any
    prepared: PreparedJob
    bytes_sent: int
    upstream: tuple[Any, ...] = ()
    reused: bool = False  # the request key was seen before: nothing new was submitted


def dry_run(session: Session, request: SubmitRequest) -> PreparedJob:
    """What ``submit`` would send, without connecting or recording anything."""
    target = load_target(request.target, request.workflow, request.variables, request.overrides)
    site, site_path = session.site(request.site)
    return build_job(
        target, site, site_path, run=f"{target.workflow.name}-dryrun", overrides=request.overrides
    )


def submit(session: Session, request: SubmitRequest, chain: Sequence[str] = ()) -> Submitted:
    from hpcrun.ops import stage
    from hpcrun.ops.capacity import with_capacity_warnings
    from hpcrun.ops.deps import find_upstream
    from hpcrun.site.snapshot import site_snapshot
    from hpcrun.store import RunRecord

    store = session.store
    if request.request_key:
        existing = store.find_by_request_key(request.request_key)
        if existing is not None:
            return Submitted(existing, dry_run(session, request), 0, reused=True)
    target = load_target(request.target, request.workflow, request.variables, request.overrides)
    site, site_path = session.site(request.site)
    prepared = build_job(
        target, site, site_path, run=store.unique_run_name(target.workflow.name),
        overrides=request.overrides,
    )  # fmt: skip
    plan = prepared.plan

    def submit_dependency(workflow: str) -> Any:
        dependency = replace(request, workflow=workflow, overrides=Overrides(), request_key=None)
        return submit(session, dependency, (*chain, target.workflow.name)).record

    if target.workflow.deps and getattr(site, "restricted_commands", False):
        from hpcrun.transport.restricted import NotAvailableRestricted

        raise NotAvailableRestricted("deps (linking an upstream run's artifacts on the cluster)")
    _refresh_upstream_candidates(session, target.workflow, site)
    upstream = find_upstream(store, target, site, submit_dependency, chain)
    transport = session.transport(site)
    prepared = with_capacity_warnings(prepared, transport)  # one sinfo on a Slurm site
    run_dir = stage.run_dir_for(transport, plan)
    previous = store.latest_upload(str(target.project_root), site.name)
    if previous is not None and not _same_login(session, previous, site):
        previous = None  # another config of the same name: maybe another machine
    # Held until the job id is recorded: a concurrent `ps` must not take this run for one
    # whose submitter died.
    with holding(f"submit-{plan.run}"):
        record = store.create_run(
            RunRecord(
                run=plan.run,
                workflow=plan.workflow,
                site=site.name,
                site_config=str(site_path.resolve()),
                site_snapshot=site_snapshot(site),
                remote_dir=run_dir,
                workflows_file=str(target.workflows_file) if target.workflows_file else None,
                project_root=str(target.project_root),
                request_key=request.request_key,
                depends_on=tuple(u.record.run for u in upstream),
                working_dir=plan.working_dir,
                artifacts=plan.artifacts,
                **_history(request, target.project_root, plan.env_key),
            )
        )
        submitting = False
        try:
            sent = _stage(
                transport, request, prepared, run_dir, upstream, previous,
                session.upload_feedback,
            )  # fmt: skip
            submitting = True
            after = [(u.record.job_id, u.record.remote_dir) for u in upstream if u.chained]
            job_id = session.backend(site).submit(transport, run_dir, plan, after)
        except HpcrunError as exc:
            if submitting and isinstance(exc, (TransportError, SchedulerUnavailable)):
                # sbatch may or may not have queued it: the run stays in doubt until the
                # run folder's .jobid or Slurm (by the job's name) tells (ops.in_doubt)
                reason = f"in doubt: {exc.message}; hpcrun will adopt it if Slurm queues it"
                store.update_state(record.run, "submitting", reason=reason)
                raise ConnectionLostError(
                    f"{exc.message}; {record.run} may or may not have been queued",
                    f"`hpcrun ps` adopts its job if Slurm has it (then `hpcrun logs "
                    f"{record.run} -f`), or closes it once Slurm confirms nothing was queued",
                ) from exc
            store.update_state(record.run, "failed", reason=exc.message, final=True)
            if not submitting:  # sbatch never ran: nothing may stay behind on the cluster
                from hpcrun.ops.cleanup import remove_run_dir

                left = remove_run_dir(transport, site, record.run, run_dir)
                if left:
                    store.update_state(record.run, "failed", reason=f"{exc.message} ({left})",
                                       final=True)  # fmt: skip
            raise
        try:
            record = store.set_submitted(record.run, job_id)
        except (HpcrunError, OSError) as exc:
            # The job is queued: say so with its name and id. The row stays 'submitting'
            # and the run folder has its .jobid, so a later `ps` adopts it.
            raise QueuedNotRecordedError(record.run, job_id, exc) from exc
    return Submitted(record, prepared, sent, tuple(upstream))


def _history(request: SubmitRequest, project_root: Path, env_key: str | None) -> dict[str, Any]:
    """The RunRecord fields `hpcrun show` and `hpcrun rerun` need (ops.history)."""
    from hpcrun.ignore import project_files
    from hpcrun.ops.history import code_hash, git_state, overrides_json, variables_json

    commit, dirty = git_state(project_root)
    path = str(request.target.resolve()) if request.target is not None else None
    return {
        "target": json.dumps({"path": path, "workflow": request.workflow}),
        "overrides": overrides_json(request.overrides),
        "variables": variables_json(request.variables),
        "env_key": env_key,
        "code_hash": code_hash(project_root, project_files(project_root)),
        "git_commit": commit,
        "git_dirty": dirty,
    }


def _same_login(session: Session, previous: Any, site: Any) -> bool:
    """Whether an earlier run's config reaches the same machine (compared by its recorded
    login, not by the YAML's path: the file may have moved, or been edited)."""
    from hpcrun.ops.session import transport_key

    try:
        before = session.site_of(previous)
    except HpcrunError:
        return False  # its config is gone: do not guess
    return (before.scheduler, transport_key(before)) == (site.scheduler, transport_key(site))


def _refresh_upstream_candidates(session: Session, workflow: Any, site: Any) -> None:
    """Dependencies are chosen from recorded states: bring those up to date first, so a run
    that ended (or still runs) unwatched is reused instead of submitted again."""
    from hpcrun.ops.track import refresh

    if workflow.deps:  # one poll for the whole site: tagged runs may be any workflow's
        refresh(session, session.store.unfinished(site.name))


def _stage(
    transport: Any,
    request: SubmitRequest,
    prepared: PreparedJob,
    run_dir: str,
    upstream: Sequence[Any],
    previous: Any,
    feedback: Any = None,
) -> int:
    """Everything on the cluster before sbatch; returns the bytes uploaded. ``feedback``:
    see ``ops.upload_feedback``."""
    from hpcrun.ops import stage

    plan, site = prepared.plan, prepared.site
    stage.make_run_dir(transport, run_dir)
    sent = stage.upload_code(
        transport, prepared.target.project_root, run_dir,
        previous.remote_dir if previous else None, feedback,
    )  # fmt: skip
    if request.inputs is not None:
        sent += stage.upload_inputs(transport, request.inputs, run_dir, feedback)
    for up in upstream:
        stage.link_dependency(transport, run_dir, plan.working_dir, up)
    if plan.env_key and site.env_build == "login":
        from hpcrun.render import render_env_script

        env_script = render_env_script(plan, site_templates_dir(site, prepared.site_path))
        stage.build_env_on_login_node(transport, env_script, run_dir)
    stage.write_job_script(transport, prepared.script, run_dir)
    return sent
