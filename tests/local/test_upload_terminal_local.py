"""Uploads and terminal manners on the local site: a virtualenv is not uploaded, large files
are named in one warning, the progress bar appears only on a terminal (a real pty), and
NO_COLOR (or a pipe) means no colour."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import hpcrun
from tests.conftest import write

WORKFLOWS = """\
workflows:
  - name: listing
    provider: bash
    commands: [find . -type f | sort]
"""

COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # an SGR sequence: what NO_COLOR forbids
BAR = "uploading the project"


def on_a_terminal(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run hpcrun with stdout and stderr on a pseudo-terminal (``script``); what it showed."""
    command = " ".join([sys.executable, "-m", "hpcrun", *args])
    result = subprocess.run(
        ["script", "-qec", command, "/dev/null"], cwd=cwd, capture_output=True, timeout=120,
        env={**os.environ, "TERM": "xterm", **(env or {})}, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    text = result.stdout.decode(errors="replace")
    assert result.returncode == 0, text
    return text


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    write(tmp_path / "main.py", "print('hi')\n")
    venv = tmp_path / ".venv"
    write(venv / "pyvenv.cfg", "home = /usr/bin\n")
    write(venv / "lib" / "site.py", "x = 1\n")
    write(tmp_path / "env2" / "pyvenv.cfg", "home = /usr/bin\n")  # any name: the marker counts
    return tmp_path


def test_virtualenvs_are_not_uploaded_unless_named(project: Path) -> None:
    result = hpcrun("submit", "listing", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "./main.py" in result.stdout
    assert ".venv" not in result.stdout and "env2" not in result.stdout
    assert "warning" not in result.stderr  # skipped by default: nothing to warn about
    write(project / ".hpcrunignore", "!env2/\n")
    result = hpcrun("submit", "listing", cwd=project)
    assert "./env2/pyvenv.cfg" in result.stdout and ".venv" not in result.stdout
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert f"env2/ (16 B, un-ignored in {project / '.hpcrunignore'})" in warning, warning


def test_large_files_are_named_in_one_warning(project: Path) -> None:
    with open(project / "data.bin", "wb") as handle:
        handle.truncate(51 * 1024 * 1024)  # sparse: big but cheap
    result = hpcrun("submit", "-d", "listing", cwd=project)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: uploading large files that are not ignored: data.bin (51.0 MiB); if the job "
        f"does not need them, list them in {project / '.hpcrunignore'} (gitignore syntax)"
    ]
    write(project / ".hpcrunignore", "*.bin\n")
    quiet = hpcrun("submit", "-d", "listing", cwd=project)
    assert quiet.returncode == 0 and "warning" not in quiet.stderr, quiet.stderr


def test_progress_bar_only_on_a_terminal(project: Path) -> None:
    with open(project / "data.bin", "wb") as handle:
        handle.write(os.urandom(6 * 1024 * 1024))
    shown = on_a_terminal("submit", "-d", "listing", cwd=project)
    assert BAR in shown and "100%" in shown and "6.0 MiB of 6.0 MiB" in shown
    (project / "data.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    piped = hpcrun("submit", "-d", "listing", cwd=project)
    assert piped.returncode == 0, piped.stderr
    assert BAR not in piped.stderr and "\r" not in piped.stderr
    (project / "data.bin").write_bytes(b"small")
    small = on_a_terminal("submit", "-d", "listing", cwd=project)
    assert BAR not in small


def test_no_color_and_pipes_get_no_colour(project: Path) -> None:
    coloured = on_a_terminal("submit", "listing", cwd=project)
    assert COLOUR.search(coloured), coloured  # the notes are coloured at a terminal...
    plain = on_a_terminal("submit", "listing", cwd=project, env={"NO_COLOR": "1"})
    assert "hpcrun: submitted" in plain and not COLOUR.search(plain), plain
    empty = on_a_terminal("submit", "listing", cwd=project, env={"NO_COLOR": ""})
    assert COLOUR.search(empty)  # an empty NO_COLOR does not count (no-color.org)
    dumb = on_a_terminal("submit", "listing", cwd=project, env={"TERM": "dumb"})
    assert "hpcrun: submitted" in dumb and not COLOUR.search(dumb), dumb
    piped = hpcrun("submit", "listing", cwd=project)  # ...and never in a pipe
    assert "hpcrun: submitted" in piped.stderr and not COLOUR.search(piped.stderr)
    failing = hpcrun("site", "check", "no-such-site")
    assert failing.returncode == 2 and not COLOUR.search(failing.stderr)
