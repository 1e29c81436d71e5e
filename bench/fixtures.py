"""What the benchmarks share: the run's settings, a generated project, the test cluster."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HARNESS = REPO / "scripts" / "test-cluster"

# One job, the same on every side: 4 CPUs, 16 GB, one A100, 2 hours, partition "gpu".
CPUS, MEM_GB, GPUS, HOURS, PARTITION = 4, 16, 1, 2, "gpu"

SITE = """\
name: benchsite
scheduler: slurm
login: {host: login.example.org, user: alice}
remote_root: ~/hpcrun
partitions: {default: gpu}
gpus:
  A100: {gres: a100, memory: 80GB}
defaults: {time: "02:00:00", account: null, qos: null}
"""

WORKFLOWS = f"""\
workflows:
  - name: train
    provider: python
    file: train.py
    args: ["--epochs", "10"]
    max_duration: {HOURS}h
    resources:
      cpu: {CPUS}
      memory: {MEM_GB}GB
      gpu: {{name: A100, count: {GPUS}}}
"""


def sweep_workflow(points: int, name: str = "grid", script: str = "point.py") -> str:
    """A sweep of ``points`` points (one parameter ``i``), as in docs/sweeps.md."""
    values = ", ".join(str(i) for i in range(points))
    return f"""\
  - name: {name}
    provider: python
    file: {script}
    args: ["--i", "${{{{ i }}}}"]
    sweep:
      matrix:
        i: [{values}]
"""


@dataclass
class Context:
    smoke: bool
    repeat: int  # alternating rounds per comparison
    work: Path  # scratch folder, removed at the end
    cluster: Cluster | None

    def project(self, name: str, sweep_points: tuple[int, ...] = ()) -> Path:
        """A project folder with train.py, point.py, workflows.yaml (``train`` plus one
        sweep ``grid<N>`` per size) and site.yaml."""
        root = self.work / name
        root.mkdir(parents=True, exist_ok=True)
        (root / "train.py").write_text("print('training')\n")
        (root / "point.py").write_text("import sys\nprint(sys.argv)\n")
        text = WORKFLOWS + "".join(sweep_workflow(n, f"grid{n}") for n in sweep_points)
        (root / "workflows.yaml").write_text(text)
        (root / "site.yaml").write_text(SITE)
        return root

    def env(self, home: str) -> dict[str, str]:
        return {**os.environ, "HPCRUN_HOME": str(self.work / home)}


def hpcrun_argv(*args: str, python: str = sys.executable) -> list[str]:
    return [python, "-m", "hpcrun", *args]


@dataclass(frozen=True)
class Cluster:
    """The test cluster's login node (this machine, user hpcuser, sshd on port 2222)."""

    host: str
    port: int
    user: str
    key: str
    known_hosts: str
    site_config: str

    def ssh_argv(self, command: str) -> list[str]:
        return [
            "ssh", "-F", "/dev/null", "-i", self.key, "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
            "-o", "LogLevel=ERROR", "-p", str(self.port), f"{self.user}@{self.host}", command,
        ]  # fmt: skip

    def ssh(self, command: str, timeout: float = 600, stdin: str | None = None) -> str:
        proc = subprocess.run(
            self.ssh_argv(command), input=stdin, capture_output=True, text=True,
            timeout=timeout, check=False,
        )  # fmt: skip
        if proc.returncode != 0:
            raise RuntimeError(f"ssh {command!r} failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout

    def cancel_all(self) -> None:
        """Leave the queue as we found it: cancel the user's jobs, wait until none is left."""
        self.ssh(
            "scancel -u $USER; for i in $(seq 120); do "
            '[ -z "$(squeue -h -u $USER -o %i)" ] && exit 0; sleep 0.5; done; exit 1'
        )


def find_cluster() -> Cluster | None:
    """The test cluster when `scripts/test-cluster env` works and it answers over ssh."""
    try:
        out = subprocess.run(
            [str(HARNESS), "env"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    values = {}
    for line in out.stdout.splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export ") :].split("=", 1)
            values[key] = shlex.split(value)[0] if value else ""
    try:
        cluster = Cluster(
            values["HPCRUN_TEST_SSH_HOST"], int(values["HPCRUN_TEST_SSH_PORT"]),
            values["HPCRUN_TEST_SSH_USER"], values["HPCRUN_TEST_SSH_KEY"],
            values["HPCRUN_TEST_KNOWN_HOSTS"], values["HPCRUN_TEST_SITE_CONFIG"],
        )  # fmt: skip
        cluster.ssh("squeue -h -u $USER | head -1", timeout=30)
    except (KeyError, ValueError, RuntimeError, subprocess.TimeoutExpired):
        return None
    return cluster


def sdiag_reset() -> None:
    """Zero the controller's RPC counters (needs root, or SlurmUser)."""
    subprocess.run(["sdiag", "-r"], capture_output=True, check=True, timeout=30)


def sdiag_rpcs() -> dict[str, int]:
    """RPC counts by message type since the last reset (sdiag's 'Remote Procedure Call
    statistics by message type')."""
    out = subprocess.run(["sdiag"], capture_output=True, text=True, check=True, timeout=30)
    counts: dict[str, int] = {}
    in_types = False
    for line in out.stdout.splitlines():
        if line.startswith("Remote Procedure Call statistics by message type"):
            in_types = True
            continue
        if line.startswith("Remote Procedure Call statistics by user"):
            break
        if in_types and "count:" in line:
            name, rest = line.strip().split(None, 1)
            counts[name] = int(rest.split("count:", 1)[1].split()[0])
    return counts
