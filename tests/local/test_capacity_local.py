"""The local site's capacity is this machine: `render --check` refuses a workflow that
asks for more CPUs or memory than it has (exit 2, naming what it has), `submit` warns."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli import hpcrun
from tests.conftest import write

WORKFLOWS = """workflows:
  - name: huge
    provider: bash
    commands: [echo ran]
    resources: {cpu: 100000}
  - name: greedy
    provider: bash
    commands: [echo ran]
    resources: {memory: 100TB}
  - name: small
    provider: bash
    commands: [echo ran]
    resources: {cpu: 1}
"""


def test_render_check_refuses_more_than_this_machine(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    huge = hpcrun("render", "huge", "--check", cwd=tmp_path)
    assert huge.returncode == 2, huge.stderr
    assert f"100000 CPUs per task, but the largest node of this machine has {os.cpu_count()}" in (
        huge.stderr
    )
    assert "Traceback" not in huge.stderr
    greedy = hpcrun("render", "greedy", "--check", cwd=tmp_path)
    assert greedy.returncode == 2 and "of memory, but the largest node" in greedy.stderr
    small = hpcrun("render", "small", "--check", cwd=tmp_path)
    assert small.returncode == 0, small.stderr
    assert hpcrun("render", "huge", cwd=tmp_path).returncode == 0  # no --check: no check


def test_site_check_shows_this_machine(tmp_path: Path) -> None:
    result = hpcrun("site", "check", "local", cwd=tmp_path)
    assert f"this machine: {os.cpu_count()} CPUs" in result.stdout, result.stdout + result.stderr


def test_submit_warns_but_submits(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    result = hpcrun("submit", "huge", cwd=tmp_path)
    assert "warning: this job fits on no node of site 'local'" in result.stderr
    assert "100000 CPUs per task" in result.stderr
    assert result.returncode == 0, result.stderr  # the local site runs it anyway
