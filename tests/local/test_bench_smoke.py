"""`python -m bench --smoke` keeps working: it runs every benchmark at tiny sizes (local
site only, no targets judged) and prints its table. The peers (the `bench` extra) are
optional here: without them their columns say "not installed"."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SECTIONS = ("[Render]", "[Start-up]", "[Submit]", "[Tracking load]", "[Environment reuse]",
            "[Re-sync]")  # fmt: skip


def test_bench_smoke_prints_the_table(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--output", str(page)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:3] == ["measure", "hpcrun", "peer"], proc.stdout
    for section in SECTIONS:
        assert section in proc.stdout, f"{section} missing:\n{proc.stdout}"
    # figures, not errors: every benchmark that runs without a cluster produced numbers
    assert "not run: " not in proc.stdout.replace("not run: no test cluster", ""), proc.stdout
    assert "one script after warm-up" in proc.stdout
    assert "re-upload of the unchanged tree" in proc.stdout
    for peer in ("dask", "submitit"):
        installed = importlib.util.find_spec(
            "dask_jobqueue" if peer == "dask" else peer) is not None  # fmt: skip
        assert (f"{peer}: not installed" not in proc.stdout) == installed, proc.stdout
    text = page.read_text()
    assert text.startswith("# Benchmarks") and "## The machine" in text
    assert "smoke mode" in text
