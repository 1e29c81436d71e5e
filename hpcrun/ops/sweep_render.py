"""A sweep, rendered: the ONE job array script and the point table (no connection).

The plan is resolved once from the workflow, whose args/environment/working_dir still
hold ``${{name}}`` placeholders for the parameters; the template turns each into
``"$HPCRUN_PARAM_NAME"``, which the script sets from the point table. Files the workflow
names (``file``, ``requirements``) are checked in the first point's working folder, and
every point's working_dir is checked to stay inside the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath
from typing import Any

from hpcrun.ops.prepare import PreparedJob, Target, build_job, load_target, resolve_workflows_file
from hpcrun.spec.overrides import Overrides


@dataclass(frozen=True)
class PreparedSweep:
    job: PreparedJob  # its plan; its script is the array script
    name: str  # HPCRUN_SWEEP, and the chunks' names are derived from it
    points: tuple[Any, ...]  # hpcrun.sweep.points.Point, in table order
    table: str  # the point table of all points (array task i = points[i])
    extra_warnings: tuple[str, ...] = ()

    @property
    def plan(self) -> Any:
        return self.job.plan

    @property
    def script(self) -> str:
        return self.job.script

    @property
    def warnings(self) -> tuple[str, ...]:
        return (*self.extra_warnings, *self.job.warnings)


def is_sweep(target: Target) -> bool:
    return getattr(target.workflow, "sweep", None) is not None


def build_sweep(
    target: Target,
    site: Any,
    site_path: Path,
    *,
    name: str | None = None,
    overrides: Overrides | None = None,
    submit_env: Mapping[str, str] | None = None,
) -> PreparedSweep:
    """Points, table and array script of ``target`` (a workflow with ``sweep:``).
    ``name``: the sweep's name (default: the workflow's)."""
    from hpcrun.ops.prepare import site_templates_dir
    from hpcrun.render import render_sweep_script
    from hpcrun.sweep.points import expand
    from hpcrun.sweep.table import SweepScript, render_table

    workflow = target.workflow
    sweep = workflow.sweep
    points = expand(workflow.name, sweep)
    if not points:  # the loader refuses this; a Target built by hand may not have been
        from hpcrun.errors import UsageError

        raise UsageError(f"sweep '{workflow.name}' has no points")
    first_dir = _check_working_dirs(target, points)
    checked = _with_working_dir(target, first_dir)
    # the plan only: a sweep's script is the array script below, never the job script
    job = build_job(checked, site, site_path, run=name or workflow.name, overrides=overrides,
                    submit_env=submit_env, sweep_ok=True, render=False)  # fmt: skip
    plan = job.plan
    if first_dir != workflow.working_dir:  # per point: the template fills in the parameters
        plan = replace(plan, working_dir=str(PurePosixPath(workflow.working_dir)))
    context = SweepScript(name or workflow.name, tuple(sweep.parameters))
    script = render_sweep_script(plan, context, site_templates_dir(site, site_path))
    table = render_table(context.parameters, points)
    warnings = tuple(p.render() for p in _load_warnings(target)) + _unfetched_artifacts(plan)
    return PreparedSweep(replace(job, plan=plan, script=script), context.name, tuple(points),
                         table, warnings)  # fmt: skip


def prepare_target(
    file: Path | None,
    workflow_name: str,
    *,
    site: str | None = None,
    variables: Mapping[str, str] | None = None,
    overrides: Overrides | None = None,
) -> PreparedJob | PreparedSweep:
    """``hpcrun render``: a plain workflow as ``ops.prepare.prepare`` renders it, a sweep
    as its array script and point table."""
    from hpcrun.site.load import load_site

    target = load_target(resolve_workflows_file(file), workflow_name, variables)
    site_model, site_path = load_site(site)
    if is_sweep(target):
        return build_sweep(target, site_model, site_path, overrides=overrides)
    return build_job(target, site_model, site_path, run=f"{target.workflow.name}-dryrun",
                     overrides=overrides)  # fmt: skip


def first_point_target(target: Target) -> Target:
    """``target`` with its working_dir as the first point has it, after checking every
    point's (``hpcrun validate`` checks the files a sweep names this way)."""
    from hpcrun.sweep.points import expand

    points = expand(target.workflow.name, target.workflow.sweep)
    if not points:
        return target
    return _with_working_dir(target, _check_working_dirs(target, points))


def _with_working_dir(target: Target, working_dir: str | None) -> Target:
    return replace(target, workflow=target.workflow.model_copy(update={"working_dir": working_dir}))


def _unfetched_artifacts(plan: Any) -> tuple[str, ...]:
    """A sweep fetches each point's OUTPUT_FOLDER only: its workflow's ``artifacts:`` live in
    the ``code/`` folder all points share (they would overwrite each other's files), so
    declared ones are named in a warning (with every render and tick) rather than dropped
    without a word."""
    if not plan.artifacts:
        return ()
    return (f"sweep '{plan.workflow}': its artifacts ({', '.join(plan.artifacts)}) are not "
            "fetched: a sweep brings back each point's $OUTPUT_FOLDER only (points share one "
            "code folder); write them under $OUTPUT_FOLDER",)  # fmt: skip


def _load_warnings(target: Target) -> list[Any]:
    loaded = target.loaded
    return list(loaded.warnings.get(target.workflow.name, ())) if loaded is not None else []


def _check_working_dirs(target: Target, points: list[Any]) -> str | None:
    """Every point's working_dir is a relative path inside the project where ``file``
    exists; returns the first point's. Each distinct value is checked once."""
    from hpcrun.ops.prepare import check_exists, working_folder
    from hpcrun.safepaths import relative_problem
    from hpcrun.spec.sweep import fill, references

    workflow = target.workflow
    template = workflow.working_dir
    if template is None or not any(references(template)):
        return template
    parameters = tuple(workflow.sweep.parameters)
    checked: dict[str, str] = {}
    for point in points:
        value = fill(template, point.params, parameters)
        if value in checked:
            continue
        checked[value] = point.label
        problem = relative_problem(value, "working_dir")
        if problem:
            raise _point_problem(target, point, problem)
        point_target = _with_working_dir(target, value)
        try:
            folder = working_folder(point_target)
            for field in ("file", "requirements"):
                check_exists(point_target, field, folder)
        except Exception as exc:
            from hpcrun.errors import HpcrunError

            if not isinstance(exc, HpcrunError):
                raise
            raise _point_problem(target, point, *_message_of(exc)) from None
    return fill(template, points[0].params, parameters)


def _message_of(exc: Any) -> tuple[str, str | None]:
    problems = getattr(exc, "problems", None)
    return (problems[0].message, problems[0].hint) if problems else (exc.message, exc.hint)


def _point_problem(target: Target, point: Any, message: str, hint: str | None = None) -> Exception:
    from hpcrun.errors import UsageError

    text = f"point {point.label} ({point.id}): {message}"
    hint = hint or "every point's working_dir must be a relative folder inside the project"
    if target.loaded is not None:
        return target.loaded.problem(target.workflow.name, "working_dir", text, hint)
    return UsageError(text, hint)
