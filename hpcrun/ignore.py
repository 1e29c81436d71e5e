"""Which files of a project are uploaded: everything but what .gitignore and
.hpcrunignore exclude (a useful subset of gitignore syntax), never ``.git/`` or
``__pycache__/``, and no virtualenv (a folder holding ``pyvenv.cfg``) unless an ignore
file un-ignores it by name (``!.venv/``): the job builds its own environment.

Supported: ``#`` comments, blank lines, ``!`` negation, a trailing ``/`` for folders only,
a leading or inner ``/`` to anchor a pattern at the folder of its ignore file, ``*``,
``?``, ``[...]`` and ``**``. Ignore files in sub-folders apply below them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILES = (".gitignore", ".hpcrunignore")
ALWAYS_SKIPPED = {".git", ".hg", ".svn", "__pycache__", ".hpcrun"}
VIRTUALENV_MARKER = "pyvenv.cfg"  # what `python -m venv` and virtualenv put in the env root
LARGE_FILE_BYTES = 50 * 1024 * 1024  # a file this big is named in a warning before upload


@dataclass(frozen=True)
class ProjectScan:
    """What an upload of the project would send."""

    files: list[str]  # sorted POSIX paths relative to the root
    total_bytes: int
    large: list[tuple[str, int]]  # files of LARGE_FILE_BYTES or more, with their sizes
    virtualenvs: list[str]  # virtualenv folders skipped (not un-ignored)


@dataclass(frozen=True)
class Rule:
    base: str  # folder of the ignore file, relative to the root ("" for the root)
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool


def _translate(pattern: str) -> str:
    """gitignore glob -> regex over a path relative to the rule's base."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out.append("/.*")
            i += 3
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape("["))
                i += 1
            else:
                body = pattern[i + 1 : end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return "".join(out)


def parse_rules(text: str, base: str = "") -> list[Rule]:
    rules: list[Rule] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        if line.startswith("\\"):
            line = line[1:]
        folders_only = line.endswith("/")
        line = line.rstrip("/")
        if not line:
            continue
        anchored = "/" in line
        line = line.lstrip("/")
        body = _translate(line)
        regex = f"^{body}$" if anchored else f"^(?:.*/)?{body}$"
        rules.append(Rule(base, re.compile(regex), negated, folders_only))
    return rules


def is_ignored(relative: str, is_dir: bool, rules: list[Rule]) -> bool:
    return _last_match(relative, is_dir, rules) is True


def _last_match(relative: str, is_dir: bool, rules: list[Rule]) -> bool | None:
    """True: ignored, False: un-ignored by a ``!`` rule, None: no rule matches."""
    ignored = None
    for rule in rules:
        if rule.folders_only and not is_dir:
            continue
        if rule.base:
            if not relative.startswith(rule.base + "/"):
                continue
            subject = relative[len(rule.base) + 1 :]
        else:
            subject = relative
        if rule.regex.match(subject):
            ignored = not rule.negated
    return ignored


def project_files(root: Path) -> list[str]:
    """Files to upload, as sorted POSIX paths relative to ``root``. Symlinks to files are
    followed; symlinked folders are not entered (they may point anywhere)."""
    return scan_project(root).files


def scan_project(root: Path) -> ProjectScan:
    """``project_files`` with their total size, the large ones, and the virtualenvs left
    out (one walk)."""
    files: list[str] = []
    rules: list[Rule] = []
    total, large, virtualenvs = 0, [], []
    for current, dirnames, filenames in os.walk(root):
        relative_dir = Path(current).relative_to(root).as_posix()
        relative_dir = "" if relative_dir == "." else relative_dir
        for name in IGNORE_FILES:
            ignore_file = Path(current) / name
            if ignore_file.is_file():
                rules.extend(parse_rules(ignore_file.read_text(errors="replace"), relative_dir))
        kept = []
        for name in sorted(dirnames):
            path = f"{relative_dir}/{name}" if relative_dir else name
            if name in ALWAYS_SKIPPED or Path(current, name).is_symlink():
                continue
            verdict = _last_match(path, True, rules)
            if verdict is True:
                continue
            if verdict is None and Path(current, name, VIRTUALENV_MARKER).is_file():
                virtualenvs.append(path)  # only a `!` rule naming it uploads one
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = f"{relative_dir}/{name}" if relative_dir else name
            if Path(current, name).is_file() and not is_ignored(path, False, rules):
                files.append(path)
                size = Path(current, name).stat().st_size
                total += size
                if size >= LARGE_FILE_BYTES:
                    large.append((path, size))
    return ProjectScan(sorted(files), total, sorted(large), virtualenvs)
