"""The local site end to end: real detached processes, the real store, the real CLI.

No cluster is needed: these run the same job script a Slurm job gets, as a local process.
"""

from __future__ import annotations

import json
import re
import time
import zipfile
from pathlib import Path

import pytest

from tests.cli import hpcrun, ps_json
from tests.conftest import REPO, write
from tests.wheels import build_wheel

EXAMPLE = REPO / "examples" / "quickstart" / "workflows.yaml"


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def test_example_workflow_end_to_end(isolated_home: Path) -> None:
    result = hpcrun("submit", str(EXAMPLE), "hello")
    assert result.returncode == 0, result.stderr
    assert "step 5/5: running total 55" in result.stdout  # the job's output was streamed
    [run] = ps_json()
    assert run["state"] == "completed" and run["exit_code"] == 0
    assert run["site"] == "local" and run["workflow"] == "hello"
    for key in ("run", "job_id", "submitted_at", "finished_at", "artifacts_dir"):
        assert run[key], key
    artifacts = Path(run["artifacts_dir"])
    assert (artifacts / "results" / "squares.txt").read_text() == "55\n"
    summary = json.loads((artifacts / "output" / "summary.json").read_text())
    assert summary["run"] == run["run"] and summary["experiment"] == "quickstart"
    assert summary["job_id"] == run["job_id"]
    # the last lines: where the artifacts are, what the run used (and maybe a memory hint)
    tail = [line for line in result.stderr.splitlines() if not line.startswith("hpcrun: hint:")]
    assert f"artifacts of {run['run']} are in {artifacts}" in tail[-2]
    assert tail[-1].startswith("hpcrun: used ")


def test_failing_workflow_propagates_its_exit_code(tmp_path: Path) -> None:
    write(tmp_path / "fail.py", "import sys\nprint('about to fail')\nsys.exit(7)\n")
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: boom\n    provider: python\n    file: fail.py\n",
    )
    result = hpcrun("submit", "boom", cwd=tmp_path)
    assert result.returncode == 7, result.stderr
    assert "about to fail" in result.stdout
    [run] = ps_json()
    assert (run["state"], run["exit_code"]) == ("failed", 7)


def test_detached_run_is_recorded_without_a_watcher(tmp_path: Path) -> None:
    write(tmp_path / "w.py", "import time\ntime.sleep(1)\nprint('finished alone')\n")
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: w\n    provider: python\n    file: w.py\n",
    )
    result = hpcrun("submit", "w", "-d", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    run = result.stdout.strip()
    time.sleep(2.5)  # the job ends while no hpcrun process is running
    [record] = ps_json()
    assert (record["run"], record["state"], record["exit_code"]) == (run, "completed", 0)
    logs = hpcrun("logs", run)
    assert "finished alone" in logs.stdout


def test_slurm_like_environment(tmp_path: Path) -> None:
    write(
        tmp_path / "env.py",
        "import json, os\n"
        "keys = ['SLURM_JOB_ID', 'SLURM_CPUS_PER_TASK', 'SLURM_SUBMIT_DIR', 'HPCRUN_RUN',\n"
        "        'HPCRUN_WORKFLOW', 'RUN_NAME', 'JOB_ID', 'PYTHONUNBUFFERED', 'INPUT_FOLDER',\n"
        "        'OUTPUT_FOLDER', 'HPCRUN_CHECKPOINT_DIR']\n"
        "print('ENV=' + json.dumps({k: os.environ.get(k) for k in keys}))\n",
    )
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: env\n    provider: python\n    file: env.py\n"
        "    resources:\n      cpu: 3\n      gpu: {name: A100, count: 1}\n",
    )
    result = hpcrun("submit", "env", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: the local site does not reserve GPUs" in result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("ENV="))
    env = json.loads(line[4:])
    [run] = ps_json()
    assert env["SLURM_JOB_ID"] == env["JOB_ID"] == run["job_id"]
    assert env["SLURM_CPUS_PER_TASK"] == "3"
    assert env["HPCRUN_RUN"] == env["RUN_NAME"] == run["run"]
    assert env["HPCRUN_WORKFLOW"] == "env" and env["PYTHONUNBUFFERED"] == "1"
    run_dir = Path(env["SLURM_SUBMIT_DIR"])
    assert env["OUTPUT_FOLDER"] == str(run_dir / "output")
    assert env["INPUT_FOLDER"] == str(run_dir / "input")
    assert env["HPCRUN_CHECKPOINT_DIR"] == str(run_dir / "checkpoint")
    assert oct(run_dir.stat().st_mode & 0o777) == "0o700"


def test_cancel_kills_the_whole_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    write(
        tmp_path / "spawn.py",
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen(['sleep', '300'])\nopen({str(marker)!r}, 'w').write(str(child.pid))\n"
        "print('started', flush=True)\ntime.sleep(300)\n",
    )
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: long\n    provider: python\n    file: spawn.py\n",
    )
    run = hpcrun("submit", "long", "-d", cwd=tmp_path).stdout.strip()
    child = int(wait_for(lambda: marker.exists() and marker.read_text()))
    assert ps_json()[0]["state"] == "running"
    result = hpcrun("cancel", run)
    assert result.returncode == 0, result.stderr
    assert f"{run} cancelled" in result.stderr
    assert ps_json()[0]["state"] == "cancelled"
    wait_for(
        lambda: (
            not Path(f"/proc/{child}").exists()
            or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
        )
    )


def test_second_run_reuses_the_cached_virtualenv(tmp_path: Path) -> None:
    project = tmp_path / "p"
    build_wheel(project / "wheels")
    # an index requirement, served offline from a folder of the project
    write(project / "requirements.txt", "--no-index\n--find-links wheels\nhpcrun_testpkg\n")
    write(project / "use_pkg.py", "import hpcrun_testpkg\nprint('pkg', hpcrun_testpkg.VERSION)\n")
    write(
        project / "workflows.yaml",
        "workflows:\n  - name: pkg\n    provider: python\n    file: use_pkg.py\n    requirements: requirements.txt\n",
    )
    first = hpcrun("submit", "pkg", cwd=project, timeout=300)
    assert first.returncode == 0, first.stderr
    assert re.search(r"\[hpcrun\] environment py3\.\d+-[0-9a-f]{16}: built in", first.stdout)
    assert "pkg 0.1" in first.stdout
    second = hpcrun("submit", "pkg", cwd=project, timeout=300)
    assert second.returncode == 0, second.stderr
    assert re.search(r"\[hpcrun\] environment py3\.\d+-[0-9a-f]{16}: reused", second.stdout)
    assert "building" not in second.stdout


def test_project_folder_with_inputs_and_outputs(tmp_path: Path) -> None:
    project = tmp_path / "proj"
    write(
        project / "main.py",
        "import os, pathlib\n"
        "from helpers.util import shout\n"
        "data = pathlib.Path(os.environ['INPUT_FOLDER'], 'data.txt').read_text()\n"
        "pathlib.Path(os.environ['OUTPUT_FOLDER'], 'result.txt').write_text(shout(data))\n"
        "print('processed', len(data), 'bytes')\n",
    )
    write(project / "helpers" / "__init__.py", "")
    write(project / "helpers" / "util.py", "def shout(text):\n    return text.upper()\n")
    write(project / "other.py", "raise SystemExit('not the entry point')\n")
    write(tmp_path / "inputs" / "data.txt", "hello input\n")
    result = hpcrun("submit", str(project), "--input", str(tmp_path / "inputs"))
    assert result.returncode == 0, result.stderr
    assert "processed 12 bytes" in result.stdout
    [run] = ps_json()
    assert run["workflow"] == "proj"
    assert (Path(run["artifacts_dir"]) / "output" / "result.txt").read_text() == "HELLO INPUT\n"


def test_project_folder_needs_one_entry_point(tmp_path: Path) -> None:
    write(tmp_path / "p" / "a.py", "")
    write(tmp_path / "p" / "b.py", "")
    result = hpcrun("submit", str(tmp_path / "p"))
    assert result.returncode == 2
    assert "several Python files and no main.py: a.py, b.py" in result.stderr
    write(tmp_path / "q" / "only.py", "print('the only one')\n")
    result = hpcrun("submit", str(tmp_path / "q"))
    assert result.returncode == 0, result.stderr
    assert "the only one" in result.stdout


def make_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_zip_with_nested_files(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "job.zip",
        {
            "job/main.py": "from pkg.deep.mod import VALUE\nimport os, pathlib\n"
            "pathlib.Path(os.environ['OUTPUT_FOLDER'], 'v.txt').write_text(VALUE)\nprint('value', VALUE)\n",
            "job/pkg/__init__.py": "",
            "job/pkg/deep/__init__.py": "",
            "job/pkg/deep/mod.py": "VALUE = 'nested-ok'\n",
        },
    )
    result = hpcrun("submit", str(archive))
    assert result.returncode == 0, result.stderr
    assert "value nested-ok" in result.stdout
    [run] = ps_json()
    assert (Path(run["artifacts_dir"]) / "output" / "v.txt").read_text() == "nested-ok"


@pytest.mark.parametrize("bad_name", ["../evil.py", "/tmp/evil.py", "ok/../../evil.py"])
def test_hostile_zip_is_refused_before_extraction(
    tmp_path: Path, isolated_home: Path, bad_name: str
) -> None:
    archive = make_zip(tmp_path / "bad.zip", {"main.py": "print('x')\n", bad_name: "pwned\n"})
    result = hpcrun("submit", str(archive))
    assert result.returncode == 2
    assert "unsafe member paths, nothing was extracted" in result.stderr
    assert not (isolated_home / "projects").exists()
    assert not (tmp_path.parent / "evil.py").exists() and not Path("/tmp/evil.py").exists()
    assert ps_json() == []


def test_zip_with_symlink_member_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("main.py", "print(1)\n")
        info = zipfile.ZipInfo("link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    result = hpcrun("submit", str(archive))
    assert result.returncode == 2 and "unsafe member paths" in result.stderr


def test_dry_run_sends_nothing(tmp_path: Path) -> None:
    result = hpcrun(
        "submit", str(EXAMPLE), "hello", "--dry-run", "--cpu", "2", "--", "--steps", "1"
    )
    assert result.returncode == 0, result.stderr
    assert "#SBATCH --cpus-per-task=2" in result.stdout
    assert '"$hpcrun_python" main.py --steps 1 &' in result.stdout
    assert ps_json() == []


def test_flags_and_trailing_args_override_the_spec(tmp_path: Path) -> None:
    result = hpcrun(
        "submit", str(EXAMPLE), "hello", "-e", "EXPERIMENT=override", "--", "--steps", "2"
    )
    assert result.returncode == 0, result.stderr
    assert "step 2/2" in result.stdout and "step 3" not in result.stdout
    [run] = ps_json()
    summary = json.loads((Path(run["artifacts_dir"]) / "output" / "summary.json").read_text())
    assert summary["experiment"] == "override" and summary["steps"] == 2


def test_artifacts_refetch_transfers_nothing_new(tmp_path: Path) -> None:
    assert hpcrun("submit", str(EXAMPLE), "hello", "-d").returncode == 0
    run = wait_for(lambda: next((r for r in ps_json() if r["state"] == "completed"), None))
    dest = tmp_path / "dest"
    first = hpcrun("artifacts", run["run"], "--dest", str(dest))
    assert first.returncode == 0, first.stderr
    assert (dest / "results" / "squares.txt").exists()
    second = hpcrun("artifacts", run["run"], "--dest", str(dest))
    assert "0 B fetched" in second.stderr


def test_unknown_run_suggests(tmp_path: Path) -> None:
    result = hpcrun("logs", "nope")
    assert result.returncode == 2 and "no run named 'nope'" in result.stderr


def test_deps_chain_on_the_local_site(tmp_path: Path) -> None:
    write(tmp_path / "prep.py", "import pathlib\npathlib.Path('data').mkdir(exist_ok=True)\n"
                                "pathlib.Path('data/x.txt').write_text('prepared')\n")  # fmt: skip
    write(
        tmp_path / "train.py",
        "import pathlib\nprint('got', pathlib.Path('data/x.txt').read_text())\n",
    )
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n"
        "  - name: prep\n    provider: python\n    file: prep.py\n    artifacts: [data]\n"
        "  - name: train\n    provider: python\n    file: train.py\n    deps: [prep:latest]\n",
    )
    result = hpcrun("submit", "train", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "got prepared" in result.stdout
    runs = {r["workflow"]: r for r in ps_json()}
    assert runs["prep"]["state"] == runs["train"]["state"] == "completed"
    # a second train reuses the completed prep instead of running it again
    again = hpcrun("submit", "train", cwd=tmp_path)
    assert again.returncode == 0 and "got prepared" in again.stdout
    assert len([r for r in ps_json() if r["workflow"] == "prep"]) == 1
