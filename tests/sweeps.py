"""Helpers for sweep tests: lay out a rendered sweep as the tick would, and run one task."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import write

SCRIPT = "sweep.sbatch"


def lay_out(sweep_dir: Path, project: Path, script: str, table: str, chunk: str = "c0") -> Path:
    """<sweep>/code (a copy of the project), <sweep>/chunks/<chunk>/{sweep.sbatch,points.tsv};
    returns the chunk folder (what sbatch would run from)."""
    shutil.copytree(project, sweep_dir / "code", dirs_exist_ok=True)
    chunk_dir = sweep_dir / "chunks" / chunk
    write(chunk_dir / SCRIPT, script)
    write(chunk_dir / "points.tsv", table)
    return chunk_dir


def run_task(chunk_dir: Path, index: int | str, *, home: Path) -> subprocess.CompletedProcess:
    """Run the array script as Slurm would run array task ``index`` (environment set by
    hand, as the local site does for plain jobs)."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "SLURM_SUBMIT_DIR": str(chunk_dir),
        "SLURM_ARRAY_TASK_ID": str(index),
        "SLURM_ARRAY_JOB_ID": "100",
        "SLURM_JOB_ID": str(200 + int(index)) if str(index).isdigit() else "200",
        "SLURM_JOB_NAME": "sweep",
    }
    return subprocess.run(
        ["bash", str(chunk_dir / SCRIPT)], cwd=chunk_dir, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
