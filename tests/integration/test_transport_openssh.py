"""What only the OpenSSH transport does: the ControlMaster it reuses, the ssh options it
builds from the site's login, ssh_config aliases and ProxyJump through the ssh binary.

Behaviour shared with the paramiko transport (run, quoting, files, rsync, every failure
mode) is tested for both in test_transport_ssh.py.
"""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcrun.site.models import Login
from hpcrun.transport.base import Shell
from hpcrun.transport.openssh import OpenSshTransport
from tests.integration.conftest import Cluster
from tests.integration.test_transport_ssh import make_login


@pytest.fixture
def openssh(cluster: Cluster) -> Iterator[OpenSshTransport]:
    transport = OpenSshTransport(make_login(cluster, transport="openssh"))
    yield transport
    transport.stop_master()


@pytest.fixture
def scratch(cluster: Cluster) -> Iterator[str]:
    """A fresh folder in the login user's home, as ``~/...``; removed afterwards."""
    relative = f"hpcrun-transport-tests/{uuid.uuid4().hex[:12]}"
    cluster.ssh_ok(f"mkdir -p {relative}")
    yield f"~/{relative}"
    cluster.ssh(f"rm -rf {relative}")


def master_check(transport: OpenSshTransport) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ssh", *transport.ssh_options(), "-O", "check", transport.login.host],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def origin_port(transport: OpenSshTransport) -> str:
    return transport.run(Shell("echo $SSH_CONNECTION"), check=True).stdout.split()[1]


def test_one_master_for_commands_files_and_rsync(
    openssh: OpenSshTransport, tmp_path: Path, scratch: str, isolated_home: Path
) -> None:
    assert master_check(openssh).returncode != 0  # nothing yet
    first = origin_port(openssh)
    assert master_check(openssh).returncode == 0
    for number in range(10):
        assert openssh.run(["echo", str(number)]).stdout == f"{number}\n"
    (tmp_path / "f.txt").write_text("data")
    assert openssh.sync_up(tmp_path, ["f.txt"], f"{scratch}/up") == 4
    assert openssh.sync_down(f"{scratch}/up", ["f.txt"], tmp_path / "down").received == 4
    openssh.put_text("x", f"{scratch}/x.txt")
    assert openssh.read_from(f"{scratch}/x.txt", 0) == b"x"
    assert origin_port(openssh) == first  # the same TCP connection all along

    control = openssh.control_dir()
    assert control == isolated_home / "ssh" or control.name.startswith(f"hpcrun-{os.getuid()}-")
    assert stat.S_IMODE(control.stat().st_mode) == 0o700
    sockets = [p for p in control.iterdir() if p.name.startswith("cm-")]
    assert len(sockets) == 1 and stat.S_ISSOCK(sockets[0].stat().st_mode)

    openssh.stop_master()
    assert master_check(openssh).returncode != 0
    assert origin_port(openssh) != first  # a new master


def test_long_hpcrun_home_gets_a_short_socket_folder(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_home = tmp_path / ("deep-" * 12) / "hpcrun"
    monkeypatch.setenv("HPCRUN_HOME", str(long_home))
    transport = OpenSshTransport(make_login(cluster))
    try:
        assert transport.run(["echo", "ok"]).stdout == "ok\n"
        control = transport.control_dir()
        assert len(str(control)) + len("/cm-") + 40 + 17 <= 103
        monkeypatch.setenv("HPCRUN_HOME", str(long_home) + "-other")
        assert OpenSshTransport(make_login(cluster)).control_dir() != control
    finally:
        transport.stop_master()


def test_ssh_options_follow_the_login(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    full = OpenSshTransport(
        Login(host="h", port=2200, user="u", identity_file="~/k", known_hosts="~/kh",
              proxy_jump="j@jump:22", transport="openssh")
    ).ssh_options()  # fmt: skip
    home = os.path.expanduser("~")
    joined = " ".join(full)
    for expected in (
        "-p 2200", "-l u", f"-i {home}/k", f"UserKnownHostsFile={home}/kh",
        "StrictHostKeyChecking=yes", "BatchMode=yes", "ControlMaster=auto",
        "ControlPersist=60", "ConnectTimeout=15",
    ):  # fmt: skip
        assert expected in joined
    assert any(option.startswith("ControlPath=") and option.endswith("/cm-%C") for option in full)
    # the jump host gets the same checks (ssh -J would not pass them on), and no master
    (proxy,) = [option for option in full if option.startswith("ProxyCommand=")]
    assert "-J" not in full
    for expected in (
        f"UserKnownHostsFile={home}/kh", "StrictHostKeyChecking=yes", "BatchMode=yes",
        f"-i {home}/k", "ControlMaster=no", "ControlPath=none", "-l j -p 22 -W '[%h]:%p' jump",
    ):  # fmt: skip
        assert expected in proxy

    minimal = OpenSshTransport(Login(host="h")).ssh_options()
    assert "-p" not in minimal and "-l" not in minimal and "-i" not in minimal
    assert not any(option.startswith("UserKnownHostsFile") for option in minimal)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    assert "BatchMode=yes" not in OpenSshTransport(Login(host="h")).ssh_options()


def test_ssh_config_alias_and_proxy_jump(cluster: Cluster, tmp_path: Path) -> None:
    # OpenSSH refuses a jump to the very same host name ("jumphost loop"): go via localhost
    known_hosts = tmp_path / "known_hosts"
    entry = cluster.known_hosts.read_text()
    known_hosts.write_text(entry + entry.replace(f"[{cluster.host}]", "[localhost]"))
    config = tmp_path / "config"
    config.write_text(
        f"Host myalias\n    HostName {cluster.host}\n    Port {cluster.port}\n"
        f"    User {cluster.user}\n\n"
        f"Host *\n    IdentityFile {cluster.key}\n    UserKnownHostsFile {known_hosts}\n"
    )
    alias = OpenSshTransport(Login(host="myalias"), ssh_config=config)
    try:
        assert alias.run(["whoami"]).stdout.strip() == cluster.user
    finally:
        alias.stop_master()
    jumped = OpenSshTransport(
        Login(host="myalias", proxy_jump=f"{cluster.user}@localhost:{cluster.port}"),
        ssh_config=config,
    )
    try:
        assert jumped.run(["echo", "jumped"]).stdout == "jumped\n"
    finally:
        jumped.stop_master()
