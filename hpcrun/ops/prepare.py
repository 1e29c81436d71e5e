"""From what the user names (a workflows file and workflow, or a project folder/zip) and a
site, to a resolved plan and its rendered script. No connection is made here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from hpcrun.errors import UsageError
from hpcrun.plan import JobPlan
from hpcrun.spec.overrides import Overrides, apply_overrides

_NO_OVERRIDES = Overrides()  # frozen: one shared instance, not a new one per job


@dataclass(frozen=True)
class Target:
    """The workflow to run and the folder its paths are relative to."""

    workflow: Any
    project_root: Path
    workflows_file: Path | None = None
    loaded: Any = None  # the WorkflowFile, for dependencies and located errors
    # A project folder or a bare file: no 'version:' was written, the site's default
    # Python applies unless --python is given.
    site_python: bool = False
    # Command-line values the target already holds (see hpcrun.bare_file): not re-applied.
    consumed: tuple[str, ...] = ()


@dataclass(frozen=True)
class PreparedJob:
    plan: JobPlan
    script: str
    target: Target
    site: Any
    site_path: Path

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.plan.warnings

    @property
    def workflow(self) -> Any:
        return self.target.workflow


def resolve_workflows_file(file: Path | None, cwd: Path | None = None) -> Path:
    from hpcrun.spec.load import find_workflows_file

    return file if file is not None else find_workflows_file(cwd or Path.cwd())


def load_target(
    path: Path | None,
    workflow_name: str | None,
    variables: Mapping[str, str] | None = None,
    overrides: Overrides | None = None,
) -> Target:
    """``path`` is a workflows file (default: found in the current folder), or a project
    folder, zip or Python file when no workflow name is given."""
    if workflow_name is None:
        # only here: project.py brings zipfile and hashlib, which `render` of a file never needs
        from hpcrun.project import is_project_path, load_project, project_workflow

        if path is None or not (is_project_path(path) or path.is_file()):
            raise UsageError(
                "name the workflow to run",
                "hpcrun submit [FILE] WORKFLOW, or hpcrun submit FOLDER, PROJECT.zip or FILE.py",
            )
        from hpcrun.spec.models import PythonWorkflow

        if not is_project_path(path):  # a bare file: dstack's `run python FILE`
            return _bare_file_target(path, overrides or Overrides())
        project = load_project(path)
        workflow = PythonWorkflow.model_validate(project_workflow(project))
        return Target(workflow, project.root, site_python=True)
    from hpcrun.spec.load import load_workflows

    file = resolve_workflows_file(path)
    loaded = load_workflows(file, variables or {})
    return Target(loaded.get(workflow_name), loaded.project_root, file, loaded)


def _bare_file_target(path: Path, overrides: Overrides) -> Target:
    from pydantic import ValidationError

    from hpcrun.bare_file import load_bare_file
    from hpcrun.spec.models import PythonWorkflow

    bare = load_bare_file(path, Path.cwd(), requirements=overrides.requirements,
                          working_dir=overrides.working_dir)  # fmt: skip
    try:
        workflow = PythonWorkflow.model_validate(bare.data)
    except ValidationError as exc:  # paths were checked already; this is a safety net
        problems = "; ".join(str(e["msg"]) for e in exc.errors(include_url=False))
        raise UsageError(f"{path}: {problems}") from None
    return Target(workflow, bare.root, site_python=True, consumed=bare.consumed)


def site_templates_dir(site: Any, site_path: Path) -> Path | None:
    if not site.templates:
        return None
    return (site_path.parent / Path(site.templates).expanduser()).resolve()


def build_job(
    target: Target,
    site: Any,
    site_path: Path,
    *,
    run: str,
    overrides: Overrides | None = None,
    submit_env: Mapping[str, str] | None = None,
    sweep_ok: bool = False,
    render: bool = True,
) -> PreparedJob:
    """``sweep_ok``: the caller (``ops.sweep_render``) renders a sweep's array script from
    this plan; anyone else would run a sweep's ${{ parameter }} placeholders as text.
    ``render=False``: the plan only (``script`` is empty), for that same caller."""
    from hpcrun.ops.requirements_files import read_requirements
    from hpcrun.render import render_job_script
    from hpcrun.site.resolve import resolve

    if getattr(target.workflow, "sweep", None) is not None and not sweep_ok:
        raise UsageError(
            f"workflow '{target.workflow.name}' is a parameter sweep: it runs as a job array, "
            "not as one job",
            f"'hpcrun render {target.workflow.name}' shows its array script and point table; "
            f"'hpcrun sweep {target.workflow.name}' runs it as job arrays, one cron tick at a time",
        )
    overrides = overrides or _NO_OVERRIDES
    if target.consumed:
        overrides = replace(overrides, **dict.fromkeys(target.consumed))
    if target.site_python and overrides.version is None:
        overrides = replace(overrides, version=site.default_python())
    workflow = apply_overrides(target.workflow, overrides)
    if workflow is not target.workflow:
        target = replace(target, workflow=workflow)
    # the project root resolved ONCE for all of this job's path checks (each path is still
    # resolved, symlinks and all, and refused if it leads out of the root)
    root = real_root(target.project_root)
    work_dir = working_folder(target, root)
    check_exists(target, "file", work_dir, root)
    check_exists(target, "requirements", work_dir, root)
    requirements = read_requirements(target, work_dir)
    plan = resolve(
        workflow,
        site,
        run=run,
        requirements=requirements,
        rebuild_env=bool(overrides and overrides.rebuild_env),
        submit_env=os.environ if submit_env is None else submit_env,
    )
    script = render_job_script(plan, site_templates_dir(site, site_path)) if render else ""
    return PreparedJob(plan, script, target, site, site_path)


def prepare(
    file: Path | None,
    workflow_name: str,
    *,
    site: str | None = None,
    variables: Mapping[str, str] | None = None,
    run: str | None = None,
    submit_env: Mapping[str, str] | None = None,
    overrides: Overrides | None = None,
) -> PreparedJob:
    """Render one workflow of a workflows file (``hpcrun render``); ``overrides``: its
    command-line flags (--time, --partition...)."""
    from hpcrun.site.load import load_site

    target = load_target(resolve_workflows_file(file), workflow_name, variables)
    site_model, site_path = load_site(site)
    return build_job(
        target, site_model, site_path, run=run or f"{target.workflow.name}-dryrun",
        overrides=overrides, submit_env=submit_env,
    )  # fmt: skip


def working_folder(target: Target, root: Path | None = None) -> Path:
    """The workflow's working_dir inside the project (checked: it may not lead outside,
    through '..' or a symlink), resolved. ``root``: the project root, already resolved."""
    from hpcrun.safepaths import UnsafePathError, join_local

    working_dir = target.workflow.working_dir
    try:
        return join_local(root or target.project_root, working_dir, what="working_dir",
                          base_resolved=root is not None)  # fmt: skip
    except UnsafePathError as exc:
        if target.loaded is not None:
            raise target.loaded.problem(
                target.workflow.name, "working_dir", exc.message, exc.hint
            ) from None
        raise


def check_exists(
    target: Target, field: str, work_dir: Path, root: Path | None = None
) -> str | None:
    """The file a workflow field names must exist, inside the project, before anything is
    rendered or sent (a symlink out of the project is refused, not read). ``work_dir``: as
    ``working_folder`` returns it; ``root``: the project root, already resolved."""
    from hpcrun.safepaths import UnsafePathError, join_local

    workflow = target.workflow
    relative = getattr(workflow, field, None)
    if relative is None:
        return None
    try:
        resolved = root or target.project_root.resolve()
        path = join_local(resolved, _under(work_dir, resolved, relative), what=field,
                          base_resolved=True)  # fmt: skip
    except UnsafePathError as exc:
        if target.loaded is not None:
            raise target.loaded.problem(workflow.name, field, exc.message, exc.hint) from None
        raise
    if not os.path.isfile(path):
        message = f"'{relative}' does not exist (looked in {work_dir})"
        hint = (
            "paths are relative to the project root (the folder holding .dstack/) "
            "and the workflow's working_dir"
        )
        if target.loaded is not None:
            raise target.loaded.problem(workflow.name, field, message, hint)
        raise UsageError(f"{field}: {message}", hint)
    return path.read_text(encoding="utf-8", errors="replace") if field == "requirements" else None


def _under(work_dir: Path, root: Path, relative: str) -> str:
    """``relative`` (from the working folder) as a path relative to the project root (both
    resolved: ``work_dir`` as ``working_folder`` returns it, else it is resolved here)."""
    folder, top = os.fspath(work_dir), os.fspath(root)
    if folder == top:
        return relative
    if not folder.startswith(os.path.join(top, "")):
        folder = os.path.realpath(folder)
    inside = os.path.relpath(folder, top)
    if inside == ".." or inside.startswith("../"):  # as Path.relative_to refused it
        raise ValueError(f"{folder!r} is not inside {top!r}")
    return relative if inside == "." else PurePosixPath(inside, relative).as_posix()


def real_root(project_root: Path) -> Path:
    """The project root's real path (symlinks resolved), once per process: every job of a
    sweep or a batch shares it, and each path checked against it is still resolved anew.
    (A relative root depends on the working folder: resolved each time.)"""
    if not os.path.isabs(project_root):
        return Path(os.path.realpath(project_root))
    return _real_absolute_root(os.fspath(project_root))


@lru_cache(maxsize=64)
def _real_absolute_root(project_root: str) -> Path:
    return Path(os.path.realpath(project_root))
