"""The environment part of the scripts: the normalised requirements and the run's own code
reach bash quoted, and the login-node build script is valid bash with --rebuild-env."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hpcrun.plan import JobPlan
from hpcrun.render import render_env_script, render_job_script
from tests.cli import hpcrun
from tests.conftest import DATA, write

HOSTILE_DIR = "it's $(touch CANARY) `x` dir"

PRINT_PATH = "import os, sys\nprint('PYTHONPATH=' + os.environ['PYTHONPATH'])\n"


def plan(**fields: object) -> JobPlan:
    return JobPlan(
        run="r-1", workflow="w", site="local", scheduler="local", job_name="r-1", **fields
    )  # type: ignore[arg-type]


def test_own_folders_go_first_on_pythonpath_quoted(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    hostile = HOSTILE_DIR  # a substitution would touch CANARY in the working directory
    write(run_dir / "code" / "show.py", PRINT_PATH)
    script = render_job_script(
        plan(file="show.py", python_path=(hostile, "."), env=(("PYTHONPATH", "user"),))
    )
    write(run_dir / "job.sh", script)
    result = subprocess.run(
        ["bash", str(run_dir / "job.sh")], cwd=run_dir, capture_output=True, text=True,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    code = run_dir / "code"
    expected = f"{code}/{hostile}:{code}:user"  # own code first, then the workflow's own value
    assert f"PYTHONPATH={expected}" in result.stdout
    assert not list(run_dir.rglob("CANARY"))


def test_env_lines_are_quoted_and_the_login_script_is_valid_bash(tmp_path: Path) -> None:
    lines = ("--index-url https://x.org/simple", "numpy; python_version >= '3' $(touch CANARY)")
    job = plan(
        env_key="0123456789abcdef", env_requirements=lines, env_constraints=("numpy<3",),
        rebuild_env=True, requirements="requirements.txt",
    )  # fmt: skip
    for script in (render_env_script(job), render_job_script(job)):
        assert "'numpy; python_version >= '\"'\"'3'\"'\"' $(touch CANARY)'" in script
        assert "env-rebuilt" in script and "constraints.txt" in script
        subprocess.run(["bash", "-n"], input=script, text=True, check=True)
    assert "hpcrun_login_build=1" in render_env_script(job)
    assert "hpcrun_login_build" not in render_job_script(job).split("hpcrun_log()")[0]


def test_rebuild_env_flag_reaches_the_script() -> None:
    workflows = str(DATA / "golden" / "project" / ".dstack" / "workflows.yaml")
    site = str(DATA / "sites" / "gpu-cluster.yaml")
    plain = hpcrun("submit", workflows, "train", "--site", site, "--dry-run")
    rebuild = hpcrun("submit", workflows, "train", "--site", site, "--dry-run", "--rebuild-env")
    assert plain.returncode == rebuild.returncode == 0, plain.stderr + rebuild.stderr
    assert "hpcrun_rebuild_env=0" in plain.stdout and "env-rebuilt" not in plain.stdout
    assert "hpcrun_rebuild_env=1" in rebuild.stdout and "env-rebuilt" in rebuild.stdout
