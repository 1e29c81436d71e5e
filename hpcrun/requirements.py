"""Requirements files read the way pip reads them, and split in two.

The cached virtualenv on a site is shared by every run whose requirements are the same, so
it may only hold what a package index (or a URL) provides: the same line always means the
same package. A local path (``-e .``, ``./pkg``, ``file:`` URLs, a wheel in the project)
is the run's *own code*, which changes from run to run: it is returned separately, to be
put on the path (folders) or installed (files) in each run's own folder.

Pure: files are read only through the ``ProjectFiles`` handed in, with paths relative to
the project root, so everything here is unit-testable. Paths are POSIX and lexically kept
inside the project; the reader is the one to refuse symlinks that lead out of it.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from hpcrun.errors import UsageError

Kind = Literal["file", "dir"]

# pip's own rules (pip/_internal/req/req_file.py): a comment starts a line or follows a space.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_DIRECT_REFERENCE = re.compile(r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@\s*(\S+)")
_EXTRAS = re.compile(r"^(.+?)(\[[^\]]*\])$")
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar")
_INCLUDE = {"-r": "requirement", "--requirement": "requirement",
            "-c": "constraint", "--constraint": "constraint"}  # fmt: skip
_EDITABLE = ("-e", "--editable")
_FIND_LINKS = ("-f", "--find-links")


class ProjectFiles(Protocol):
    """Read-only view of the project; ``path`` is relative to the project root."""

    def read(self, path: str) -> str: ...

    def kind(self, path: str) -> Kind | None: ...


class RequirementsError(UsageError):
    """A requirements file hpcrun cannot use as it is; the message names file:line."""


@dataclass(frozen=True)
class Requirements:
    """A requirements file, normalised: only what decides the cached environment."""

    options: tuple[str, ...] = ()  # global option lines, first-seen order, deduplicated
    requirements: tuple[str, ...] = ()  # index requirements, sorted, deduplicated
    constraints: tuple[str, ...] = ()  # from -c files, sorted, deduplicated
    python_path: tuple[str, ...] = ()  # own folders to put on PYTHONPATH (from working dir)
    installs: tuple[str, ...] = ()  # own wheels/archives to install per run (from working dir)
    notes: tuple[str, ...] = ()  # things the user should know (printed as warnings)

    @property
    def needs_env(self) -> bool:
        """A cached virtualenv is needed for index requirements, or for a pip to install
        the run's own wheels with."""
        return bool(self.requirements or self.installs)

    def env_file_lines(self, constraints_file: str = "constraints.txt") -> tuple[str, ...]:
        """The requirements file the environment is built from (none: an empty venv, whose
        pip installs the run's own wheels)."""
        if not self.requirements:
            return ()
        include = (f"-c {constraints_file}",) if self.constraints else ()
        return (*self.options, *include, *self.requirements)


def environment_key(
    requirements: Requirements,
    python_version: str,
    module_init: str | None,
    modules: Sequence[str],
) -> str:
    """The cached environment's name after ``py<X.Y>-``: everything that decides what is in
    it, and nothing else (comments, blank lines, order and the run's own code are not)."""
    identity = {
        "options": list(requirements.options),
        "requirements": list(requirements.requirements),
        "constraints": list(requirements.constraints),
        "python": python_version,
        "module_init": module_init,
        "modules": list(modules),
    }
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse(entry: str, working_dir: str, files: ProjectFiles) -> Requirements:
    """Read ``entry`` (relative to the project root) and its includes; local paths are
    relative to ``working_dir`` (relative to the project root), where pip would run."""
    reader = _Reader(files, _normal(working_dir or ".", "working_dir"))
    reader.read_file(_normal(entry, "requirements"), constraint=False, chain=())
    return reader.result()


def _normal(path: str, what: str) -> str:
    """``path`` (relative to the project root) without '.' and '..' parts, refused when it
    would leave the project."""
    if path.startswith("/") or path.startswith("~"):
        raise RequirementsError(f"{what} '{path}' is absolute: it must be inside the project")
    normal = posixpath.normpath(path)
    if normal == ".." or normal.startswith("../"):
        raise RequirementsError(f"{what} '{path}' leads outside the project")
    return normal


class _Reader:
    def __init__(self, files: ProjectFiles, working_dir: str) -> None:
        self.files = files
        self.working_dir = working_dir
        self.options: list[str] = []
        self.requirements: set[str] = set()
        self.constraints: set[str] = set()
        self.python_path: list[str] = []
        self.installs: list[str] = []
        self.notes: list[str] = []

    def result(self) -> Requirements:
        return Requirements(
            options=tuple(dict.fromkeys(self.options)),
            requirements=tuple(sorted(self.requirements, key=lambda r: (r.lower(), r))),
            constraints=tuple(sorted(self.constraints, key=lambda r: (r.lower(), r))),
            python_path=tuple(dict.fromkeys(self.python_path)),
            installs=tuple(dict.fromkeys(self.installs)),
            notes=tuple(dict.fromkeys(self.notes)),
        )

    # --- files and lines ---------------------------------------------------------------

    def read_file(self, path: str, *, constraint: bool, chain: tuple[str, ...]) -> None:
        if path in chain:
            cycle = " -> ".join((*chain[chain.index(path) :], path))
            raise RequirementsError(
                f"requirements include cycle: {cycle}", "remove one of the -r/-c lines"
            )
        if self.files.kind(path) != "file":
            where = f" (included from {chain[-1]})" if chain else ""
            raise RequirementsError(f"requirements file '{path}' does not exist{where}")
        text = self.files.read(path)
        for number, line in _logical_lines(text):
            self.read_line(line, f"{path}:{number}", path, constraint, (*chain, path))

    def read_line(
        self, line: str, where: str, path: str, constraint: bool, chain: tuple[str, ...]
    ) -> None:
        args, options = _split_args_options(line)
        if args:
            self.requirement(args, options, where, editable=False, constraint=constraint)
            return
        try:
            tokens = shlex.split(options)
        except ValueError as exc:
            raise RequirementsError(f"{where}: cannot read '{line}': {exc}") from None
        flag, value, rest = _option(tokens)
        if flag in _INCLUDE:
            if value is None:
                raise RequirementsError(f"{where}: {flag} needs a file name")
            target = self.include_path(value, path, where)
            nested = constraint or _INCLUDE[flag] == "constraint"
            self.read_file(target, constraint=nested, chain=chain)
        elif flag in _EDITABLE:
            if value is None:
                raise RequirementsError(f"{where}: {flag} needs a path or URL")
            self.requirement(value, shlex.join(rest), where, editable=True, constraint=constraint)
        elif flag in _FIND_LINKS and value is not None:
            self.options.append(shlex.join([flag, self.find_links(value, path, where)]))
        else:  # --index-url, --pre, --no-binary...: pip's to judge, part of the key
            self.options.append(shlex.join(tokens))

    def include_path(self, value: str, including: str, where: str) -> str:
        """-r/-c files are relative to the including file, and stay in the project."""
        if _SCHEME.match(value):
            raise RequirementsError(
                f"{where}: including '{value}' from a URL is not supported",
                "download it into the project and include it by path",
            )
        joined = posixpath.join(posixpath.dirname(including), value)
        try:
            return _normal(joined, "include")
        except RequirementsError as exc:
            raise RequirementsError(
                f"{where}: -r/-c '{value}' is outside the project ({exc.message})",
                "requirements files may only include files inside the project folder",
            ) from None

    def find_links(self, value: str, including: str, where: str) -> str:
        """A relative --find-links folder, as pip finds it (beside the requirements file if
        there, else from the working directory), rewritten relative to the working
        directory: the environment is built from a file hpcrun writes elsewhere. An absolute
        path or a URL names something on the cluster and is kept as it is."""
        if _SCHEME.match(value) or value.startswith(("/", "~")):
            return value
        candidates = [posixpath.join(posixpath.dirname(including), value),
                      posixpath.join(self.working_dir, value)]  # fmt: skip
        chosen = next((c for c in candidates if self._kind_inside(c)), candidates[1])
        try:
            normal = _normal(chosen, "--find-links")
        except RequirementsError as exc:
            raise RequirementsError(f"{where}: {exc.message}") from None
        return posixpath.relpath(normal, self.working_dir)

    def _kind_inside(self, path: str) -> Kind | None:
        try:
            return self.files.kind(_normal(path, "path"))
        except RequirementsError:
            return None

    # --- one requirement ---------------------------------------------------------------

    def requirement(
        self, text: str, options: str, where: str, *, editable: bool, constraint: bool
    ) -> None:
        text = " ".join(text.split())
        local = self.local_target(text, where)
        if local is None:
            line = " ".join(filter(None, ["-e" if editable else "", text, options.strip()]))
            (self.constraints if constraint else self.requirements).add(line)
            return
        if constraint:
            raise RequirementsError(
                f"{where}: a constraints file cannot name a local path ('{text}')",
                "constraints pin versions of index packages; list local code in requirements",
            )
        path, extras = local
        if extras:
            self.notes.append(
                f"{where}: the extras {extras} of '{path}' are not installed with it (the "
                "run's own code is used as it is): list what they need in requirements.txt"
            )
        self.add_local(path, where)

    def local_target(self, text: str, where: str) -> tuple[str, str] | None:
        """(path from the working directory, extras) when ``text`` names local code."""
        reference = _DIRECT_REFERENCE.match(text)
        if reference:  # name @ url
            url = reference.group(2)
            if not url.lower().startswith("file:"):
                return None
            return self.file_url_path(url, where), reference.group(1) or ""
        if _SCHEME.match(text):
            if not text.lower().startswith("file:"):
                return None  # git+https://..., https://.../x.whl: from outside, keyed by URL
            return self.file_url_path(text.split(";")[0].strip(), where), ""
        candidate = text.split(";")[0].strip()
        match = _EXTRAS.match(candidate)
        path, extras = (match.group(1), match.group(2)) if match else (candidate, "")
        if "/" in path or path.startswith(".") or path.startswith("~"):
            return path, extras
        if self._installable(path):
            return path, extras  # a bare folder or archive that exists: pip takes it as a path
        return None

    def file_url_path(self, url: str, where: str) -> str:
        path = re.sub(r"#.*$", "", url[len("file:") :])
        if path.startswith("//"):
            raise RequirementsError(
                f"{where}: '{url}' is an absolute file: URL; it would not exist on the cluster",
                "write the path relative to the working directory, e.g. ./pkg",
            )
        return path

    def _installable(self, path: str) -> bool:
        inside = posixpath.join(self.working_dir, path)
        kind = self._kind_inside(inside)
        if kind == "dir":
            return any(
                self._kind_inside(posixpath.join(inside, marker)) == "file"
                for marker in ("setup.py", "pyproject.toml")
            )
        return kind == "file" and path.lower().endswith(_ARCHIVES)

    def add_local(self, path: str, where: str) -> None:
        hint = "the run's own code must be inside the project folder, which is uploaded"
        if path.startswith(("/", "~")):
            raise RequirementsError(f"{where}: local path '{path}' is absolute", hint)
        inside = posixpath.normpath(posixpath.join(self.working_dir, path))
        if inside == ".." or inside.startswith("../"):
            raise RequirementsError(f"{where}: local path '{path}' is outside the project", hint)
        if ":" in path:
            raise RequirementsError(
                f"{where}: local path '{path}' contains ':', which cannot go on PYTHONPATH",
                "rename the folder",
            )
        kind = self.files.kind(inside)
        if kind is None:
            raise RequirementsError(
                f"{where}: local path '{path}' does not exist in the project",
                "local paths are relative to the working directory, where pip would run",
            )
        relative = posixpath.relpath(inside, self.working_dir)
        if kind == "file":
            self.installs.append(relative)
            return
        src = posixpath.join(inside, "src")
        has_src = self.files.kind(src) == "dir"
        self.python_path.append(posixpath.relpath(src, self.working_dir) if has_src else relative)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, line) with ``\\`` continuations joined and comments removed, as
    pip does (a comment line ends a continuation)."""
    joined: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        is_comment = bool(_COMMENT.match(raw))
        if raw.endswith("\\") and not is_comment:
            if not pending:
                start = number
            pending.append(raw[:-1])
            continue
        line = " " + raw if is_comment else raw
        if pending:
            joined.append((start, "".join([*pending, line])))
            pending = []
        else:
            joined.append((number, line))
    if pending:
        joined.append((start, "".join(pending)))
    result = []
    for number, line in joined:
        stripped = _COMMENT.sub("", line).strip()
        if stripped:
            result.append((number, stripped))
    return result


def _split_args_options(line: str) -> tuple[str, str]:
    """pip's ``break_args_options``: the requirement, then options from the first '-' token."""
    tokens = line.split(" ")
    for at, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:at]).strip(), " ".join(tokens[at:]).strip()
    return line.strip(), ""


def _option(tokens: list[str]) -> tuple[str, str | None, list[str]]:
    """(flag, its value or None, the tokens after) for the flags whose value hpcrun reads:
    ``-r x``, ``-rx``, ``--requirement x``, ``--requirement=x`` (and -c, -e, -f)."""
    first, rest = tokens[0], tokens[1:]
    valued = (*_INCLUDE, *_EDITABLE, *_FIND_LINKS)
    if first in valued:
        return (first, rest[0], rest[1:]) if rest else (first, None, [])
    if first.startswith("--") and "=" in first:
        flag, value = first.split("=", 1)
        if flag in valued:
            return flag, value, rest
    elif not first.startswith("--") and len(first) > 2 and first[:2] in valued:
        return first[:2], first[2:], rest
    return first, None, rest
