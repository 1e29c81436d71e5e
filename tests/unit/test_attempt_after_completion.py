"""A job Slurm requeues after its program had completed (preempted during GraceTime, just as
the program ended) does not run the program again: the rendered attempt header, run by bash
with the variables Slurm sets, decides from the run's own .attempts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from hpcrun.render import _environment, builtin_templates


def attempt_header(scheduler: str = "slurm") -> str:
    env = _environment((str(builtin_templates()),))
    return env.get_template("slurm/attempt.sh.j2").render(plan=SimpleNamespace(scheduler=scheduler))


def run_header(run_dir: Path, attempts: str, job: str, restarts: int) -> tuple[int, str, str]:
    """(exit status, stderr, .attempts afterwards) of the header followed by the program."""
    (run_dir / ".attempts").write_text(attempts)
    script = (
        "set -euo pipefail\n"
        "hpcrun_log() { printf '[hpcrun] %s\\n' \"$*\" >&2; }\n"
        f"hpcrun_run_dir={run_dir}\nhpcrun_slurm_log={run_dir}/slurm.log\n"
        + attempt_header()
        + "echo the program ran >&2\n"
    )
    environ = {**os.environ, "SLURM_JOB_ID": job, "SLURM_RESTART_COUNT": str(restarts)}
    done = subprocess.run(["bash", "-c", script], env=environ, capture_output=True, text=True)
    return done.returncode, done.stderr, (run_dir / ".attempts").read_text()


COMPLETED = "1\tstarted\t2026-01-01T00:00:00Z\t77\n1\tended\tcompleted\t0\t2026-01-01T00:01:00Z\n"


def test_the_same_job_requeued_after_completion_records_it_and_runs_nothing(
    tmp_path: Path,
) -> None:
    code, log, attempts = run_header(tmp_path, COMPLETED, job="77", restarts=1)
    assert code == 0
    assert "the program ran" not in log
    assert "had completed in attempt 1" in log
    last = attempts.splitlines()[-1].split("\t")
    assert last[:4] == ["2", "ended", "completed", "0"]  # what tracking reads as the end


@pytest.mark.parametrize(
    ("attempts", "job", "restarts"),
    [
        (COMPLETED, "88", 1),  # another job in the same folder (a sweep point run again)
        (COMPLETED, "77", 0),  # not a requeue
        (COMPLETED.replace("completed\t0", "preempted\t3"), "77", 1),  # resume from checkpoint
        (COMPLETED.replace("completed\t0", "completed\t1"), "77", 1),
        ("", "77", 1),
    ],
)
def test_the_program_runs_whenever_the_last_attempt_did_not_complete_in_this_job(
    tmp_path: Path, attempts: str, job: str, restarts: int
) -> None:
    code, log, _ = run_header(tmp_path, attempts, job=job, restarts=restarts)
    assert code == 0, log
    assert "the program ran" in log


def test_the_local_site_never_skips() -> None:
    assert "had completed in attempt" not in attempt_header("local")
