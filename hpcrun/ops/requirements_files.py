"""A workflow's requirements file, read from the project for ``hpcrun.requirements``."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Any

from hpcrun.requirements import Kind, Requirements, RequirementsError, parse
from hpcrun.safepaths import UnsafePathError, join_local


class ProjectFolder:
    """The project on this machine; a path (or a symlink on it) leading out is refused."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def read(self, path: str) -> str:
        return join_local(self.root, path, what="requirements").read_text(
            encoding="utf-8", errors="replace"
        )

    def kind(self, path: str) -> Kind | None:
        found = join_local(self.root, path, what="requirements")
        return "dir" if found.is_dir() else "file" if found.is_file() else None


def read_requirements(target: Any, work_dir: Path) -> Requirements | None:
    """The workflow's requirements, normalised (None when it names none). Problems are
    reported at the workflow's ``requirements`` field, naming the requirements file:line."""
    workflow = target.workflow
    if workflow.requirements is None:
        return None
    root = target.project_root.resolve()
    working_dir = work_dir.resolve().relative_to(root).as_posix() or "."
    try:
        return parse(posixpath.join(working_dir, workflow.requirements), working_dir,
                     ProjectFolder(root))  # fmt: skip
    except (RequirementsError, UnsafePathError) as exc:  # UnsafePath: a symlink leads out
        if target.loaded is not None:
            raise target.loaded.problem(
                workflow.name, "requirements", exc.message, exc.hint
            ) from None
        raise
