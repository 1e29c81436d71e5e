"""`hpcrun ps` says in its FETCHED column whether an ended run's artifacts were fetched:
blank while it runs, `no` once it has ended unwatched, `yes` after the first follower
(`wait`) fetched them. On the local site."""

from __future__ import annotations

import time
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.conftest import write

WORKFLOWS = """\
workflows:
  - name: makes
    provider: bash
    commands: [sleep 1, mkdir -p out, echo hi > out/a.txt]
    artifacts: [out]
"""


def fetched_cell(run: str) -> str:
    """The FETCHED cell of RUN's row in `hpcrun ps` (piped: rows printed whole)."""
    result = hpcrun("ps")
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    start = header.index("FETCHED")
    assert header[start:].split()[:2] == ["FETCHED", "SUBMITTED"], header
    row = next(line for line in rows if line.startswith(run + " "))
    return row[start : start + len("FETCHED")].strip()


def test_ps_says_whether_artifacts_were_fetched(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    submitted = hpcrun("submit", "-d", "makes", cwd=tmp_path)
    assert submitted.returncode == 0, submitted.stderr
    run = submitted.stdout.strip()
    assert fetched_cell(run) == ""  # still running: nothing to say yet
    deadline = time.monotonic() + 60
    while not {r["run"]: r for r in ps_json()}[run]["final"]:  # ps refreshes, never fetches
        assert time.monotonic() < deadline, "the run did not end"
        time.sleep(0.3)
    assert fetched_cell(run) == "no"
    assert hpcrun("wait", run).returncode == 0  # the first follower fetches them
    assert fetched_cell(run) == "yes"
