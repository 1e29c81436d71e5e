"""From (workflows file, workflow name, site) to a resolved plan and its rendered script."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcrun.plan import JobPlan


@dataclass(frozen=True)
class PreparedJob:
    plan: JobPlan
    script: str
    workflow: Any
    site: Any
    site_path: Path
    workflows_file: Path
    project_root: Path

    @property
    def warnings(self) -> tuple[str, ...]:
        return self.plan.warnings


def resolve_workflows_file(file: Path | None, cwd: Path | None = None) -> Path:
    from hpcrun.spec.load import find_workflows_file

    return file if file is not None else find_workflows_file(cwd or Path.cwd())


def site_templates_dir(site: Any, site_path: Path) -> Path | None:
    if not site.templates:
        return None
    return (site_path.parent / Path(site.templates).expanduser()).resolve()


def prepare(
    file: Path | None,
    workflow_name: str,
    *,
    site: str | None = None,
    variables: Mapping[str, str] | None = None,
    run: str | None = None,
    submit_env: Mapping[str, str] | None = None,
) -> PreparedJob:
    from hpcrun.render import render_job_script
    from hpcrun.site.load import load_site
    from hpcrun.site.resolve import resolve
    from hpcrun.spec.load import load_workflows

    path = resolve_workflows_file(file)
    loaded = load_workflows(path, variables or {})
    workflow = loaded.get(workflow_name)
    site_model, site_path = load_site(site)
    work_dir = loaded.project_root / (workflow.working_dir or "")
    _check_exists(loaded, workflow, "file", work_dir)
    requirements_text = _check_exists(loaded, workflow, "requirements", work_dir)
    plan = resolve(
        workflow,
        site_model,
        run=run or f"{workflow.name}-dryrun",
        requirements_text=requirements_text,
        submit_env=os.environ if submit_env is None else submit_env,
    )
    script = render_job_script(plan, site_templates_dir(site_model, site_path))
    return PreparedJob(plan, script, workflow, site_model, site_path, path, loaded.project_root)


def _check_exists(loaded: Any, workflow: Any, field: str, work_dir: Path) -> str | None:
    """The file a workflow field names must exist before anything is rendered or sent."""
    relative = getattr(workflow, field, None)
    if relative is None:
        return None
    target = work_dir / relative
    if not target.is_file():
        raise loaded.problem(
            workflow.name,
            field,
            f"'{relative}' does not exist (looked in {work_dir})",
            "paths are relative to the project root (the folder holding .dstack/) "
            "and the workflow's working_dir",
        )
    return target.read_text(encoding="utf-8", errors="replace") if field == "requirements" else None
