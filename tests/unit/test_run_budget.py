"""A run's total budget with resume_on_timeout (docs/interruptible.md#a-budget-for-the-whole-run):
job_time is each job's --time, max_duration the budget over all attempts. The spec's checks,
the plan, the rendered script (bash -n), the budget arithmetic of the script run under bash
on fake .attempts files, and the whole job script run here with a fake `scontrol` to show
when it requeues, when it trims the last attempt and when it stops with the budget spent.
The real thing on Slurm: tests/integration/test_interruptible.py."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hpcrun.errors import UsageError
from hpcrun.render import render_job_script
from hpcrun.schedulers import slurm_restarts
from hpcrun.schedulers.status import JobStatus
from hpcrun.site.models import Site
from hpcrun.site.resolve import resolve
from hpcrun.spec.models import BashWorkflow, PythonWorkflow
from hpcrun.spec.overrides import Overrides, apply_overrides

SLURM = {"name": "c", "scheduler": "slurm", "partitions": {"default": "main"}}


def workflow(**fields: Any) -> PythonWorkflow:
    return PythonWorkflow.model_validate({"name": "w", "provider": "python", "file": "a.py",
                                          **fields})  # fmt: skip


def plan(the_workflow: Any, **site: Any) -> Any:
    return resolve(the_workflow, Site.model_validate({**SLURM, **site}), run="w-1")


def test_job_time_is_the_per_job_limit_and_max_duration_the_budget() -> None:
    result = plan(workflow(max_duration="4h", job_time="1h", resume_on_timeout=5))
    assert (result.time, result.time_seconds) == ("01:00:00", 3600)
    assert (result.budget, result.budget_seconds) == ("4h", 14400)
    script = render_job_script(result)
    assert "#SBATCH --time=01:00:00" in script
    assert (
        "# budget: 4h (max_duration) over all attempts, each at most 01:00:00 (job_time)" in script
    )
    assert "hpcrun_budget_seconds=14400" in script
    subprocess.run(["bash", "-n"], input=script, text=True, check=True)


def test_without_job_time_max_duration_stays_the_per_job_limit() -> None:
    for fields in ({"max_duration": "4h", "resume_on_timeout": 5}, {"max_duration": "4h"}):
        result = plan(workflow(**fields))
        assert (result.time, result.budget, result.budget_seconds) == ("04:00:00", None, None)
        assert "hpcrun_budget" not in render_job_script(result)
    # job_time without max_duration: a per-job limit, no budget
    result = plan(workflow(job_time="1h", resume_on_timeout=2), defaults={"time": "8h"})
    assert (result.time, result.budget) == ("01:00:00", None)
    # the local site has no time limit and no budget
    local = resolve(workflow(max_duration="4h", job_time="1h", resume_on_timeout=5),
                    Site.model_validate({"name": "local", "scheduler": "local"}), run="w-1")  # fmt: skip
    assert local.budget is None and "hpcrun_budget" not in render_job_script(local)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"max_duration": "1h", "job_time": "2h", "resume_on_timeout": 3},
            "longer than max_duration",
        ),
        ({"max_duration": "4h", "job_time": "1h"}, "resume_on_timeout is not set"),
        ({"max_duration": "4h", "job_time": "soon", "resume_on_timeout": 1}, "not a time limit"),
    ],
)
def test_job_time_refusals_name_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        workflow(**fields)
    errors = caught.value.errors()
    assert [error["loc"] for error in errors] == [("job_time",)]
    assert message in str(errors[0]["msg"])


def test_workflow_file_error_has_file_line_field_and_exit_2(tmp_path: Path) -> None:
    from tests.cli import hpcrun

    (tmp_path / ".dstack").mkdir()
    (tmp_path / "a.py").write_text("")
    (tmp_path / ".dstack" / "workflows.yaml").write_text(
        "workflows:\n  - name: w\n    provider: python\n    file: a.py\n"
        "    max_duration: 2h\n    resume_on_timeout: 3\n    job_time: 3h\n"
    )
    result = hpcrun("render", "w", "--site", "local", cwd=tmp_path)
    assert result.returncode == 2
    assert "workflows.yaml:7:" in result.stderr and "job_time" in result.stderr
    assert "longer than max_duration 2h" in result.stderr
    assert "Traceback" not in result.stderr


def test_command_line_job_time_and_time() -> None:
    base = workflow(max_duration="4h", resume_on_timeout=5)
    given = apply_overrides(base, Overrides(job_time="30m"))
    assert plan(given).time == "00:30:00" and plan(given).budget == "4h"
    given = apply_overrides(base, Overrides(job_time="30m", time="2h"))
    assert (plan(given).time, plan(given).budget) == ("00:30:00", "2h")
    with pytest.raises(UsageError, match="--job-time: job_time 5h is longer"):
        apply_overrides(base, Overrides(job_time="5h"))


# --- the script's arithmetic, run under bash ------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def at(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def fragment(the_plan: Any) -> str:
    """The budget functions of the rendered script (from its first budget line to the
    function after them)."""
    script = render_job_script(the_plan)
    start = script.index("hpcrun_budget_seconds=")
    end = script.index('hpcrun_slurm_restarts=""', start)
    return script[start:end]


def bash(the_plan: Any, attempts: str, commands: str, tmp_path: Path) -> str:
    (tmp_path / ".attempts").write_text(attempts)
    program = (
        f'hpcrun_log() {{ printf "[hpcrun] %s\\n" "$*"; }}\nhpcrun_attempts={tmp_path}/.attempts\n'
        f"SLURM_JOB_ID=7\n{fragment(the_plan)}\n{commands}\n"
    )
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", program], capture_output=True,
                          text=True, env=env, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_time_used_sums_every_attempt(tmp_path: Path) -> None:
    the_plan = plan(workflow(max_duration="4h", job_time="1h", resume_on_timeout=5))
    attempts = (
        f"1\tstarted\t{at(0)}\t7\n1\tended\ttime limit\t3\t{at(3500)}\n"
        # attempt 2 killed before it could record its end: until attempt 3 started, at most 1 h
        f"2\tstarted\t{at(3700)}\t7\n"
        f"3\tstarted\t{at(9000)}\t7\n3\tended\ttime limit\t3\t{at(9000 + 3000)}\n"
    )
    assert bash(the_plan, attempts, "hpcrun_time_used", tmp_path) == f"{3500 + 3600 + 3000}\n"
    out = bash(
        the_plan, attempts, 'hpcrun_budget_allows && echo "yes $hpcrun_budget_left"', tmp_path
    )
    assert out == f"yes {14400 - 10100}\n"
    # 100 s left: less than the slice (two warning leads: 240 s)
    spent = f"1\tstarted\t{at(0)}\t7\n1\tended\ttime limit\t3\t{at(14300)}\n"
    out = bash(the_plan, spent, 'hpcrun_budget_allows || echo "no $hpcrun_budget_left"', tmp_path)
    assert out == "no 100\n"
    assert bash(the_plan, "", "hpcrun_clock 14405", tmp_path) == "4h00m05s"


def test_job_limit_is_read_from_scontrol(tmp_path: Path) -> None:
    the_plan = plan(workflow(max_duration="4h", job_time="1h", resume_on_timeout=5))
    checks = {"TimeLimit=1-02:03:04": 93784, "TimeLimit=00:05:00": 300, "TimeLimit=05:30": 330,
              "TimeLimit=UNLIMITED": 3600, "": 3600}  # fmt: skip
    for text, seconds in checks.items():
        info = f"JobId=7 JobName=w {text} TimeMin=N/A Restarts=1"
        out = bash(the_plan, "", f"hpcrun_job_limit '{info}'", tmp_path)
        assert out == f"{seconds}\n", text


def test_trim_lowers_the_last_attempt_to_what_is_left(tmp_path: Path) -> None:
    the_plan = plan(workflow(max_duration="4h", job_time="1h", resume_on_timeout=5))
    fake = tmp_path / "scontrol"
    fake.write_text(f'#!/bin/sh\necho "$@" >>{tmp_path}/calls\n')
    fake.chmod(0o755)
    attempts = f"1\tstarted\t{at(0)}\t7\n1\tended\ttime limit\t3\t{at(12570)}\n"  # 1830 s left
    out = bash(the_plan, attempts, "hpcrun_budget_allows && hpcrun_budget_trim", tmp_path)
    assert "the next attempt gets the rest of the budget: 30 min" in out
    assert (tmp_path / "calls").read_text() == "update JobId=7 TimeLimit=30\n"
    (tmp_path / "calls").unlink()
    roomy = f"1\tstarted\t{at(0)}\t7\n1\tended\ttime limit\t3\t{at(3500)}\n"
    assert bash(the_plan, roomy, "hpcrun_budget_allows && hpcrun_budget_trim", tmp_path) == ""
    assert not (tmp_path / "calls").exists()


# --- the whole job script, here, with a fake scontrol ---------------------------------------

PROGRAM = "trap 'exit 3' USR1; kill -USR1 $$; sleep 5 & wait"  # warned: saves, exits 3


def run_job(tmp_path: Path, before: str, budget: str = "3m") -> tuple[str, str, str]:
    """One attempt (the third) of a 1-minute job with ``budget``, whose program is warned
    and exits 3: (its log, scontrol's calls, .attempts)."""
    the_workflow = BashWorkflow.model_validate(
        {
            "name": "w",
            "provider": "bash",
            "commands": [PROGRAM],
            "max_duration": budget,
            "job_time": "1m",
            "resume_on_timeout": 9,
        }
    )
    script = render_job_script(plan(the_workflow))
    (tmp_path / "code").mkdir()
    (tmp_path / ".attempts").write_text(before)
    fake = tmp_path / "bin" / "scontrol"
    fake.parent.mkdir()
    fake.write_text(
        f'#!/bin/sh\necho "$@" >>{tmp_path}/calls\n'
        'if [ "$1" = show ]; then echo "JobId=7 Restarts=2 TimeLimit=00:01:00 PreemptTime=None"; fi\n'
    )
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}", "SLURM_JOB_ID": "7",
           "SLURM_RESTART_COUNT": "2", "SLURM_SUBMIT_DIR": str(tmp_path)}  # fmt: skip
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 3, done.stderr  # the program's status
    calls = (tmp_path / "calls").read_text() if (tmp_path / "calls").exists() else ""
    return done.stderr, calls, (tmp_path / ".attempts").read_text()


def past(seconds_ago: int) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def two_attempts(each: int) -> str:
    return (
        f"1\tstarted\t{past(400)}\t7\n1\tended\ttime limit\t3\t{past(400 - each)}\n"
        f"2\tstarted\t{past(200)}\t7\n2\tended\ttime limit\t3\t{past(200 - each)}\n"
    )


def test_job_requeues_while_the_budget_has_room(tmp_path: Path) -> None:
    log, calls, attempts = run_job(tmp_path, two_attempts(40))  # 80 s of 180 used
    assert "attempt 3 ended: time limit (exit 3)" in log
    assert "requeueing job 7" in log and "requeue 7\n" in calls
    assert "budget" not in log  # 100 s left: a whole 1-minute attempt, nothing to trim
    assert attempts.endswith("\tended\ttime limit\t3\t" + attempts.rsplit("\t", 1)[1])


def test_job_stops_when_the_budget_is_spent(tmp_path: Path) -> None:
    log, calls, attempts = run_job(tmp_path, two_attempts(65))  # 130 s of 180 used
    assert "attempt 3 ended: time limit (exit 3)" in log
    assert "[hpcrun] budget of 3m spent after 3 attempts (0h02m1" in log
    assert "not requeued" in log
    assert "requeue" not in calls
    # tracking: Slurm says FAILED (the program's exit 3), the run ran out of time
    failed = JobStatus("7", "failed", "FAILED", True, 3)
    assert slurm_restarts.what_happened(failed, attempts).state == "timeout"
