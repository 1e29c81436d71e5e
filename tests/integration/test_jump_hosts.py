"""ProxyJump through two real jump hosts (extra sshd instances of the test cluster), on both
transports: commands and rsync ride the chain, and host keys are checked at every hop, an
unknown or changed key refused with that hop's name and fingerprint.

The jump hosts only forward along jump1 -> jump2 -> login node (PermitOpen), so a working
connection has passed both.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpcrun.transport.base import TransportError
from tests.cli import hpcrun, ps_json
from tests.integration import extra_sshd
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant, workflows
from tests.integration.test_transport_ssh import Remote, finish, host_fingerprint, make, make_login


@pytest.fixture(params=["paramiko", "openssh"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def scratch(cluster: Cluster) -> Iterator[str]:
    relative = f"hpcrun-jump-tests/{uuid.uuid4().hex[:12]}"
    cluster.ssh_ok(f"mkdir -p {relative}")
    yield f"~/{relative}"
    cluster.ssh(f"rm -rf {relative}")


def all_known(cluster: Cluster, path: Path) -> Path:
    return extra_sshd.write_known_hosts(
        path,
        extra_sshd.known_line(cluster, "jump1"),
        extra_sshd.known_line(cluster, "jump2"),
        extra_sshd.login_line(cluster),
    )


def through(kind: str, cluster: Cluster, known_hosts: Path, hops: list[str]) -> Remote:
    hop_list = [extra_sshd.hop(cluster, name) for name in hops]
    return make(kind, make_login(cluster, known_hosts=str(known_hosts), proxy_jump=hop_list))


def refusal(transport: Remote) -> TransportError:
    try:
        with pytest.raises(TransportError) as caught:
            transport.run(["true"])
    finally:
        finish(transport)
    rendered = caught.value.render()
    assert "Traceback" not in rendered and "internal error" not in rendered
    return caught.value


def test_two_hops_carry_commands_and_rsync(
    kind: str, cluster: Cluster, tmp_path: Path, scratch: str
) -> None:
    known_hosts = all_known(cluster, tmp_path / "known_hosts")
    transport = through(kind, cluster, known_hosts, ["jump1", "jump2"])
    try:
        assert transport.run(["echo", "two hops"]).stdout == "two hops\n"
        (tmp_path / "up").mkdir()
        (tmp_path / "up" / "data.txt").write_text("through the jump hosts\n")
        assert transport.sync_up(tmp_path / "up", ["data.txt"], f"{scratch}/in") == 23
        assert cluster.ssh_ok(f"cat {scratch}/in/data.txt") == "through the jump hosts\n"
        fetched = transport.sync_down(f"{scratch}/in", ["data.txt"], tmp_path / "down")
        assert fetched.received == 23
        assert (tmp_path / "down" / "data.txt").read_text() == "through the jump hosts\n"
    finally:
        finish(transport)


def test_the_hops_are_really_used(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    # jump1 may only forward to jump2: the login node is out of its reach
    known_hosts = all_known(cluster, tmp_path / "known_hosts")
    error = refusal(through(kind, cluster, known_hosts, ["jump1"]))
    assert "prohibited" in error.message.lower()
    assert "jump host" in error.message
    assert "proxy_jump" in (error.hint or "")


@pytest.mark.parametrize("missing", ["jump1", "jump2", "login"])
def test_unknown_key_at_any_hop_is_refused_with_its_name_and_fingerprint(
    kind: str, cluster: Cluster, tmp_path: Path, missing: str
) -> None:
    lines = {
        "jump1": extra_sshd.known_line(cluster, "jump1"),
        "jump2": extra_sshd.known_line(cluster, "jump2"),
        "login": extra_sshd.login_line(cluster),
    }
    del lines[missing]
    known_hosts = extra_sshd.write_known_hosts(tmp_path / "known_hosts", *lines.values())
    before = known_hosts.read_text()
    error = refusal(through(kind, cluster, known_hosts, ["jump1", "jump2"]))
    assert "unknown" in error.message
    if missing == "login":
        assert f"{cluster.host}:{cluster.port}" in error.message
        assert host_fingerprint(cluster) in error.message
        assert "jump host" not in error.message
    else:
        position = {"jump1": 1, "jump2": 2}[missing]
        port = extra_sshd.PORTS[missing]
        assert f"{cluster.host}:{port} (jump host {position} of 2)" in error.message
        assert extra_sshd.host_fingerprint(cluster, missing) in error.message
    if missing != "jump1":  # behind a jump host: ssh-keyscan cannot reach it
        assert f"-J {extra_sshd.hop(cluster, 'jump1')}" in (error.hint or "")
        assert "ssh-keyscan" not in (error.hint or "")
    assert known_hosts.read_text() == before  # never added


def test_changed_key_at_a_hop_is_refused_loudly(
    kind: str, cluster: Cluster, tmp_path: Path
) -> None:
    # jump2 is recorded with jump1's key: someone else answers at jump2's address
    wrong = f"[{cluster.host}]:{extra_sshd.PORTS['jump2']} {extra_sshd.host_key(cluster, 'jump1')}"
    known_hosts = extra_sshd.write_known_hosts(
        tmp_path / "known_hosts",
        extra_sshd.known_line(cluster, "jump1"),
        wrong,
        extra_sshd.login_line(cluster),
    )
    error = refusal(through(kind, cluster, known_hosts, ["jump1", "jump2"]))
    assert "HAS CHANGED" in error.message
    assert f"{cluster.host}:{extra_sshd.PORTS['jump2']} (jump host 2 of 2)" in error.message
    assert extra_sshd.host_fingerprint(cluster, "jump2") in error.message
    assert f"[{cluster.host}]:{extra_sshd.PORTS['jump2']}" in (error.hint or "")


def test_hashed_known_hosts_at_every_hop(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    known_hosts = all_known(cluster, tmp_path / "known_hosts")
    subprocess.run(["ssh-keygen", "-H", "-f", str(known_hosts)], check=True, capture_output=True)
    assert "[127.0.0.1]" not in known_hosts.read_text()
    transport = through(kind, cluster, known_hosts, ["jump1", "jump2"])
    try:
        assert transport.run(["echo", "hashed"]).stdout == "hashed\n"
    finally:
        finish(transport)


def test_submit_logs_and_artifacts_through_two_hops(
    kind: str, cluster: Cluster, tmp_path: Path
) -> None:
    known_hosts = all_known(cluster, tmp_path / "known_hosts")
    hops = [extra_sshd.hop(cluster, "jump1"), extra_sshd.hop(cluster, "jump2")]
    site = site_variant(
        cluster.site_config,
        tmp_path,
        login={"proxy_jump": hops, "known_hosts": str(known_hosts), "transport": kind},
    )
    project = tmp_path / "project"
    workflows(
        project,
        'workflows:\n  - name: hop\n    provider: python\n    file: hop.py\n    version: "3.11"\n'
        "    artifacts: [out]\n",
        **{"hop.py": "import pathlib\nprint('ran behind two jump hosts')\n"
           "pathlib.Path('out').mkdir()\npathlib.Path('out/r.txt').write_text('ok')\n"},
    )  # fmt: skip
    result = hpcrun("submit", "hop", "--site", site, cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ran behind two jump hosts" in result.stdout
    [run] = ps_json()
    assert run["state"] == "completed"
    assert "ran behind two jump hosts" in hpcrun("logs", run["run"]).stdout
    assert (Path(run["artifacts_dir"]) / "out" / "r.txt").read_text() == "ok"
