"""The built wheel carries its templates and site configs: render works from a fresh venv."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO, write


@pytest.mark.timeout(600)
def test_wheel_installs_and_renders_outside_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(REPO)],
        check=True,
        capture_output=True,
    )
    [wheel] = dist.glob("hpcrun-*.whl")
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert "hpcrun/_data/templates/slurm/job.sh.j2" in names
    assert "hpcrun/_data/site-configs/local.yaml" in names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)],
        check=True,
        capture_output=True,
    )
    project = tmp_path / "project"
    write(project / "main.py", "print('hi')\n")
    write(
        project / "workflows.yaml",
        "workflows:\n  - name: hello\n    provider: python\n    file: main.py\n",
    )
    where = subprocess.run(
        [str(python), "-c", "import hpcrun.paths as p; print(p.data_dir('templates'))"],
        cwd=project, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert str(env_dir) in where.stdout  # the wheel's own data, not the source checkout
    result = subprocess.run(
        [str(env_dir / "bin" / "hpcrun"), "render", "hello", "--site", "slurm-generic"],
        cwd=project, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "#SBATCH --partition=batch" in result.stdout
    assert '"$hpcrun_python" main.py &' in result.stdout
