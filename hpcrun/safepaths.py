"""Names and paths that come from a workflows file or the command line, kept in their place.

A workflows file often comes from someone else's repository, so every value from it that
becomes part of a filesystem path (local or remote) goes through this module first:
names (workflows, dependencies, tags) are a small character set, relative paths
(artifacts, working_dir, file, requirements) stay relative and free of ``..``, and a join
is refused unless the result stays inside the folder it belongs to.

Pure standard library: it is imported by the spec models and by the CLI's light paths.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath

from hpcrun.errors import UsageError

NAME_MAX = 64
# fullmatch only: ``$`` would also match before a trailing newline.
_NAME_RE = re.compile(rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{NAME_MAX - 1}}}")
NAME_RULE = f"1 to {NAME_MAX} characters from A-Z a-z 0-9 . _ -, starting with a letter or a digit"
RELATIVE_RULE = "a relative path inside the project: no leading '/', no '..', no NUL or line breaks"


class UnsafePathError(UsageError):
    """A user value would name something outside the folder it belongs to."""


def name_problem(value: object, what: str = "name") -> str | None:
    """Why ``value`` is not a valid name (workflow, dependency, tag), or None."""
    if not isinstance(value, str):
        return f"{what} must be text, got {value!r}"
    if _NAME_RE.fullmatch(value):
        return None
    shown = value if len(value) <= 80 else value[:77] + "..."
    return f"{what} {shown!r} is not allowed: a {what} is {NAME_RULE}"


def name_hint(value: object) -> str:
    """A suggestion close to ``value`` that follows the rule."""
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", str(value)).strip("-._")[:NAME_MAX]
    return f"rename it, e.g. '{text}'" if text else "rename it, e.g. 'train'"


def check_name(value: str, what: str = "name") -> str:
    problem = name_problem(value, what)
    if problem:
        raise UsageError(problem, name_hint(value))
    return value


def relative_problem(value: object, what: str = "path") -> str | None:
    """Why ``value`` cannot be a path relative to the project (or run) folder, or None."""
    if not isinstance(value, str):
        return f"{what} must be text, got {value!r}"
    if not value.strip():
        return f"{what} cannot be empty"
    if "\x00" in value or "\n" in value or "\r" in value:
        return f"{what} {value!r} contains a NUL or a line break; it must be {RELATIVE_RULE}"
    # as PurePosixPath would say (absolute: a leading '/'; parts: split on '/'), on the
    # string: this runs for every path of every job rendered
    if value.startswith(("/", "~")):
        return f"{what} '{value}' is absolute; it must be {RELATIVE_RULE}"
    if ".." in value.split("/"):
        return f"{what} '{value}' uses '..'; it must be {RELATIVE_RULE}"
    return None


def check_relative(value: str, what: str = "path") -> str:
    problem = relative_problem(value, what)
    if problem:
        raise UnsafePathError(problem, "write the path relative to the project root")
    return value


def join_remote(base: str, *parts: str | None, what: str = "path") -> str:
    """``base/part/...`` on the cluster (POSIX), refused unless it stays inside ``base``.

    Pure: the remote side must still refuse to follow links out of the folder (see
    ``ops.stage``), since a symlink in the uploaded tree is not visible from here."""
    root = PurePosixPath(base)
    joined = root
    for part in parts:
        if part in (None, ""):
            continue
        check_relative(part, what)
        joined = joined / part
    normal = PurePosixPath(*(p for p in joined.parts if p != "."))
    if normal != root and root not in normal.parents:
        raise UnsafePathError(f"{what} '{normal}' is outside '{base}'")
    return str(normal)


def join_local(
    base: Path, *parts: str | None, what: str = "path", base_resolved: bool = False
) -> Path:
    """``base/part/...`` on this machine, symlinks resolved, refused unless it stays inside
    ``base`` (resolved too; ``base_resolved``: the caller resolved it already, in this
    call's work: a project root resolved once for all the paths of one job)."""
    for part in parts:
        if part not in (None, ""):
            check_relative(part, what)
    # os.path on strings, not pathlib: the same realpath, a few times faster (it runs for
    # every path of every job rendered)
    root = os.fspath(base) if base_resolved else os.path.realpath(base)
    if not any(parts):
        return Path(root)  # nothing joined: resolving the resolved root again changes nothing
    joined = _real_below(root, [p for p in parts if p])
    if joined != root and not joined.startswith(os.path.join(root, "")):
        raise UnsafePathError(
            f"{what} '{'/'.join(p for p in parts if p)}' leads outside '{root}' (to '{joined}')",
            "a path (or a symlink on it) must stay inside its folder",
        )
    return Path(joined)


def _real_below(root: str, parts: list[str]) -> str:
    """``os.path.realpath(root/parts...)`` for a ``root`` that is a real path already: one
    ``lstat`` per component below it while none is a symlink (the usual case), the whole
    ``realpath`` walk from ``/`` as soon as one is, or one does not exist."""
    path = root
    for part in parts:
        for name in part.split("/"):
            if name in ("", "."):
                continue
            if name == "..":  # refused by check_relative; never resolved by hand here
                return os.path.realpath(os.path.join(root, *parts))
            path = os.path.join(path, name)
            try:
                if stat.S_ISLNK(os.lstat(path).st_mode):
                    return os.path.realpath(os.path.join(root, *parts))
            except OSError:
                return os.path.realpath(os.path.join(root, *parts))
    return path
