"""Tracking rules that need no cluster: a submission in progress is left alone; a dead
submitter's run is closed; dependencies that ended unwatched are reused."""

from __future__ import annotations

import time
from pathlib import Path

from hpcrun.locks import holding
from hpcrun.ops.session import Session
from hpcrun.ops.track import refresh
from hpcrun.store import RunRecord
from tests.cli import hpcrun, ps_json
from tests.conftest import write


def test_ps_during_a_submission_leaves_it_alone(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    with Session() as session:
        _, path = session.site("local")
        session.store.create_run(
            RunRecord(run="x-1", workflow="x", site="local", site_config=str(path),
                      remote_dir=str(run_dir))
        )  # fmt: skip
        with holding("submit-x-1"):  # another process is still uploading
            refresh(session)
            assert session.store.get("x-1").state == "submitting"
        refresh(session)  # the submitter is gone and never reached the scheduler
        record = session.store.get("x-1")
    assert (record.state, record.final) == ("failed", True)
    assert "confirmed that no job carries its name" in record.state_reason


def test_a_dependency_that_ended_unwatched_is_reused(tmp_path: Path) -> None:
    write(tmp_path / "prep.py", "import pathlib\npathlib.Path('data').mkdir(exist_ok=True)\n"
                                "pathlib.Path('data/x.txt').write_text('once')\n")  # fmt: skip
    write(
        tmp_path / "use.py",
        "import pathlib\nprint('got', pathlib.Path('data/x.txt').read_text())\n",
    )
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n"
        "  - name: prep\n    provider: python\n    file: prep.py\n    artifacts: [data]\n"
        "  - name: use\n    provider: python\n    file: use.py\n    deps: [prep]\n",
    )
    assert hpcrun("submit", "prep", "-d", cwd=tmp_path).returncode == 0
    time.sleep(2)  # prep ends while no hpcrun process watches it
    result = hpcrun("submit", "use", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "got once" in result.stdout
    assert [r["workflow"] for r in ps_json()].count("prep") == 1
