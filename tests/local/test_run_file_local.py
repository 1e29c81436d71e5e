"""`hpcrun submit train.py ARGS` and `hpcrun run python train.py`, for real on the local
site: no workflows file needed, arguments reach the program, requirements beside the file
are installed, the project root is found, and a word that is both a path and a workflow
is refused instead of guessed.

Offline: requirements come from a wheel in the project (--no-index --find-links)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.cli import hpcrun, ps_json
from tests.conftest import write
from tests.wheels import build_wheel

# Prints what the program got, as one JSON line.
TRAIN = """import json, os, sys
try:
    import hpcrun_testpkg
    package = hpcrun_testpkg.VERSION
except ImportError:
    package = None
print("GOT " + json.dumps({"args": sys.argv[1:], "cwd": os.getcwd(), "package": package,
                          "python": "%d.%d" % sys.version_info[:2]}))
"""

WORKFLOWS = """workflows:
  - name: proj
    provider: bash
    commands: [echo "the proj workflow"]
  - name: other
    provider: bash
    commands: [echo "the other workflow"]
"""

REQUIREMENTS = "--no-index\n--find-links wheels\nhpcrun_testpkg\n"
RUNNING_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def got(stdout: str) -> dict[str, object]:
    [line] = [line for line in stdout.splitlines() if line.startswith("GOT ")]
    return json.loads(line[4:])


def test_submit_file_without_workflows_file(tmp_path: Path) -> None:
    write(tmp_path / "train.py", TRAIN)
    result = hpcrun("submit", "train.py", "--epochs", "3", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = got(result.stdout)
    assert seen["args"] == ["--epochs", "3"]
    assert seen["package"] is None  # no requirements: no environment
    assert seen["python"] == RUNNING_PYTHON  # the local site's default Python
    [run] = ps_json()
    assert (run["workflow"], run["state"]) == ("train", "completed")


def test_run_python_with_requirements_in_a_folder_with_workflows(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    write(tmp_path / "train.py", TRAIN)
    write(tmp_path / "reqs.txt", REQUIREMENTS)
    build_wheel(tmp_path / "wheels", "hpcrun_testpkg", "0.7")
    result = hpcrun("run", "python", "train.py", "-r", "reqs.txt", "--", "--x", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = got(result.stdout)
    assert seen["args"] == ["--x", "1"] and seen["package"] == "0.7"
    # the same with submit, options of both kinds after the file
    result = hpcrun("submit", "train.py", "--epochs", "3", "-r", "reqs.txt", "-e", "A=1",
                    "--", "--memory", "2", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    seen = got(result.stdout)
    assert seen["args"] == ["--epochs", "3", "--memory", "2"] and seen["package"] == "0.7"
    assert "environment" in result.stdout and "reused" in result.stdout


def test_requirements_beside_the_file_and_the_git_root(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    write(root / "data.txt", "at the root\n")
    write(root / "src" / "train.py", TRAIN + "print(open('data.txt').read())\n")
    # requirements.txt beside the file; its --find-links is read from the project root,
    # where the job starts
    write(root / "src" / "requirements.txt", REQUIREMENTS)
    build_wheel(root / "wheels", "hpcrun_testpkg", "0.3")
    result = hpcrun("submit", "train.py", "a", cwd=root / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    seen = got(result.stdout)
    assert seen["args"] == ["a"] and seen["package"] == "0.3"
    assert "at the root" in result.stdout  # the whole repository was uploaded
    script = hpcrun("submit", "--dry-run", "train.py", cwd=root / "src").stdout
    assert '"$hpcrun_python" src/train.py &' in script


def test_dstack_folder_is_a_project_root_too(tmp_path: Path) -> None:
    (tmp_path / ".dstack").mkdir()
    write(tmp_path / "tools" / "job.py", TRAIN)
    script = hpcrun("run", "python", "job.py", "--dry-run", "--", "-v", cwd=tmp_path / "tools")
    assert script.returncode == 0, script.stderr
    assert '"$hpcrun_python" tools/job.py -v &' in script.stdout
    # a file outside the project root is refused, nothing is sent
    write(tmp_path.parent / f"{tmp_path.name}-outside.py", TRAIN)
    result = hpcrun("submit", f"../{tmp_path.name}-outside.py", cwd=tmp_path)
    assert result.returncode == 2 and "outside" in result.stderr, result.stderr
    assert ps_json() == []


def test_a_word_that_is_both_folder_and_workflow(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS)
    write(tmp_path / "proj" / "main.py", "print('the proj folder')\n")
    write(tmp_path / "data" / "main.py", "print('the data folder')\n")
    result = hpcrun("submit", "proj", cwd=tmp_path)
    assert result.returncode == 2
    assert "'proj' is both a folder here and a workflow in workflows.yaml" in result.stderr
    assert "hpcrun submit ./proj" in result.stderr
    assert "hpcrun submit workflows.yaml proj" in result.stderr
    assert ps_json() == []
    # each way of saying which one runs that one
    folder = hpcrun("submit", "./proj", cwd=tmp_path)
    assert folder.returncode == 0 and "the proj folder" in folder.stdout, folder.stderr
    workflow = hpcrun("submit", "workflows.yaml", "proj", cwd=tmp_path)
    assert workflow.returncode == 0 and "the proj workflow" in workflow.stdout, workflow.stderr
    # a folder that is not a workflow name is the folder; a workflow name is the workflow
    data = hpcrun("submit", "data", cwd=tmp_path)
    assert data.returncode == 0 and "the data folder" in data.stdout, data.stderr
    other = hpcrun("submit", "other", cwd=tmp_path)
    assert other.returncode == 0 and "the other workflow" in other.stdout, other.stderr
    runs = {(r["workflow"], r["state"]) for r in ps_json()}
    assert runs == {("proj", "completed"), ("data", "completed"), ("other", "completed")}


def test_a_file_that_is_also_a_workflow_name(tmp_path: Path) -> None:
    write(tmp_path / "workflows.yaml", WORKFLOWS.replace("name: other", "name: train.py"))
    write(tmp_path / "train.py", TRAIN)
    result = hpcrun("submit", "train.py", "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 2
    assert "'train.py' is both a Python file here and a workflow" in result.stderr
    result = hpcrun("submit", "./train.py", "--epochs", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert got(result.stdout)["args"] == ["--epochs", "1"]


def test_site_default_python_for_folders_and_files(tmp_path: Path) -> None:
    write(tmp_path / "proj" / "main.py", TRAIN)
    write(tmp_path / "train.py", TRAIN)
    site = write(
        tmp_path / "mine.yaml", 'name: mine\nscheduler: local\ndefaults:\n  python: "3.9"\n'
    )
    for target in ("proj", "train.py"):
        default = hpcrun("submit", "--dry-run", target, cwd=tmp_path)
        assert f"for hpcrun_candidate in python{RUNNING_PYTHON} python3" in default.stdout
        mine = hpcrun("submit", "--dry-run", target, "--site", str(site), cwd=tmp_path)
        assert "for hpcrun_candidate in python3.9 python3" in mine.stdout, mine.stderr
        flag = hpcrun("submit", "--dry-run", "--python", "3.12", target, "--site", str(site),
                      cwd=tmp_path)  # fmt: skip
        assert "for hpcrun_candidate in python3.12 python3" in flag.stdout, flag.stderr
