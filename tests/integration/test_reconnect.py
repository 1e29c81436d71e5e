"""Issue 8, defect 4: following survives a short outage of the login node (sshd stopped
and every SSH session cut), and gives up after HPCRUN_RECONNECT_TIMEOUT with exit code 75,
never marking the job failed. Stops the cluster's sshd: serial."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import hpcrun
from tests.integration.conftest import HARNESS, Cluster
from tests.integration.remote import run_of, site_variant, workflows

NAP = """workflows:
  - name: nap
    provider: python
    file: nap.py
    version: "3.11"
    artifacts: [result]
"""
NAP_PY = """import pathlib, time
pathlib.Path('result').mkdir(exist_ok=True)
pathlib.Path('result/r.txt').write_text('kept')
print('napping', flush=True)
time.sleep({seconds})
print('awake', flush=True)
"""


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = [child for child, ppid in parents.items() if ppid == parent]
        found += children
        todo += children
    return found


def _cut_the_login_node(cluster: Cluster) -> None:
    """Stop the test cluster's sshd (by its pid file) and kill its sessions: every
    connection drops and new ones are refused."""
    pid = int((cluster.state_dir / "run" / "sshd.pid").read_text())
    sessions = _descendants(pid)
    os.kill(pid, signal.SIGTERM)
    for child in sessions:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)


def _restore(cluster: Cluster) -> None:
    up = subprocess.run([str(HARNESS), "up"], capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr


def _attached_submit(project: Path, site: str, **env: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "hpcrun", "submit", "nap", "--site", site],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **env},
    )  # fmt: skip
    assert process.stdout is not None
    line, deadline = "", time.monotonic() + 120
    while "napping" not in line and time.monotonic() < deadline:
        line = process.stdout.readline()
    assert "napping" in line, "the job never started"
    return process


@pytest.mark.serial
@pytest.mark.parametrize("transport", ["paramiko", "openssh"])
def test_attached_submit_rides_out_a_short_outage(
    cluster: Cluster, tmp_path: Path, transport: str
) -> None:
    project = tmp_path / "p"
    workflows(project, NAP, **{"nap.py": NAP_PY.format(seconds=12)})
    site = site_variant(cluster.site_config, tmp_path, login={"transport": transport})
    process = _attached_submit(project, site)
    try:
        _cut_the_login_node(cluster)
        time.sleep(5)
    finally:
        _restore(cluster)
    out, err = process.communicate(timeout=240)
    assert process.returncode == 0, err
    assert "lost" in err and "retrying for up to 10 min" in err and "is back" in err
    assert out.count("awake") == 1 and "napping" not in out  # resumed at its offset
    run = next(word for word in err.split() if word.startswith("nap-"))
    fetched = Path(run_of(run)["artifacts_dir"]) / "result" / "r.txt"
    assert fetched.read_text() == "kept"


@pytest.mark.serial
def test_gives_up_after_the_limit_with_exit_75(cluster: Cluster, tmp_path: Path) -> None:
    project = tmp_path / "p"
    workflows(project, NAP, **{"nap.py": NAP_PY.format(seconds=15)})
    process = _attached_submit(project, str(cluster.site_config), HPCRUN_RECONNECT_TIMEOUT="3")
    try:
        _cut_the_login_node(cluster)
        _, err = process.communicate(timeout=120)
    finally:
        _restore(cluster)
    assert process.returncode == 75, err
    run = next(word for word in err.split() if word.startswith("nap-"))
    assert "may still be running" in err and f"hpcrun logs {run} -f" in err
    assert run_of(run)["state"] in ("running", "completed")  # never failed for a lost link
    followed = hpcrun("logs", run, "-f")
    assert followed.returncode == 0 and "awake" in followed.stdout
