"""Safe artifact fetches on the local site: a real job leaves a setuid file, a 0777 file
and symlinks pointing outside; the attached submit and `hpcrun artifacts` bring home none
of them and name each refused link."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.conftest import write
from tests.hostile_artifacts import WORKFLOWS, check_fetched


def test_hostile_artifacts_are_fetched_safely(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    result = hpcrun("submit", "hostile", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [run] = ps_json()
    artifacts = Path(run["artifacts_dir"])
    check_fetched(artifacts, result.stderr)

    shutil.rmtree(artifacts)
    again = hpcrun("artifacts", run["run"], "--dest", str(tmp_path / "again"))
    assert again.returncode == 0, again.stderr
    check_fetched(tmp_path / "again", again.stderr)
