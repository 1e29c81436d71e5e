"""Run the real hpcrun CLI in a subprocess, as a user would (HPCRUN_HOME comes from the
autouse fixture in tests/conftest.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def hpcrun(
    *args: str, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hpcrun", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout, env=os.environ.copy(),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def ps_json() -> list[dict[str, Any]]:
    result = hpcrun("ps", "-a", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)
