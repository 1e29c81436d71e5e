"""Tracking: one squeue for all jobs of a site per poll, one SSH connection per
invocation, Ctrl-C detaches without cancelling, and a controller outage changes nothing
until the controller is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpcrun.ops.artifacts import fetch_artifacts
from hpcrun.ops.follow import follow
from hpcrun.ops.session import Session
from hpcrun.ops.submit import SubmitRequest, submit
from hpcrun.ops.track import refresh
from hpcrun.transport import ssh as ssh_module
from tests.cli import hpcrun
from tests.integration.conftest import Cluster
from tests.integration.remote import run_of, wait_state, workflows

PY = "3.11"
SLEEPER = f"""workflows:
  - name: nap
    provider: python
    file: nap.py
    version: "{PY}"
"""


def nap_project(folder: Path, seconds: int) -> Path:
    workflows(folder, SLEEPER, **{"nap.py": f"import time\nprint('napping', flush=True)\n"
                                            f"time.sleep({seconds})\nprint('awake', flush=True)\n"})  # fmt: skip
    return folder


def test_one_squeue_per_poll_for_all_jobs(cluster: Cluster, tmp_path: Path) -> None:
    project = nap_project(tmp_path / "p", 20)
    runs = [hpcrun("submit", "nap", "--site", str(cluster.site_config), "-d", cwd=project)
            for _ in range(3)]  # fmt: skip
    assert all(r.returncode == 0 for r in runs), [r.stderr for r in runs]
    with Session() as session:
        site, _ = session.site(str(cluster.site_config))
        transport = session.transport(site)
        calls: list[str] = []
        real_run = transport.run

        def counting_run(command, **kwargs):  # instrumentation around the real transport
            calls.append(str(command))
            return real_run(command, **kwargs)

        transport.run = counting_run
        refresh(session)
    squeues = [c for c in calls if "squeue" in c]
    assert len(squeues) == 1, calls
    assert all(r.stdout.strip() for r in runs)
    for name in (r.stdout.strip() for r in runs):
        subprocess.run(
            [sys.executable, "-m", "hpcrun", "cancel", name], capture_output=True, check=False
        )


def test_one_ssh_connection_per_invocation(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "p"
    workflows(
        project,
        f'workflows:\n  - name: out\n    provider: python\n    file: out.py\n    version: "{PY}"\n'
        "    artifacts: [result]\n",
        **{"out.py": "import pathlib\npathlib.Path('result').mkdir()\n"
                     "pathlib.Path('result/r.txt').write_text('r')\nprint('written')\n"},
    )  # fmt: skip
    connects = []
    real_connect = ssh_module.SshTransport._connect

    def counting_connect(self, endpoint, depth=0):
        connects.append(str(endpoint))
        return real_connect(self, endpoint, depth)

    monkeypatch.setattr(ssh_module.SshTransport, "_connect", counting_connect)
    with Session() as session:
        request = SubmitRequest(project / "workflows.yaml", "out", str(cluster.site_config))
        submitted = submit(session, request)
        record = follow(session, submitted.record.run, None, sleep=lambda s: time.sleep(min(s, 1)))
        target, received = fetch_artifacts(session, record, tmp_path / "dest")[:2]
    assert record.state == "completed"
    assert (target / "result" / "r.txt").read_text() == "r" and received > 0
    assert len(connects) == 1, connects


def test_ctrl_c_detaches_without_cancelling(cluster: Cluster, tmp_path: Path) -> None:
    project = nap_project(tmp_path / "p", 25)
    process = subprocess.Popen(
        [sys.executable, "-m", "hpcrun", "submit", "nap", "--site", str(cluster.site_config)],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    assert process.stdout is not None
    line = ""
    deadline = time.monotonic() + 120
    while "napping" not in line and time.monotonic() < deadline:
        line = process.stdout.readline()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    run = next(word for word in err.split() if word.startswith("nap-"))
    assert f"hpcrun logs {run} -f" in err
    assert run_of(run)["state"] == "running"  # detached, not cancelled
    followed = hpcrun("logs", run, "-f")
    assert followed.returncode == 0 and "awake" in followed.stdout


@pytest.mark.serial
def test_controller_outage_keeps_states_and_recovers(cluster: Cluster, tmp_path: Path) -> None:
    """Stops the real slurmctld under a running job (so it runs alone: -m serial)."""
    project = nap_project(tmp_path / "p", 30)
    submitted = hpcrun("submit", "nap", "--site", str(cluster.site_config), "-d", cwd=project)
    assert submitted.returncode == 0, submitted.stderr
    run = submitted.stdout.strip()
    wait_state(run, {"running"})
    follower = subprocess.Popen(
        [sys.executable, "-m", "hpcrun", "logs", run, "-f"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    pid_file = cluster.state_dir / "run" / "slurmctld.pid"
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    try:
        deadline = time.monotonic() + 30
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not Path(f"/proc/{pid}").exists(), "slurmctld did not stop"
        down = hpcrun("ps", "-a", "--json")
        assert down.returncode == 0, down.stderr
        assert "did not answer" in down.stderr
        record = run_of(run)
        assert record["state"] == "running" and not record["final"]
        assert "did not answer" in (record["state_reason"] or "")
        time.sleep(40)  # the job ends while the controller is away
        assert run_of(run)["state"] == "running"  # never concluded from a failed query
    finally:
        up = subprocess.run([str(Path(__file__).parents[2] / "scripts" / "test-cluster"), "up"],
                            capture_output=True, text=True, timeout=300)  # fmt: skip
        assert up.returncode == 0, up.stderr
    out, err = follower.communicate(timeout=240)
    assert follower.returncode == 0, err
    assert "awake" in out
    assert "retrying" in err and "answers again" in err
    record = wait_state(run, {"completed"}, timeout=120)
    assert record["exit_code"] == 0
