"""Which files of a project are uploaded: everything but what .gitignore and
.hpcrunignore exclude (a useful subset of gitignore syntax), never ``.git/`` or
``__pycache__/``, and no Python environment (a virtualenv: a folder holding ``pyvenv.cfg``;
a conda environment: one holding ``conda-meta/``) unless an ignore file un-ignores it by
name (``!.venv/``): the job builds its own environment. An environment uploaded that way
is reported (``ProjectScan.environments``), so the upload can say so.

Supported: ``#`` comments, blank lines, ``!`` negation, a trailing ``/`` for folders only,
a leading or inner ``/`` to anchor a pattern at the folder of its ignore file, ``*``,
``?``, ``[...]`` and ``**``. Ignore files in sub-folders apply below them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

IGNORE_FILES = (".gitignore", ".hpcrunignore")
ALWAYS_SKIPPED = {".git", ".hg", ".svn", "__pycache__", ".hpcrun"}
VIRTUALENV_MARKER = "pyvenv.cfg"  # what `python -m venv` and virtualenv put in the env root
CONDA_MARKER = "conda-meta"  # the folder conda/mamba keep in every environment's root
LARGE_FILE_BYTES = 50 * 1024 * 1024  # a file this big is named in a warning before upload


@dataclass(frozen=True)
class ProjectScan:
    """What an upload of the project would send."""

    files: list[str]  # sorted POSIX paths relative to the root
    total_bytes: int
    large: list[tuple[str, int]]  # files of LARGE_FILE_BYTES or more, with their sizes
    virtualenvs: list[str]  # environment folders skipped (not un-ignored): venv or conda
    # environment folders un-ignored by a `!` rule, hence uploaded
    environments: list[UploadedEnvironment] = field(default_factory=list)


@dataclass(frozen=True)
class UploadedEnvironment:
    path: str  # the folder, relative to the root
    bytes: int  # what it adds to the upload
    rule_file: str  # the ignore file whose `!` rule un-ignored it, relative to the root


@dataclass(frozen=True)
class Rule:
    base: str  # folder of the ignore file, relative to the root ("" for the root)
    regex: re.Pattern[str]
    negated: bool
    folders_only: bool
    origin: str = ""  # the ignore file it comes from, relative to the root


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


def parse_rules(text: str, base: str = "", origin: str = "") -> list[Rule]:
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
        rules.append(Rule(base, re.compile(regex), negated, folders_only, origin))
    return rules


def is_ignored(relative: str, is_dir: bool, rules: list[Rule]) -> bool:
    return _last_match(relative, is_dir, rules) is True


def _last_match(relative: str, is_dir: bool, rules: list[Rule]) -> bool | None:
    """True: ignored, False: un-ignored by a ``!`` rule, None: no rule matches."""
    rule = _deciding_rule(relative, is_dir, rules)
    return None if rule is None else not rule.negated


def _deciding_rule(relative: str, is_dir: bool, rules: list[Rule]) -> Rule | None:
    """The last rule matching ``relative`` (the one that decides), if any."""
    deciding = None
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
            deciding = rule
    return deciding


def project_files(root: Path) -> list[str]:
    """Files to upload, as sorted POSIX paths relative to ``root``. Symlinks to files are
    followed; symlinked folders are not entered (they may point anywhere)."""
    return scan_project(root).files


def scan_project(root: Path) -> ProjectScan:
    """``project_files`` with their total size, the large ones, the environments left out
    and the ones uploaded (one walk)."""
    files: list[str] = []
    rules: list[Rule] = []
    total, large, virtualenvs = 0, [], []
    uploaded_envs: dict[str, int] = {}  # un-ignored environment folder -> bytes in it
    rule_files: dict[str, str] = {}  # ... -> the ignore file that un-ignored it
    for current, dirnames, filenames in os.walk(root):
        relative_dir = Path(current).relative_to(root).as_posix()
        relative_dir = "" if relative_dir == "." else relative_dir
        for name in IGNORE_FILES:
            ignore_file = Path(current) / name
            if ignore_file.is_file():
                origin = f"{relative_dir}/{name}" if relative_dir else name
                text = ignore_file.read_text(errors="replace")
                rules.extend(parse_rules(text, relative_dir, origin))
        kept = []
        for name in sorted(dirnames):
            path = f"{relative_dir}/{name}" if relative_dir else name
            if name in ALWAYS_SKIPPED or Path(current, name).is_symlink():
                continue
            verdict = _last_match(path, True, rules)
            if verdict is True:
                continue
            if is_environment(Path(current, name)):
                if verdict is None:
                    virtualenvs.append(path)  # only a `!` rule naming it uploads one
                    continue
                uploaded_envs[path] = 0
                rule = _deciding_rule(path, True, rules)
                rule_files[path] = rule.origin if rule is not None else ""
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
                owner = _environment_of(path, uploaded_envs)
                if owner is not None:
                    uploaded_envs[owner] += size
    environments = [UploadedEnvironment(path, size, rule_files[path])
                    for path, size in sorted(uploaded_envs.items())]  # fmt: skip
    return ProjectScan(sorted(files), total, sorted(large), virtualenvs, environments)


def is_environment(folder: Path) -> bool:
    """A Python environment's root: a virtualenv (``pyvenv.cfg``) or a conda environment
    (``conda-meta/``)."""
    return (folder / VIRTUALENV_MARKER).is_file() or (folder / CONDA_MARKER).is_dir()


def _environment_of(path: str, environments: dict[str, int]) -> str | None:
    """The uploaded environment folder ``path`` lies in, if any (the outermost)."""
    for folder in environments:
        if path.startswith(folder + "/"):
            return folder
    return None
