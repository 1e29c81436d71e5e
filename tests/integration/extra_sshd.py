"""The extra sshd instances of the test cluster (scripts/test-cluster, setup_extra_sshd):
two jump hosts (only jump1 -> jump2 -> login node is allowed: PermitOpen), one that asks a
second factor after the key, one whose host key is signed by a CA. Same user and key as
the login node; each has its own host key under ``$STATE/sshd-extra/NAME/``."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.integration.conftest import Cluster

PORTS = {"jump1": 2223, "jump2": 2224, "mfa": 2225, "cert": 2226}  # as in scripts/test-cluster
MFA_CODE = "424242"  # the fixed answer of the test PAM service (scripts/test-cluster)
MFA_QUESTION = "Second factor for the hpcrun test cluster"


def folder(cluster: Cluster) -> Path:
    return cluster.state_dir / "sshd-extra"


def host_key(cluster: Cluster, name: str) -> str:
    """``type key`` of an extra sshd's host key."""
    pub = folder(cluster) / name / "ssh_host_ed25519_key.pub"
    return " ".join(pub.read_text().split()[:2])


def fingerprint(public_key_file: Path) -> str:
    shown = subprocess.run(
        ["ssh-keygen", "-lf", str(public_key_file)], capture_output=True, text=True, check=True
    )
    return shown.stdout.split()[1]


def host_fingerprint(cluster: Cluster, name: str) -> str:
    return fingerprint(folder(cluster) / name / "ssh_host_ed25519_key.pub")


def known_line(cluster: Cluster, name: str) -> str:
    return f"[{cluster.host}]:{PORTS[name]} {host_key(cluster, name)}"


def login_line(cluster: Cluster) -> str:
    """The harness's known_hosts line for the login node."""
    return cluster.known_hosts.read_text().strip().splitlines()[0]


def ca_key(cluster: Cluster) -> str:
    """``type key`` of the CA that signed the 'cert' sshd's host key."""
    return " ".join((folder(cluster) / "host_ca.pub").read_text().split()[:2])


def hop(cluster: Cluster, name: str) -> str:
    return f"{cluster.user}@{cluster.host}:{PORTS[name]}"


def write_known_hosts(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path
