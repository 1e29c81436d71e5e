"""dstack's ``run python FILE``: a Python file run without a workflows file.

The project (the folder uploaded with the run) is the current folder, or the nearest folder
up from it that holds ``.dstack/`` or ``.git`` when the file lies inside that folder. Paths
typed on the command line (FILE, ``-r``) are relative to the current folder, like any shell
path; the workflow built here holds them relative to its working folder (the project root,
or ``--working-dir``), checked to stay inside it.

Standard library only: it is used on the CLI's light paths as well as by ``ops.prepare``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hpcrun.errors import UsageError
from hpcrun.safepaths import NAME_MAX, UnsafePathError, check_relative, join_local

REQUIREMENTS = "requirements.txt"
# .git may be a file (a worktree or a submodule), .dstack is dstack's project folder
MARKERS = (".dstack", ".git")


@dataclass(frozen=True)
class BareFile:
    root: Path  # the project root: uploaded whole
    data: dict[str, Any]  # the workflow, as raw spec data
    # Command-line values already folded into ``data`` (re-applying them as overrides would
    # read the cwd-relative path a second time, relative to the wrong folder).
    consumed: tuple[str, ...]


def project_root_for(file: Path, cwd: Path) -> Path:
    """``cwd``, or the nearest folder up from it holding .dstack/ or .git when ``file`` is
    inside that folder."""
    cwd = Path(os.path.abspath(cwd))
    absolute = Path(os.path.abspath(cwd / file))
    for folder in (cwd, *cwd.parents):
        if (folder / ".dstack").is_dir() or (folder / ".git").exists():
            return folder if folder in absolute.parents else cwd
    return cwd


def clean_name(text: str, fallback: str) -> str:
    """``text`` made to follow the workflow name rule (``safepaths.NAME_RULE``)."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", text).lstrip("-._")[:NAME_MAX].rstrip("-._")
    return name or fallback


def workflow_name_for(file: Path) -> str:
    """The workflow (and run) name of a bare file: its stem, cleaned up."""
    return clean_name(file.stem, "main")


def _inside(path: Path, folder: Path, what: str, flag: str) -> str:
    """``path`` (absolute) relative to ``folder``; refused unless it stays inside."""
    relative = os.path.relpath(path, folder)
    if relative == ".." or relative.startswith(".." + os.sep) or os.path.isabs(relative):
        raise UnsafePathError(
            f"{what} '{path}' is outside {folder}",
            f"{flag} must lie inside {folder} (the project root, or --working-dir); "
            "run hpcrun from the project folder, or move the file into it",
        )
    posix = Path(relative).as_posix()
    check_relative(posix, what)
    join_local(folder, posix, what=what)  # a symlink out of the project is refused too
    return posix


def load_bare_file(
    file: Path,
    cwd: Path,
    *,
    requirements: str | None = None,
    working_dir: str | None = None,
) -> BareFile:
    """The python workflow that runs ``file`` (as typed, relative to ``cwd``)."""
    cwd = Path(os.path.abspath(cwd))
    absolute = Path(os.path.abspath(cwd / file))
    if not absolute.is_file():
        raise UsageError(f"{file} does not exist", "pass the path of a Python file to run")
    root = project_root_for(file, cwd)
    work = join_local(root, working_dir, what="working_dir") if working_dir else root
    data: dict[str, Any] = {
        "name": workflow_name_for(absolute),
        "provider": "python",
        "file": _inside(absolute, work, "file", "FILE"),
    }
    if working_dir:
        data["working_dir"] = check_relative(working_dir, "working_dir")
    if requirements is not None:
        wanted = Path(os.path.abspath(cwd / Path(requirements).expanduser()))
        if not wanted.is_file():
            raise UsageError(
                f"-r/--requirements: {requirements} does not exist",
                "paths on the command line are relative to the current folder",
            )
        data["requirements"] = _inside(wanted, work, "requirements", "-r/--requirements")
    elif (absolute.parent / REQUIREMENTS).is_file():
        beside = absolute.parent / REQUIREMENTS
        data["requirements"] = _inside(beside, work, "requirements", REQUIREMENTS)
    return BareFile(root, data, ("requirements", "working_dir"))
