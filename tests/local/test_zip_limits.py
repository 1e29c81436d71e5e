"""Project zips are bounded: a zip bomb is refused before anything is extracted, and a
member that holds more than it declares stops the extraction, leaving nothing behind."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from hpcrun import archive
from hpcrun.errors import UsageError
from hpcrun.project import extract_zip
from tests.cli import hpcrun, ps_json

MAIN = "print('hello from the zip')\n"


def zip_bomb(path: Path, megabytes: int = 300) -> Path:
    """A real ~300 KB zip whose one data member inflates to 300 MB of zeros."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("proj/main.py", MAIN)
        with zf.open("proj/data.bin", "w", force_zip64=True) as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(megabytes):
                member.write(block)
    return path


def test_zip_bomb_is_refused_before_extracting(tmp_path: Path, isolated_home: Path) -> None:
    bomb = zip_bomb(tmp_path / "bomb.zip")
    assert bomb.stat().st_size < 400 * 1024
    for args in (["submit", "--dry-run", str(bomb)], ["submit", "-d", str(bomb)]):
        started = time.monotonic()
        result = hpcrun(*args)
        assert time.monotonic() - started < 5
        assert result.returncode == 2, result.stderr
        assert "proj/data.bin expands" in result.stderr and "100:1" in result.stderr
        assert "zip bomb" in result.stderr and "hint:" in result.stderr
    assert not (isolated_home / "projects").exists()
    assert ps_json() == []


def test_a_normal_zip_still_runs(tmp_path: Path, isolated_home: Path) -> None:
    path = tmp_path / "proj.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("proj/main.py", MAIN)
        zf.writestr("proj/inputs/small.txt", "0" * 100_000)  # compresses well, but small
    result = hpcrun("submit", str(path))
    assert result.returncode == 0, result.stderr
    assert "hello from the zip" in result.stdout
    [tree] = (isolated_home / "projects").glob("*/tree")
    assert (tree / "proj" / "inputs" / "small.txt").stat().st_size == 100_000
    assert not list((isolated_home / "projects").glob("*/*.partial"))


def test_total_size_and_member_count_limits(
    tmp_path: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("main.py", MAIN)
        for i in range(20):
            zf.writestr(f"data/{i}.txt", "x" * 1000)
    monkeypatch.setattr(archive, "MAX_MEMBERS", 10)
    with pytest.raises(UsageError, match="has 21 members, more than the limit of 10"):
        extract_zip(path)
    monkeypatch.setattr(archive, "MAX_MEMBERS", 100)
    monkeypatch.setattr(archive, "MAX_TOTAL_BYTES", 10_000)
    with pytest.raises(UsageError, match="would expand to .* more than the limit"):
        extract_zip(path)
    assert not (isolated_home / "projects").exists()


def _patch_declared_size(path: Path, real: int, declared: int) -> None:
    """Make the archive lie: headers say ``declared`` bytes for a member of ``real``."""
    data = bytearray(path.read_bytes())
    old, new = real.to_bytes(4, "little"), declared.to_bytes(4, "little")
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    assert data[local + 22 : local + 26] == old and data[central + 24 : central + 28] == old
    data[local + 22 : local + 26] = new
    data[central + 24 : central + 28] = new
    path.write_bytes(bytes(data))


def test_a_member_larger_than_declared_stops_extraction(
    tmp_path: Path, isolated_home: Path
) -> None:
    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("main.py", "print(1)\n" * 20_000)
    _patch_declared_size(path, 9 * 20_000, 100)
    with pytest.raises(UsageError, match="liar.zip: cannot extract main.py"):
        extract_zip(path)
    projects = isolated_home / "projects"
    assert not any(p.is_file() for p in projects.rglob("*")), list(projects.rglob("*"))
