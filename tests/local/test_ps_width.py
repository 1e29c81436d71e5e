"""`hpcrun ps` at a terminal cuts a long reason to the terminal's width; piped, it prints
rows whole (scripts and files get the full text)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

from hpcrun.store import RunRecord, default_store
from tests.cli import hpcrun

REASON = "sbatch rejected the job: " + "a very long message from Slurm " * 8


def _record_rejected_run() -> None:
    with default_store() as store:
        store.create_run(RunRecord(run="wide-1", workflow="wide", site="local",
                                   site_config="local.yaml"))  # fmt: skip
        store.update_state("wide-1", "failed", reason=REASON, final=True)


def test_ps_cuts_long_reasons_only_at_a_terminal() -> None:
    _record_rejected_run()
    piped = hpcrun("ps", "-a")
    assert piped.returncode == 0, piped.stderr
    assert REASON.strip() in piped.stdout

    main, child = pty.openpty()
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    process = subprocess.Popen([sys.executable, "-m", "hpcrun", "ps", "-a"], stdout=child,
                               stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)  # fmt: skip
    os.close(child)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    assert process.wait(timeout=60) == 0
    lines = b"".join(chunks).decode().replace("\r", "").splitlines()
    row = next(line for line in lines if line.startswith("wide-1"))
    assert "…" in row and len(row) <= 80, lines
