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
    warnings: list[Problem] = field(default_factory=list)  # e.g. an unused sweep parameter


def validate_file(
    file: Path | None, *, site: str | None = None, variables: Mapping[str, str] | None = None
) -> ValidationReport:
    from hpcrun.ops.prepare import resolve_workflows_file
    from hpcrun.spec.load import load_workflows

    path = resolve_workflows_file(file)
    loaded = load_workflows(path, variables or {})
    report = ValidationReport(path, problems=loaded.all_problems())
    report.warnings = [w for name in loaded.names for w in loaded.warnings.get(name, ())]
    if loaded.file_problems:
        return report
    site_model = None
    if site is not None:
        from hpcrun.site.load import load_site

        site_model, _ = load_site(site)
    deps = _DependencyCheck(loaded, site, site_model)
    for name in loaded.names:
        if name not in loaded.workflows or name in loaded.duplicates:
            continue
        missing = _missing_files(loaded, name) + deps.problems(name)
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
    deps.close()
    return report


class _DependencyCheck:
    """The dependency checks ``submit`` makes before submitting anything (ops.deps), with
    recorded runs read from the local database when there is one. Without --site, runs are
    looked up at the site ``submit`` would use by default."""

    def __init__(self, loaded: Any, site: str | None, site_model: Any) -> None:
        self.loaded, self.site, self.site_model = loaded, site, site_model
        self._store: Any = None
        self._opened = False

    def _site_name(self) -> str:
        if self.site_model is None:
            from hpcrun.site.load import load_site

            self.site_model, _ = load_site(self.site)
        return str(self.site_model.name)

    def _store_or_none(self) -> Any:
        """The database only if it exists: validate never creates hpcrun's state."""
        if not self._opened:
            from hpcrun.paths import hpcrun_home

            self._opened = True
            if (hpcrun_home() / "hpcrun.db").is_file():
                from hpcrun.store import default_store

                self._store = default_store()
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def problems(self, name: str) -> list[Problem]:
        from hpcrun.ops.deps import dependency_errors, needs_record

        workflow = self.loaded.workflows[name]
        if not workflow.deps:
            return []
        # the site (where runs are looked up) is loaded only when a dep needs a recorded run
        lookup = any(needs_record(self.loaded, dep) for dep in workflow.deps)
        store = self._store_or_none() if lookup else None
        errors = dependency_errors(self.loaded, name, store, self._site_name() if lookup else "")
        where = self.loaded.source.locate(("workflows", self.loaded.indices[name], "deps"))
        return [Problem(where, f"workflows[{name}].deps", e.message, e.hint) for e in errors]


def _missing_files(loaded: Any, name: str) -> list[Problem]:
    """The files a workflow names (file, requirements) must exist, as render would find."""
    from hpcrun.errors import SpecError
    from hpcrun.ops.prepare import Target, check_exists, working_folder

    workflow = loaded.workflows[name]
    target = Target(workflow, loaded.project_root, loaded.path, loaded)
    if workflow.sweep is not None:  # a working_dir with parameters: checked for every point
        from hpcrun.ops.sweep_render import first_point_target

        try:
            target = first_point_target(target)
        except SpecError as exc:
            return list(exc.problems)
    try:
        work_dir = working_folder(target)
    except SpecError as exc:  # a working_dir leading out: reported, the rest goes on
        return list(exc.problems)
    problems: list[Problem] = []
    for field_name in ("file", "requirements"):
        try:
            check_exists(target, field_name, work_dir)
        except SpecError as exc:
            problems.extend(exc.problems)
    if not problems:  # the requirements file itself: includes, local paths (as submit reads it)
        from hpcrun.ops.requirements_files import read_requirements

        try:
            read_requirements(target, work_dir)
        except SpecError as exc:
            problems.extend(exc.problems)
    return problems
