"""`--json` where a script wants an answer: `tag` (which run it points at now, and which
before) and `render --check` (accepted or refused, and why). On the local site."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.conftest import write

WORKFLOWS = """\
workflows:
  - name: hello
    provider: bash
    commands: [echo hi]
  - name: huge
    provider: bash
    commands: [echo hi]
    resources: {cpu: 4096}
"""


def test_tag_json_says_where_the_tag_points_and_where_it_pointed(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    for _ in range(2):
        assert hpcrun("submit", "hello", cwd=tmp_path).returncode == 0
    newer, older = (r["run"] for r in ps_json())
    first = hpcrun("tag", older, "best", "--json")
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {"tag": "best", "run": older, "workflow": "hello",
                                        "previous": None}  # fmt: skip
    moved = hpcrun("tag", "--json", newer, "best")
    assert json.loads(moved.stdout)["previous"] == older
    assert json.loads(hpcrun("tag", "best", "best", "--json").stdout)["previous"] is None
    plain = hpcrun("tag", older, "best")  # without --json: the note, on stderr
    assert plain.stdout == "" and f"best -> {older} (moved from {newer})" in plain.stderr
    refused = hpcrun("tag", older, "../x", "--json")
    assert refused.returncode == 2 and refused.stdout == "" and "not allowed" in refused.stderr


def test_render_check_json_says_accepted_or_refused(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    fits = hpcrun("render", "hello", "--check", "--json", "-o", "out", cwd=tmp_path)
    assert fits.returncode == 0, fits.stderr
    verdict = json.loads(fits.stdout)  # the JSON object only: no script, no paths
    assert (verdict["workflow"], verdict["site"], verdict["accepted"]) == ("hello", "local", True)
    assert "fits this machine" in verdict["message"] and verdict["hint"] is None
    assert verdict["files"] == [str(tmp_path / "out" / "hello.sbatch")]
    assert (tmp_path / "out" / "hello.sbatch").read_text().startswith("#!/bin/bash")
    huge = hpcrun("render", "huge", "--check", "--json", "-o", "out2", cwd=tmp_path)
    assert huge.returncode == 2  # as without --json: a request no node can hold
    verdict = json.loads(huge.stdout)
    assert verdict["accepted"] is False and "fits on no node" in verdict["message"]
    assert "lower resources" in verdict["hint"] and verdict["files"] == []
    assert not (tmp_path / "out2").exists()
    alone = hpcrun("render", "hello", "--json", cwd=tmp_path)
    assert alone.returncode == 2 and "--json goes with --check" in alone.stderr
