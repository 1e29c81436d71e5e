"""The Quick start's local part, run exactly as the page writes it, in a fresh folder: every
```bash block between the quickstart-local markers of docs/quickstart.md, in order, in one
bash that stops at the first failing command."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import REPO
from tests.docsnippets import hpcrun_on_path, marked_bash_blocks

QUICKSTART = REPO / "docs" / "quickstart.md"


def test_the_local_part_has_commands() -> None:
    blocks = marked_bash_blocks(QUICKSTART, "quickstart-local")
    commands = "\n".join(blocks)
    assert len(blocks) >= 3
    assert "hpcrun submit hello" in commands and "hpcrun artifacts" in commands


def test_every_command_of_the_local_part_succeeds(tmp_path: Path) -> None:
    script = "\n".join(marked_bash_blocks(QUICKSTART, "quickstart-local"))
    folder = tmp_path / "fresh"
    folder.mkdir()
    env = hpcrun_on_path(tmp_path / "bin")
    # -e: stop at the first failing command; -x: name it in the failure message
    result = subprocess.run(
        ["bash", "-e", "-x", "-o", "pipefail", "-c", script],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    # What the page says the commands produce: the job's output and the fetched artifacts.
    assert "sum of squares up to 5: 55" in result.stdout
    fetched = folder / "hello-hpcrun" / "results-of-run"
    assert (fetched / "results" / "squares.txt").read_text() == "55\n"
    assert (fetched / "output" / "summary.txt").read_text() == "steps=5\n"
