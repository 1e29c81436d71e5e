"""A sweep fetches each point's OUTPUT_FOLDER only: a sweep workflow's declared `artifacts:`
are named in a warning by `render` and by every tick, never dropped without a word."""

from __future__ import annotations

from pathlib import Path

from tests.cli import hpcrun
from tests.conftest import write

SWEEP = """\
workflows:
  - name: grid
    provider: bash
    commands: ["echo $HPCRUN_PARAM_X > $OUTPUT_FOLDER/x.txt"]
    {artifacts}
    sweep:
      matrix:
        x: [1, 2]
"""
WARNING = "sweep 'grid': its artifacts (results, model.pt) are not fetched"


def test_declared_artifacts_of_a_sweep_are_named_in_a_warning(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", SWEEP.format(artifacts="artifacts: [results, model.pt]"))
    rendered = hpcrun("render", "grid", cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert f"warning: {WARNING}" in rendered.stderr and "$OUTPUT_FOLDER" in rendered.stderr
    ticked = hpcrun("sweep", "grid", cwd=tmp_path)
    assert ticked.returncode == 0, ticked.stderr
    assert ticked.stderr.count(WARNING) == 1, ticked.stderr  # once per tick
    write(tmp_path / "workflows.yaml", SWEEP.format(artifacts="env: [A=1]"))
    quiet = hpcrun("render", "grid", cwd=tmp_path)
    assert quiet.returncode == 0 and "are not fetched" not in quiet.stderr, quiet.stderr
