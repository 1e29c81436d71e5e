"""The real test cluster: `scripts/test-cluster up` once per session, then SSH to it.

Everything under tests/integration is marked `cluster`. When the cluster cannot come up
the `cluster` fixture fails (with the harness's log tail); it never skips.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.integration.preemption import PreemptionSite

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "scripts" / "test-cluster"
INTEGRATION = Path(__file__).resolve().parent
UP_TIMEOUT = 900  # a fresh machine installs packages; other xdist workers may hold the lock


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if INTEGRATION in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.cluster)


@dataclass(frozen=True)
class Cluster:
    """How to reach the test cluster's login node as its unprivileged user."""

    host: str
    port: int
    user: str
    key: Path
    known_hosts: Path
    site_config: Path
    state_dir: Path
    python_module: str

    def ssh_argv(self, cmd: str) -> list[str]:
        return [
            "ssh",
            "-F", "/dev/null",
            "-i", str(self.key),
            "-o", "IdentitiesOnly=yes",
            "-o", "BatchMode=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}",
            "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR",
            "-p", str(self.port),
            f"{self.user}@{self.host}",
            cmd,
        ]  # fmt: skip

    def ssh(self, cmd: str, *, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run `cmd` through the login user's shell with the OpenSSH client; never raises on
        a non-zero exit (check `.returncode`)."""
        return subprocess.run(
            self.ssh_argv(cmd),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ssh_ok(self, cmd: str, *, timeout: float = 120) -> str:
        """Run `cmd` and return its stdout; fail the test with both streams if it fails."""
        proc = self.ssh(cmd, timeout=timeout)
        if proc.returncode != 0:
            pytest.fail(
                f"ssh command failed (rc={proc.returncode}): {cmd}\n"
                f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
            )
        return proc.stdout

    def sbatch(self, args: str, script: str | None = None, *, cwd: str = "~") -> str:
        """Submit a job (`sbatch --parsable ARGS`, script on stdin if given); return its id."""
        cmd = f"cd {cwd} && sbatch --parsable {args}"
        if script is not None:
            cmd = f"{cmd} <<'HPCRUN_EOF'\n{script}\nHPCRUN_EOF"
        out = self.ssh_ok(cmd).strip()
        job_id = out.split(";")[0]
        assert job_id.isdigit(), f"unexpected sbatch output: {out!r}"
        return job_id


def _harness(*args: str) -> list[str]:
    argv = [str(HARNESS), *args]
    if os.geteuid() != 0 and shutil.which("sudo"):
        argv = ["sudo", "-n", "--preserve-env=HPCRUN_TEST_CLUSTER_DIR", *argv]
    return argv


def _tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    try:
        up = subprocess.run(
            _harness("up"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=UP_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"scripts/test-cluster up did not finish within {UP_TIMEOUT}s: {exc}")
    if up.returncode != 0:
        pytest.fail(
            f"scripts/test-cluster up failed (rc={up.returncode}):\n"
            f"{_tail(up.stdout)}\n{_tail(up.stderr)}",
            pytrace=False,
        )
    env = subprocess.run(
        [str(HARNESS), "env"], capture_output=True, text=True, check=False, timeout=30
    )
    if env.returncode != 0:
        pytest.fail(f"scripts/test-cluster env failed:\n{env.stderr}", pytrace=False)
    values: dict[str, str] = {}
    for line in env.stdout.splitlines():
        if line.startswith("export "):
            name, _, value = line[len("export ") :].partition("=")
            values[name] = shlex.split(value)[0] if value else ""
    try:
        return Cluster(
            host=values["HPCRUN_TEST_SSH_HOST"],
            port=int(values["HPCRUN_TEST_SSH_PORT"]),
            user=values["HPCRUN_TEST_SSH_USER"],
            key=Path(values["HPCRUN_TEST_SSH_KEY"]),
            known_hosts=Path(values["HPCRUN_TEST_KNOWN_HOSTS"]),
            site_config=Path(values["HPCRUN_TEST_SITE_CONFIG"]),
            state_dir=Path(values["HPCRUN_TEST_CLUSTER_DIR"]),
            python_module=values["HPCRUN_TEST_PYTHON_MODULE"],
        )
    except (KeyError, ValueError) as exc:
        pytest.fail(f"incomplete output of scripts/test-cluster env ({exc}):\n{env.stdout}")


@pytest.fixture(scope="session")
def preemption(cluster: Cluster) -> PreemptionSite:
    """The partitions and GPU type the preemption tests use (tests/integration/preemption.py)."""
    from tests.integration.preemption import preemption_site

    return preemption_site(cluster)


def wait_for(
    what: str, probe: Callable[[], object], *, timeout: float = 120, interval: float = 1.0
) -> object:
    """Call `probe` until it returns something truthy; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(interval)
