"""The test cluster's sshd WITHOUT an sftp subsystem, and the user whose login shell
prints a banner for every command (both set up by scripts/test-cluster: setup_bare_sshd,
setup_noisy_user)."""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.conftest import HARNESS, Cluster
from tests.integration.remote import site_variant


@dataclass(frozen=True)
class BareSshd:
    cluster: Cluster
    port: int
    stderr_port: int  # the same sshd: there the noisy user's banner goes to stderr
    known_hosts: Path
    noisy_user: str

    def site(
        self, folder: Path, transport: str, *, user: str | None = None,
        port: int | None = None, **changes: object,
    ) -> str:  # fmt: skip
        """A copy of the test site reaching the login node through this sshd."""
        login = {"port": port or self.port, "known_hosts": str(self.known_hosts),
                 "user": user or self.cluster.user, "transport": transport}  # fmt: skip
        return site_variant(self.cluster.site_config, folder, login=login, **changes)

    def ssh(
        self, user: str, command: str, port: int | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``command`` as ``user`` through this sshd with the OpenSSH client."""
        argv = self.cluster.ssh_argv(command)
        argv[argv.index("-p") + 1] = str(port or self.port)
        argv[argv.index(f"UserKnownHostsFile={self.cluster.known_hosts}")] = (
            f"UserKnownHostsFile={self.known_hosts}"
        )
        argv[-2] = f"{user}@{self.cluster.host}"
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                              stdin=subprocess.DEVNULL)  # fmt: skip


def bare_sshd(cluster: Cluster) -> BareSshd:
    shown = subprocess.run([str(HARNESS), "env"], capture_output=True, text=True, check=False)
    values = {}
    for line in shown.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    try:
        return BareSshd(
            cluster,
            int(values["HPCRUN_TEST_BARE_SSH_PORT"]),
            int(values["HPCRUN_TEST_BARE_STDERR_PORT"]),
            Path(values["HPCRUN_TEST_BARE_KNOWN_HOSTS"]),
            values["HPCRUN_TEST_NOISY_USER"],
        )
    except (KeyError, ValueError):
        pytest.fail(f"scripts/test-cluster env has no bare sshd:\n{shown.stdout}{shown.stderr}")
