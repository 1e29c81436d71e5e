"""Find and load a site config by path or by name."""

from __future__ import annotations

import os
from pathlib import Path

from hpcrun.errors import SpecError, UsageError, did_you_mean
from hpcrun.paths import SITE_SUFFIXES, hpcrun_home, site_config_in, site_search_dirs
from hpcrun.yamlsource import read_yaml

DEFAULT_SITE = "local"


def default_site_name() -> str:
    return os.environ.get("HPCRUN_SITE") or DEFAULT_SITE


def _looks_like_path(text: str) -> bool:
    return "/" in text or text.endswith(SITE_SUFFIXES)


def available_sites() -> list[str]:
    names: list[str] = []
    for folder in site_search_dirs():
        if folder.is_dir():
            for file in sorted(folder.glob("*.y*ml")):
                if file.stem not in names:
                    names.append(file.stem)
    return names


def find_site_file(site: str) -> Path:
    if _looks_like_path(site):
        path = Path(site).expanduser()
        if not path.is_file():
            raise UsageError(f"site config {path} does not exist", "check the path given to --site")
        return path
    for folder in site_search_dirs():
        found = site_config_in(folder, site)
        if found is not None:
            return found
    names = available_sites()
    hint = did_you_mean(site, names) or ("known sites: " + ", ".join(names))
    searched = ", ".join(str(d) for d in site_search_dirs())
    raise UsageError(f"no site named '{site}' (searched {searched})", hint)


def load_site(site: str | None = None) -> tuple[object, Path]:
    """The validated ``Site`` and the file it came from."""
    from pydantic import ValidationError

    from hpcrun.site.models import Site
    from hpcrun.validation import problems_from_validation

    path = find_site_file(site or default_site_name())
    document = read_yaml(path)
    if document.problems:
        raise SpecError(document.problems, f"site config {path} has problems")
    if not isinstance(document.data, dict):
        from hpcrun.errors import Problem

        raise SpecError(
            [Problem(document.source.locate(()), "", "expected a mapping (name, scheduler, ...)")],
            f"site config {path} has problems",
        )

    def label(loc: object) -> str:
        return ".".join(str(part) for part in loc)  # type: ignore[attr-defined]

    try:
        site = Site.model_validate(document.data)
    except ValidationError as exc:
        problems = sorted(
            problems_from_validation(exc, Site, document.source, (), label),
            key=lambda p: (p.location.line, p.location.column) if p.location else (0, 0),
        )
        raise SpecError(problems, f"site config {path} has problems") from None
    if site.scheduler == "local" and site.remote_root is None:
        # The local site keeps its runs and virtualenvs with the rest of hpcrun's state.
        site = site.model_copy(update={"remote_root": str(hpcrun_home() / "local")})
    return site, path
