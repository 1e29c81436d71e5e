"""known_hosts files with @cert-authority and @revoked markers, hashed names and bad
lines, against the real sshd of the test cluster, over both transports.

The paramiko transport reads the file itself (``ssh_known_hosts``); the OpenSSH transport
leaves it to ssh. Both must connect where ssh would, and refuse with a clear message (never
an internal error) where ssh would refuse.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hpcrun.transport.base import TransportError
from tests.integration.conftest import Cluster
from tests.integration.test_transport_ssh import finish, host_fingerprint, make, make_login


@pytest.fixture(params=["paramiko", "openssh"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def host_line(cluster: Cluster) -> str:
    """The harness's known_hosts line for the sshd: ``[host]:port type key``."""
    return cluster.known_hosts.read_text().strip().splitlines()[0]


def host_key(cluster: Cluster) -> str:
    """``type key`` of the sshd's host key."""
    return " ".join(host_line(cluster).split()[1:3])


def new_key(folder: Path, name: str) -> str:
    """``type key`` of a fresh ed25519 key (ssh-keygen, as a CA would make it)."""
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return " ".join((folder / f"{name}.pub").read_text().split()[:2])


def write(folder: Path, *lines: str) -> Path:
    known_hosts = folder / "known_hosts"
    known_hosts.write_text("".join(f"{line}\n" for line in lines))
    return known_hosts


def connect(kind: str, cluster: Cluster, known_hosts: Path) -> str:
    transport = make(kind, make_login(cluster, known_hosts=str(known_hosts)))
    try:
        return transport.run(["echo", "ok"]).stdout
    finally:
        finish(transport)


def refusal(kind: str, cluster: Cluster, known_hosts: Path) -> TransportError:
    transport = make(kind, make_login(cluster, known_hosts=str(known_hosts)))
    try:
        with pytest.raises(TransportError) as caught:
            transport.run(["true"])
    finally:
        finish(transport)
    assert "internal error" not in caught.value.render()
    assert "InvalidHostKey" not in caught.value.render()
    return caught.value


def test_cert_authority_line_next_to_the_plain_key_connects(
    kind: str, cluster: Cluster, tmp_path: Path
) -> None:
    ca = new_key(tmp_path, "ca")
    known_hosts = write(tmp_path, f"@cert-authority *.example.org,[127.0.0.1]:* {ca}",
                        host_line(cluster))  # fmt: skip
    assert connect(kind, cluster, known_hosts) == "ok\n"


def test_revoked_host_key_is_refused(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    known_hosts = write(tmp_path, host_line(cluster), f"@revoked * {host_key(cluster)}")
    error = refusal(kind, cluster, known_hosts)
    assert "revoked" in error.message
    assert str(known_hosts) in error.message
    if kind == "paramiko":  # ssh does not say which line; we do
        assert f"{known_hosts}:2" in error.message
        assert host_fingerprint(cluster) in error.message


def test_host_known_only_through_a_ca_is_refused_clearly(
    kind: str, cluster: Cluster, tmp_path: Path
) -> None:
    ca = new_key(tmp_path, "ca")
    known_hosts = write(tmp_path, f"@cert-authority [{cluster.host}]:{cluster.port} {ca}")
    error = refusal(kind, cluster, known_hosts)
    if kind == "paramiko":
        assert "@cert-authority" in error.message and f"{known_hosts}:1" in error.message
        assert "transport: openssh" in (error.hint or "")
        assert host_fingerprint(cluster) in error.message
    else:  # ssh checks certificates: the test sshd presents none, so its key is unknown
        assert "unknown" in error.message


def test_hashed_names_ports_patterns_and_bad_lines(
    kind: str, cluster: Cluster, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    other = new_key(tmp_path, "other")
    plain = write(
        tmp_path,
        f"{cluster.host} {other}",  # port 22: not ours
        f"[{cluster.host}]:{cluster.port},other.example.org {host_key(cluster)} comment",
    )
    subprocess.run(["ssh-keygen", "-H", "-f", str(plain)], check=True, capture_output=True)
    hashed = plain.read_text()
    assert f"[{cluster.host}]" not in hashed and hashed.count("|1|") >= 2
    bad = [f"@bogus-marker * {other}", "garbage", "x y !!notbase64"]  # ssh ignores these
    plain.write_text("# a comment, then a blank line\n\n" + "\n".join(bad) + "\n" + hashed)
    capfd.readouterr()
    assert connect(kind, cluster, plain) == "ok\n"
    if kind == "paramiko":
        warnings = capfd.readouterr().err
        assert f"{plain}:" in warnings and "ignored" in warnings
        assert "Traceback" not in warnings


def test_negated_pattern_excludes_the_host(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    line = f"![{cluster.host}]:*,*:{cluster.port} {host_key(cluster)}"
    known_hosts = write(tmp_path, line)
    error = refusal(kind, cluster, known_hosts)
    assert "unknown" in error.message
