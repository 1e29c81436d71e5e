"""Where hpcrun finds its shipped data and keeps its local state."""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """A shipped data folder (``templates`` or ``site-configs``).

    In an installed wheel it lives in ``hpcrun/_data/``; in a source checkout or an
    editable install, at the top level of the repository.
    """
    installed = _PACKAGE_DIR / "_data" / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def hpcrun_home() -> Path:
    """Local state (database, logs, locks): ``$HPCRUN_HOME`` or ``~/.local/share/hpcrun``."""
    configured = os.environ.get("HPCRUN_HOME")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "hpcrun"


SITE_SUFFIXES = (".yaml", ".yml")


def site_config_in(folder: Path, name: str) -> Path | None:
    """The file ``--site NAME`` takes from ``folder`` (``NAME.yaml``, else ``NAME.yml``)."""
    for suffix in SITE_SUFFIXES:
        candidate = folder / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def site_search_dirs() -> list[Path]:
    """Folders searched for ``--site NAME``, in order (see DESIGN.md)."""
    dirs: list[Path] = []
    config_dir = os.environ.get("HPCRUN_CONFIG_DIR")
    if config_dir:
        dirs.append(Path(config_dir).expanduser() / "sites")
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    dirs.append(Path(xdg) / "hpcrun" / "sites")
    dirs.append(data_dir("site-configs"))
    return dirs
