"""Validate a whole workflows file: every workflow, every problem, nothing stops early."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hpcrun.errors import HpcrunError, Problem


@dataclass
class ValidationReport:
    path: Path
    valid: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def validate_file(
    file: Path | None, *, site: str | None = None, variables: Mapping[str, str] | None = None
) -> ValidationReport:
    from hpcrun.ops.prepare import resolve_workflows_file
    from hpcrun.spec.load import load_workflows

    path = resolve_workflows_file(file)
    loaded = load_workflows(path, variables or {})
    report = ValidationReport(path, problems=loaded.all_problems())
    if loaded.file_problems:
        return report
    site_model = None
    if site is not None:
        from hpcrun.site.load import load_site

        site_model, _ = load_site(site)
    for name in loaded.names:
        if name not in loaded.workflows:
            continue
        missing = _missing_files(loaded, name)
        report.problems.extend(missing)
        if site_model is not None:
            from hpcrun.site.resolve import resolve

            try:
                resolve(
                    loaded.workflows[name], site_model, run=f"{name}-check", submit_env=os.environ
                )
            except HpcrunError as exc:
                where = loaded.source.locate(("workflows", loaded.indices[name]))
                report.problems.append(Problem(where, f"workflows[{name}]", exc.message, exc.hint))
                continue
        if not missing:
            report.valid.append(name)
    return report


def _missing_files(loaded: Any, name: str) -> list[Problem]:
    """The files a workflow names (file, requirements) must exist, as render would find."""
    from hpcrun.errors import SpecError
    from hpcrun.ops.prepare import Target, check_exists

    workflow = loaded.workflows[name]
    target = Target(workflow, loaded.project_root, loaded.path, loaded)
    work_dir = target.project_root / (workflow.working_dir or "")
    problems: list[Problem] = []
    for field_name in ("file", "requirements"):
        try:
            check_exists(target, field_name, work_dir)
        except SpecError as exc:
            problems.extend(exc.problems)
    return problems
