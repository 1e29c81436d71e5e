"""oSparc-style project folders and zips: ``main.py`` (or the only ``.py``), an optional
``requirements.txt``, inputs in ``INPUT_FOLDER``, results from ``OUTPUT_FOLDER``.

A zip is checked whole before anything is extracted: absolute paths, ``..`` and links
are refused, so a hostile archive cannot write outside its folder; sizes, member count and
compression ratio are bounded (see ``hpcrun.archive``), so it cannot fill the disk.
"""

from __future__ import annotations

import hashlib
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from hpcrun.errors import UsageError
from hpcrun.paths import hpcrun_home

ENTRY_POINT = "main.py"
REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True)
class Project:
    root: Path  # the folder to upload (a zip's extraction)
    name: str
    entry: str
    requirements: str | None
    source: Path  # what the user named: the folder or the zip


def is_project_path(path: Path) -> bool:
    return path.suffix.lower() == ".zip" or path.is_dir()


def load_project(path: Path) -> Project:
    if not path.exists():
        raise UsageError(f"{path} does not exist", "pass a project folder or a .zip file")
    root = extract_zip(path) if path.suffix.lower() == ".zip" else path.resolve()
    entry = find_entry_point(root)
    requirements = REQUIREMENTS if (root / REQUIREMENTS).is_file() else None
    from hpcrun.bare_file import clean_name

    name = clean_name(path.stem if path.is_file() else path.resolve().name, "project")
    return Project(root, name, entry, requirements, path)


def find_entry_point(root: Path) -> str:
    if (root / ENTRY_POINT).is_file():
        return ENTRY_POINT
    candidates = sorted(p.name for p in root.glob("*.py") if p.is_file())
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise UsageError(
            f"{root} has no Python file to run",
            f"add a {ENTRY_POINT} (or exactly one .py file) at the top of the project",
        )
    raise UsageError(
        f"{root} has several Python files and no {ENTRY_POINT}: {', '.join(candidates)}",
        f"rename the entry point to {ENTRY_POINT}",
    )


def unsafe_members(archive: zipfile.ZipFile) -> list[str]:
    """Member names that would land outside the extraction folder, or are links."""
    bad = []
    for info in archive.infolist():
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        mode = info.external_attr >> 16
        if (
            name.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", name)
            or ".." in pure.parts
            or stat.S_ISLNK(mode)
        ):
            bad.append(name)
    return bad


def extract_zip(path: Path) -> Path:
    """Extract into ``$HPCRUN_HOME/projects/<content hash>/tree`` (reused if already there) and
    return the project root: the archive's single top folder, if it has one."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UsageError(f"{path} is not a readable zip file: {exc}") from None
    with archive:
        bad = unsafe_members(archive)
        if bad:
            raise UsageError(
                f"{path} has unsafe member paths, nothing was extracted: {', '.join(bad[:5])}",
                "rebuild the zip with relative paths only (no '/', '..' or links)",
            )
        from hpcrun.archive import check_limits, extract_bounded

        check_limits(archive, path)  # before hashing or touching anything
        digest = _file_digest(path)
        folder = hpcrun_home() / "projects" / digest
        target = folder / "tree"
        if not (folder / ".complete").exists():
            extract_bounded(archive, path, target)
            (folder / ".complete").touch()
    entries = [p for p in target.iterdir() if p.name != "__MACOSX"]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return target


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def project_workflow(project: Project) -> dict[str, Any]:
    """The workflow (as raw spec data) that runs a project folder."""
    data: dict[str, Any] = {"name": project.name, "provider": "python", "file": project.entry}
    if project.requirements:
        data["requirements"] = project.requirements
    return data
