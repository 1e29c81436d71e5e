"""Shared fixtures: every test gets its own HPCRUN_HOME and config dir."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data"


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("hpcrun-home")
    monkeypatch.setenv("HPCRUN_HOME", str(home))
    monkeypatch.setenv("HPCRUN_CONFIG_DIR", str(home / "config"))
    monkeypatch.delenv("HPCRUN_SITE", raising=False)
    return home


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project folder with a .dstack/ directory."""
    (tmp_path / ".dstack").mkdir()
    return tmp_path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
