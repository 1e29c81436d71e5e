"""The CLI contract: exit codes, error format, no traceback, fast --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import hpcrun
from tests.conftest import DATA, write

GOLDEN_PROJECT = DATA / "golden" / "project"


def test_help_lists_commands_without_heavy_imports() -> None:
    code = (
        "import sys\n"
        "from hpcrun.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
        "heavy = [m for m in ('paramiko', 'jinja2', 'pydantic', 'yaml', 'rich') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "render" in result.stdout and "validate" in result.stdout
    assert "HEAVY=\n" in result.stdout


def test_render_prints_the_script_from_default_file() -> None:
    result = hpcrun(
        "render", "shell", "--site", str(DATA / "sites" / "gpu-cluster.yaml"), cwd=GOLDEN_PROJECT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("#!/bin/bash\n#SBATCH --job-name=shell-dryrun\n")
    assert "module load python/3.11" in result.stdout


def test_render_to_output_dir(tmp_path: Path) -> None:
    result = hpcrun(
        "render", str(GOLDEN_PROJECT / ".dstack" / "workflows.yaml"), "train",
        "--site", str(DATA / "sites" / "gpu-cluster.yaml"), "-o", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "train.sbatch").read_text().startswith("#!/bin/bash")


def test_render_warns_on_the_local_site() -> None:
    result = hpcrun("render", "train", cwd=GOLDEN_PROJECT)
    assert result.returncode == 0
    assert "warning: the local site does not reserve GPUs" in result.stderr


def test_user_mistake_is_located_exit_2_no_traceback(tmp_path: Path) -> None:
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    requirement: r.txt\n",
    )
    result = hpcrun("render", "w", cwd=tmp_path)
    assert result.returncode == 2
    assert (
        f"{tmp_path}/workflows.yaml:5:5: workflows[w].requirement: unknown key 'requirement'"
        in result.stderr
    )
    assert "did you mean 'requirements'?" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_script_file_is_located(tmp_path: Path) -> None:
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: w\n    provider: python\n    file: gone.py\n",
    )
    result = hpcrun("render", "w", cwd=tmp_path)
    assert result.returncode == 2
    assert "workflows.yaml:4:11: workflows[w].file: 'gone.py' does not exist" in result.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["render"], "Missing argument"),
        (["render", "a", "b", "c"], "expected [FILE] WORKFLOW"),
        (["render", "w", "--var", "novalue"], "--var 'novalue' is not NAME=VALUE"),
        (["render", "w", "--site", "nosuch"], "no site named 'nosuch'"),
        (["rendr"], "did you mean 'render'?"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], fragment: str) -> None:
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: w\n    provider: python\n    file: a.py\n",
    )
    write(tmp_path / "a.py", "")
    result = hpcrun(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_no_workflows_file(tmp_path: Path) -> None:
    result = hpcrun("render", "w", cwd=tmp_path)
    assert result.returncode == 2
    assert "no workflows file in" in result.stderr


def test_var_reaches_the_script(tmp_path: Path) -> None:
    write(
        tmp_path / "workflows.yaml",
        'workflows:\n  - name: w\n    provider: python\n    file: a.py\n    args: ["${{ lr }}"]\n',
    )
    write(tmp_path / "a.py", "")
    result = hpcrun("render", "w", "--var", "lr=0.1 $(x)", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "a.py '0.1 $(x)'" in result.stdout


def test_validate_lists_every_problem_of_every_workflow(tmp_path: Path) -> None:
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n"
        "  - name: good\n    provider: python\n    file: a.py\n"
        "  - name: bad1\n    provider: python\n    file: a.py\n    resources: {memory: 16}\n"
        "  - name: bad2\n    provider: docker\n",
    )
    write(tmp_path / "a.py", "")
    result = hpcrun("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "ok       good" in result.stdout
    assert (
        "workflows.yaml:8:25: workflows[bad1].resources.memory: '16' has no unit" in result.stderr
    )
    assert (
        "workflows.yaml:10:15: workflows[bad2].provider: provider 'docker' is not supported"
        in result.stderr
    )
    assert "2 problems" in result.stderr


def test_validate_against_a_site(tmp_path: Path) -> None:
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: w\n    provider: python\n    file: a.py\n    resources:\n      gpu: {name: H100}\n",
    )
    write(tmp_path / "a.py", "")
    result = hpcrun("validate", "--site", str(DATA / "sites" / "gpu-cluster.yaml"), cwd=tmp_path)
    assert result.returncode == 2
    assert "has no GPU named 'H100'" in result.stderr
    assert hpcrun("validate", cwd=tmp_path).returncode == 0  # local: a warning, not an error


def test_validate_the_corpus_file_with_an_unsupported_provider(tmp_path: Path) -> None:
    corpus = DATA / "dstack-workflows" / "dstackai_dstack__README.md.yaml"
    file = write(tmp_path / ".dstack" / "workflows.yaml", corpus.read_text())
    for script in ("prepare.py", "train.py"):
        write(tmp_path / script, "")
    result = hpcrun("validate", str(file))
    assert result.returncode == 2
    assert "ok       prepare" in result.stdout and "ok       train" in result.stdout
    assert "provider 'streamlit' is not supported by hpcrun" in result.stderr


def test_version() -> None:
    result = hpcrun("--version")
    assert result.returncode == 0 and "hpcrun" in result.stdout
    assert json.dumps(result.stdout)  # printable


def test_validate_reports_missing_files(tmp_path: Path) -> None:
    write(
        tmp_path / "workflows.yaml",
        "workflows:\n  - name: w\n    provider: python\n    file: gone.py\n    requirements: req.txt\n",
    )
    result = hpcrun("validate", cwd=tmp_path)
    assert result.returncode == 2
    assert "workflows.yaml:4:11: workflows[w].file: 'gone.py' does not exist" in result.stderr
    assert (
        "workflows.yaml:5:19: workflows[w].requirements: 'req.txt' does not exist" in result.stderr
    )
