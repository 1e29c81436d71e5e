"""``hpcrun site new NAME``: a user's own site config, copied from a shipped one.

The copy is plain text with the top-level ``name:`` line replaced, not a YAML round trip:
the shipped configs are mostly comments (what each key means, where to find its value on
a cluster), and those are what a new user needs while editing. Standard library only, so
the command starts without pydantic or a YAML parser.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from hpcrun.errors import HpcrunError, UsageError, did_you_mean
from hpcrun.paths import SITE_SUFFIXES, data_dir, site_config_in, site_search_dirs
from hpcrun.safepaths import NAME_MAX, name_problem

DEFAULT_SOURCE = "slurm-generic"
# The top-level key (column 0, so never a nested `name:`), its value, and a trailing comment.
_NAME_LINE = re.compile(r"^name:[^\S\n]*(?P<value>[^\n]*?)(?P<comment>[^\S\n]+#[^\n]*)?$", re.M)
# Plain words some YAML readers take for a boolean or null rather than text.
_NOT_TEXT_IN_YAML = {"null", "true", "false", "yes", "no", "on", "off", "y", "n"}


@dataclass(frozen=True)
class ShippedSite:
    name: str
    path: Path
    summary: str  # what cluster or style it models (its first comment, first clause)


@dataclass(frozen=True)
class NewSite:
    path: Path
    name: str
    source: str
    local: bool  # copied from a `scheduler: local` config: no login to fill in
    shadows: Path | None  # a config of the same name that --site found before this one


def shipped_sites() -> list[ShippedSite]:
    """The site configs installed with hpcrun, by name."""
    folder = data_dir("site-configs")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.suffix in SITE_SUFFIXES and path.is_file():
            found.setdefault(path.stem, path)
    return [ShippedSite(name, path, summary(_read(path))) for name, path in found.items()]


def summary(text: str) -> str:
    """The first clause of a config's leading comment ("A site modelled on CSC's Puhti
    (Finland)"), or "" when it starts with no comment."""
    words: list[str] = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        content = line.lstrip("#").strip()
        if not content:  # an empty comment line ends the paragraph
            if words:
                break
            continue
        words.append(content)
    paragraph = " ".join(words)
    # the first sentence, or its part before a `;` or `:` (the rest is detail)
    first = re.split(r"(?<=[.;:])\s", paragraph, maxsplit=1)[0]
    return first.rstrip(".;:")


def site_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a site name, or None. ``--site`` reads a value with a ``/`` or
    ending in ``.yaml``/``.yml`` as a path, and the name becomes a file name: the rule of
    other names (workflows, tags) keeps both right."""
    problem = name_problem(name, "site name")
    if problem:
        return problem
    if name.endswith(SITE_SUFFIXES):
        return (
            f"site name '{name}' ends in {Path(name).suffix}: --site would read it as a path; "
            "the name is the file name without .yaml"
        )
    return None


def _suggested_name(name: str) -> str:
    """A name close to ``name`` that follows the rule."""
    stem = name[: -len(Path(name).suffix)] if name.endswith(SITE_SUFFIXES) else name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:NAME_MAX]
    return cleaned if cleaned and not site_name_problem(cleaned) else "mycluster"


def with_name(text: str, name: str) -> str:
    """``text`` with its top-level ``name:`` set to ``name``, comments kept."""
    value = f"'{name}'" if _needs_quotes(name) else name
    match = _NAME_LINE.search(text)
    if match:
        line = f"name: {value}{match.group('comment') or ''}"
        return text[: match.start()] + line + text[match.end() :]
    # none (not in a shipped config, but cheap to handle): after the leading comment
    lines = text.splitlines(keepends=True)
    at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
    return "".join([*lines[:at], f"name: {value}\n", *lines[at:]])


def _needs_quotes(name: str) -> bool:
    """A name YAML would read as a number, a boolean or null, rather than text."""
    return name[:1].isdigit() or name.lower() in _NOT_TEXT_IN_YAML


def new_site(name: str, source: str = DEFAULT_SOURCE, force: bool = False) -> NewSite:
    """Write ``NAME.yaml`` into the first folder ``--site NAME`` searches, copied from the
    shipped config ``source``. Refuses to overwrite unless ``force``."""
    problem = site_name_problem(name)
    if problem:
        raise UsageError(problem, f"choose another name, e.g. '{_suggested_name(name)}'")
    shipped = {site.name: site for site in shipped_sites()}
    if source not in shipped:
        choices = ", ".join(shipped)
        raise UsageError(
            f"no shipped site config '{source}' (the shipped ones are: {choices})",
            did_you_mean(source, shipped) or "`hpcrun site new --list` says what each models",
        )
    folders = site_search_dirs()
    folder = folders[0]
    existing = site_config_in(folder, name)
    if existing is not None and not force:
        raise UsageError(
            f"site config {existing} already exists",
            f"pass --force to overwrite it, or choose another name than '{name}'",
        )
    path = existing or folder / f"{name}.yaml"
    text = with_name(_read(shipped[source].path), name)
    _write(path, text, overwrite=existing is not None)
    shadows = next((found for later in folders[1:] if (found := site_config_in(later, name))), None)
    local = re.search(r"^scheduler:[^\S\n]*local\b", text, re.M) is not None
    return NewSite(path, name, source, local, shadows)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _write(path: Path, text: str, overwrite: bool) -> None:
    try:
        # 700: the folder is the user's own; only a folder created here gets it
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if overwrite:
            # replaced in one step: a failure leaves the old config, not half a new one
            partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                partial.write_text(text, encoding="utf-8")
                os.replace(partial, path)
            finally:
                partial.unlink(missing_ok=True)
        else:
            with open(path, "x", encoding="utf-8") as file:  # "x": never over another's
                file.write(text)
    except FileExistsError:
        raise UsageError(
            f"site config {path} already exists", "pass --force to overwrite it"
        ) from None
    except OSError as exc:
        raise HpcrunError(
            f"cannot write site config {path}: {exc.strerror}",
            "fix that folder's permissions, or set HPCRUN_CONFIG_DIR to a writable folder "
            "(site configs then live in $HPCRUN_CONFIG_DIR/sites)",
        ) from None
