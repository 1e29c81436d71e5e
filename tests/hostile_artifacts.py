"""A job that leaves dangerous things among its artifacts (shared by the local-site and the
test-cluster tests of safe artifact fetches)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

WORKFLOWS = """workflows:
  - name: hostile
    provider: bash
    version: "3.11"
    artifacts: [data]
    commands:
      - mkdir -p data && echo d > data/d.txt && ln -s /etc/passwd data/passwd
      - cd "$OUTPUT_FOLDER"
      - echo result > result.txt
      - printf 'echo hi' > suid && chmod 4755 suid
      - echo open > open && chmod 0777 open
      - ln -s /etc etc
      - mkdir sub && ln -s ../result.txt sub/inside
"""

UNSAFE_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH


def check_fetched(artifacts: Path, stderr: str) -> None:
    """Nothing dangerous came home, and the user was told about each refused link."""
    out = artifacts / "output"
    assert (out / "result.txt").read_text() == "result\n"
    assert (artifacts / "data" / "d.txt").read_text() == "d\n"
    for path in artifacts.rglob("*"):
        if not path.is_symlink():
            mode = stat.S_IMODE(path.lstat().st_mode)
            assert not mode & UNSAFE_BITS, f"{path} kept mode {oct(mode)}"
    assert stat.S_IMODE((out / "suid").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "open").stat().st_mode) == 0o775
    for refused in (out / "etc", artifacts / "data" / "passwd"):
        assert not refused.is_symlink() and not refused.exists()
    assert os.readlink(out / "sub" / "inside") == "../result.txt"
    for name in ("output/etc", "data/passwd"):
        assert f"not fetched: {name} is a symlink pointing outside" in stderr, stderr
    assert not list(artifacts.rglob(".hpcrun-partial"))
