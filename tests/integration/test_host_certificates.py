"""A login node whose host key is signed by a CA (``ssh-keygen -s``), known to the client only
through an ``@cert-authority`` line: the test cluster's extra sshd 'cert'.

The OpenSSH transport leaves the check to ssh, which verifies the certificate; the paramiko
transport cannot verify host certificates and refuses, saying so and pointing to
``transport: openssh``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hpcrun.site.models import Login
from hpcrun.transport.base import TransportError
from hpcrun.transport.openssh import OpenSshTransport
from hpcrun.transport.ssh import SshTransport
from tests.integration import extra_sshd
from tests.integration.conftest import Cluster
from tests.integration.test_transport_ssh import Remote, finish


def cert_login(cluster: Cluster, known_hosts: Path, kind: str) -> Login:
    return Login(
        host=cluster.host,
        port=extra_sshd.PORTS["cert"],
        user=cluster.user,
        identity_file=str(cluster.key),
        known_hosts=str(known_hosts),
        transport=kind,  # type: ignore[arg-type]
    )


def authority(cluster: Cluster, tmp_path: Path, key: str | None = None) -> Path:
    pattern = f"[{cluster.host}]:{extra_sshd.PORTS['cert']}"
    return extra_sshd.write_known_hosts(
        tmp_path / "known_hosts", f"@cert-authority {pattern} {key or extra_sshd.ca_key(cluster)}"
    )


def refused(transport: Remote) -> TransportError:
    try:
        with pytest.raises(TransportError) as caught:
            transport.run(["true"])
    finally:
        finish(transport)
    assert "Traceback" not in caught.value.render()
    return caught.value


def test_openssh_checks_the_certificate(cluster: Cluster, tmp_path: Path) -> None:
    known_hosts = authority(cluster, tmp_path)
    transport = OpenSshTransport(cert_login(cluster, known_hosts, "openssh"))
    try:
        assert transport.run(["echo", "certified"]).stdout == "certified\n"
        (tmp_path / "up").mkdir()
        (tmp_path / "up" / "f.txt").write_text("ca\n")
        remote = f"~/hpcrun-cert-tests/{tmp_path.name}"
        assert transport.sync_up(tmp_path / "up", ["f.txt"], remote) == 3
        assert transport.sync_down(remote, ["f.txt"], tmp_path / "down").received == 3
    finally:
        finish(transport)
        cluster.ssh("rm -rf hpcrun-cert-tests")
    assert known_hosts.read_text().count("\n") == 1  # nothing added


def test_openssh_refuses_a_certificate_from_another_ca(cluster: Cluster, tmp_path: Path) -> None:
    other = tmp_path / "other_ca"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    other_key = " ".join((tmp_path / "other_ca.pub").read_text().split()[:2])
    known_hosts = authority(cluster, tmp_path, other_key)
    error = refused(OpenSshTransport(cert_login(cluster, known_hosts, "openssh")))
    assert "unknown" in error.message
    assert f"{cluster.host}:{extra_sshd.PORTS['cert']}" in error.message
    assert extra_sshd.host_fingerprint(cluster, "cert") in error.message
    ca_fingerprint = extra_sshd.fingerprint(extra_sshd.folder(cluster) / "host_ca.pub")
    assert f"signed by the CA ssh-ed25519 {ca_fingerprint}" in error.message


def test_paramiko_says_it_cannot_check_certificates(cluster: Cluster, tmp_path: Path) -> None:
    known_hosts = authority(cluster, tmp_path)
    error = refused(SshTransport(cert_login(cluster, known_hosts, "paramiko")))
    assert "@cert-authority" in error.message and f"{known_hosts}:1" in error.message
    assert "cannot check" in error.message
    assert extra_sshd.host_fingerprint(cluster, "cert") in error.message
    assert "transport: openssh" in (error.hint or "")
