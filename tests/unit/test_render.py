"""Rendering: golden scripts, site template overrides, and shell quoting that holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpcrun.errors import UsageError
from hpcrun.ops.prepare import prepare
from hpcrun.plan import JobPlan
from hpcrun.render import render_job_script, shell_path
from tests.conftest import DATA, write

GOLDEN = DATA / "golden"
SITE = str(DATA / "sites" / "gpu-cluster.yaml")
UPDATE = os.environ.get("HPCRUN_UPDATE_GOLDEN") == "1"


@pytest.mark.parametrize(
    ("workflow", "site"),
    [("train", SITE), ("preemptible", SITE), ("shell", SITE), ("knobs", SITE), ("train", "local")],
)
def test_golden_scripts(workflow: str, site: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPCRUN_HOME", "/home/alice/.local/share/hpcrun")  # stable local paths
    prepared = prepare(
        GOLDEN / "project" / ".dstack" / "workflows.yaml",
        workflow,
        site=site,
        run=f"{workflow}-0001",
    )
    golden = GOLDEN / f"{workflow}.{Path(site).stem}.sh"
    if UPDATE:
        golden.write_text(prepared.script)
    assert prepared.script == golden.read_text(), (
        f"regenerate with HPCRUN_UPDATE_GOLDEN=1: {golden}"
    )


def test_rendered_scripts_are_valid_bash() -> None:
    for golden in GOLDEN.glob("*.sh"):
        subprocess.run(["bash", "-n", str(golden)], check=True)


def test_site_template_folder_overrides_builtin(tmp_path: Path) -> None:
    write(tmp_path / "tpl" / "slurm" / "job.sh.j2", "#!/bin/bash\n# custom {{ plan.run|q }}\n")
    site = write(tmp_path / "site.yaml", "name: custom\nscheduler: slurm\ntemplates: tpl\n")
    prepared = prepare(
        GOLDEN / "project" / ".dstack" / "workflows.yaml", "shell", site=str(site), run="r-1"
    )
    assert prepared.script == "#!/bin/bash\n# custom r-1\n"


def test_undefined_template_variables_fail_loudly(tmp_path: Path) -> None:
    write(
        tmp_path / "tpl" / "slurm" / "job.sh.j2",
        "#!/bin/bash\n\n{{ plan.no_such_field }}{{ nope }}",
    )
    with pytest.raises(UsageError, match=r"template .*/tpl/slurm/job.sh.j2:3: .*no_such_field"):
        render_job_script(
            JobPlan(run="r", workflow="w", site="s", scheduler="slurm", job_name="r"),
            tmp_path / "tpl",
        )


def test_shell_path_keeps_home_meaningful() -> None:
    assert shell_path("~/hpc run") == "\"$HOME\"/'hpc run'"
    assert shell_path("~") == '"$HOME"'
    assert shell_path("/abs/$x") == "'/abs/$x'"


# --- hostile values arrive byte-for-byte -----------------------------------------------

HOSTILE = [
    "$(touch CANARY)",
    "`touch CANARY`",
    "'; touch CANARY; '",
    '"; touch CANARY; "',
    "a\nb\ntouch CANARY",
    "x; touch CANARY",
    "*",
    "~",
    "$HOME",
    "${PATH}",
    "héllo wörld ✓ 日本",
    "--help",
    "-rf",
    "",
    " ",
    "\\",
    "it's",
    "tab\there",
    "!event",
    "a && b || c | d > e < f & g",
]

RECORDER = """import json, os, sys
names = [n for n in os.environ if n.startswith("HOSTILE_")]
json.dump({"argv": sys.argv[1:], "env": {n: os.environ[n] for n in sorted(names)}},
          open(os.environ["RECORD_TO"], "w"))
"""


def run_rendered(tmp_path: Path, args: list[str], env: dict[str, str]) -> dict:
    """Render a job with these args/env, execute the script with bash, return what arrived."""
    run_dir = tmp_path / "run"
    write(run_dir / "code" / "recorder.py", RECORDER)
    record = tmp_path / "record.json"
    plan = JobPlan(
        run="r-1", workflow="w", site="local", scheduler="local", job_name="r-1",
        file="recorder.py", args=tuple(args), env=(("RECORD_TO", str(record)), *env.items()),
    )  # fmt: skip
    script = write(run_dir / "job.sh", render_job_script(plan))
    result = subprocess.run(
        ["bash", str(script)],
        cwd=run_dir,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(record.read_text())


def test_fixed_hostile_values_arrive_unchanged(tmp_path: Path) -> None:
    canary = tmp_path / "pwned"
    values = [v.replace("CANARY", str(canary)) for v in HOSTILE]
    env = {f"HOSTILE_{i:02d}": v for i, v in enumerate(values)}
    received = run_rendered(tmp_path, values, env)
    assert received["argv"] == values
    assert received["env"] == env
    assert not canary.exists()


shell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=st.lists(shell_text, max_size=4), value=shell_text)
def test_any_text_arrives_unchanged(tmp_path: Path, args: list[str], value: str) -> None:
    received = run_rendered(tmp_path, args, {"HOSTILE_V": value})
    assert received["argv"] == args
    assert received["env"] == {"HOSTILE_V": value}


def test_hostile_values_from_yaml_to_script(tmp_path: Path) -> None:
    """The whole path: workflows.yaml -> load -> resolve -> render -> bash."""
    canary = tmp_path / "pwned"
    values = [v.replace("CANARY", str(canary)) for v in HOSTILE]
    project = tmp_path / "p"
    write(project / "recorder.py", RECORDER)
    write(
        project / ".dstack" / "workflows.yaml",
        json.dumps(
            {
                "workflows": [
                    {
                        "name": "w",
                        "provider": "python",
                        "file": "recorder.py",
                        "args": values,
                        "environment": {
                            "HOSTILE_A": values[0],
                            "HOSTILE_B": values[4],
                            "RECORD_TO": str(tmp_path / "record.json"),
                        },
                    }
                ]
            }
        ),
    )
    prepared = prepare(project / ".dstack" / "workflows.yaml", "w", site="local", run="w-1")
    run_dir = tmp_path / "run"
    (run_dir / "code").mkdir(parents=True)
    write(run_dir / "code" / "recorder.py", RECORDER)
    write(run_dir / "job.sh", prepared.script)
    subprocess.run(
        ["bash", "job.sh"],
        cwd=run_dir,
        check=True,
        timeout=60,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    received = json.loads((tmp_path / "record.json").read_text())
    assert received["argv"] == values
    assert received["env"] == {"HOSTILE_A": values[0], "HOSTILE_B": values[4]}
    assert not canary.exists()


def test_plan_replace_keeps_quoting(tmp_path: Path) -> None:
    plan = JobPlan(run="r", workflow="w", site="s", scheduler="slurm", job_name="r", file="a b.py")
    script = render_job_script(replace(plan, args=("$(id)",)))
    assert "\"$hpcrun_python\" 'a b.py' '$(id)' &" in script


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "tpl" / "slurm" / "job.sh.j2", "#!/bin/bash\n{% if plan.run %}\nno end\n")
    plan = JobPlan(run="r", workflow="w", site="s", scheduler="slurm", job_name="r")
    with pytest.raises(UsageError, match=r"template .*job.sh.j2:\d+: Unexpected end of template"):
        render_job_script(plan, tmp_path / "tpl")


def test_env_path_uses_the_python_that_runs(tmp_path: Path) -> None:
    """Asked for 3.10 where only another python3 exists: the env is keyed by the real one."""
    run_dir = tmp_path / "run"
    write(run_dir / "code" / "requirements.txt", "")
    write(run_dir / "code" / "a.py", "import sys; print(sys.prefix)\n")
    plan = JobPlan(
        run="r", workflow="w", site="local", scheduler="local", job_name="r", file="a.py",
        python_version="3.99", requirements="requirements.txt", env_key="abc123",
        remote_root=str(tmp_path / "root"),
    )  # fmt: skip
    write(run_dir / "job.sh", render_job_script(plan))
    result = subprocess.run(
        ["bash", "job.sh"], cwd=run_dir, capture_output=True, text=True, timeout=120,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    expected = tmp_path / "root" / "envs" / f"py{version}-abc123"
    assert result.stdout.strip() == str(expected)
    assert "Python 3.99 is not installed here; using Python" in result.stderr


def test_patch_versions_look_for_the_minor_interpreter() -> None:
    plan = JobPlan(run="r", workflow="w", site="s", scheduler="slurm", job_name="r",
                   python_version="3.10.4", file="a.py")  # fmt: skip
    script = render_job_script(plan)
    assert "for hpcrun_candidate in python3.10 python3; do" in script
