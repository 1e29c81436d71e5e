"""The SSH transports against the real sshd of the test cluster (no fakes).

Behaviour both transports share (run, quoting, files, rsync, failures) is parametrized over
paramiko (``SshTransport``) and the ssh binary (``OpenSshTransport``); what only paramiko
does (its own host-key checks, ~/.ssh/config parsing, ProxyJump, one connection) follows.
OpenSSH-only behaviour is in test_transport_openssh.py.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpcrun.errors import RemoteError
from hpcrun.site.models import Login, Site
from hpcrun.transport.base import CommandFailed, Shell, TransportError
from hpcrun.transport.factory import open_transport
from hpcrun.transport.local import LocalTransport
from hpcrun.transport.openssh import OpenSshTransport
from hpcrun.transport.ssh import SshTransport
from tests.integration.conftest import Cluster

Remote = SshTransport | OpenSshTransport

HOSTILE = [
    "", " ", "  two  spaces  ", "a b", "'", '"', "\\", "\\\\n", "'\"'\"'", "$HOME", "${PATH}",
    "$(touch {marker})", "`touch {marker}`", "a\nb", "\n", "\t", "\r\n", "a\rb", "-n", "-e",
    "--help", "-", "--", "*", "?", "[a-z]*", "~", "~root", ";", "&&", "||", "|", ">", "<",
    "2>&1", "#", "!", "!!", "%s", "%%", "\\0", "é", "日本語", "🙂", "\x7f", "\x1b[31mred",
    "a'b\"c$d`e\\f", "$'\\x41'", "{a,b}", "x=1", "IFS= ", "\u00a0nbsp", "\u202eRTL",
]  # fmt: skip

# Prints its arguments NUL-terminated, so that any of them can be told apart exactly.
ECHO_ARGS = ["printf", "%s\\0"]

# The pid of the sshd process that serves this connection (an ancestor of the command).
SESSION_PID = (
    'p=$$; while [ "$p" -gt 1 ]; do case $(cat /proc/$p/comm) in sshd*) echo $p; exit;; '
    "esac; p=$(cut -d' ' -f4 /proc/$p/stat); done; exit 1"
)


# --------------------------------------------------------------------------- fixtures


def make_login(cluster: Cluster, **changes: Any) -> Login:
    values: dict[str, Any] = {
        "host": cluster.host,
        "port": cluster.port,
        "user": cluster.user,
        "identity_file": str(cluster.key),
        "known_hosts": str(cluster.known_hosts),
    }
    values.update(changes)
    return Login(**values)


def make(kind: str, login: Login, **options: Any) -> Remote:
    if kind == "paramiko":
        return SshTransport(login, **options)
    return OpenSshTransport(login, **options)


def finish(transport: Remote) -> None:
    if isinstance(transport, OpenSshTransport):
        transport.stop_master()
    transport.close()


@pytest.fixture(params=["paramiko", "openssh"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def remote(kind: str, cluster: Cluster) -> Iterator[Remote]:
    transport = make(kind, make_login(cluster))
    yield transport
    finish(transport)


@pytest.fixture(scope="module")
def shared_ssh(cluster: Cluster) -> Iterator[SshTransport]:
    """One paramiko transport for the property test (many examples, one connection)."""
    transport = SshTransport(make_login(cluster))
    yield transport
    transport.close()


@pytest.fixture
def scratch(cluster: Cluster) -> Iterator[str]:
    """A fresh folder in the login user's home, as ``~/...``; removed afterwards."""
    relative = f"hpcrun-transport-tests/{uuid.uuid4().hex[:12]}"
    cluster.ssh_ok(f"mkdir -p {relative}")
    yield f"~/{relative}"
    cluster.ssh(f"rm -rf {relative}")


def host_fingerprint(cluster: Cluster) -> str:
    """``SHA256:...`` of the harness's sshd host key, as ``ssh-keygen -lf`` prints it."""
    keys = sorted((cluster.state_dir / "sshd").glob("ssh_host_*_key.pub"))
    source = keys[0] if keys else cluster.known_hosts
    shown = subprocess.run(
        ["ssh-keygen", "-lf", str(source)], capture_output=True, text=True, check=True
    )
    return shown.stdout.split()[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(timeout=5)
    server.close()
    for conn in accepted:
        conn.close()


def echoed(transport: Remote | SshTransport, args: list[str]) -> list[str]:
    result = transport.run([*ECHO_ARGS, "start", *args], check=True)
    first, *rest = result.stdout.split("\0")
    assert first == "start" and rest[-1] == ""
    return rest[:-1]


def remote_tree(transport: Remote, folder: str) -> dict[str, tuple[str, int, int]]:
    """path -> (sha256, inode, mtime) of every file under ``folder`` on the cluster."""
    listing = transport.run(
        Shell(
            f"cd {folder} && find . -type f -printf '%P\\0%i\\0%T@\\0' && "
            "find . -type f -print0 | xargs -0 -r sha256sum -z"
        ),
        check=True,
    ).stdout
    fields = listing.split("\0")
    meta: dict[str, tuple[int, int]] = {}
    rest = fields
    while len(rest) >= 3 and not re.match(r"^[0-9a-f]{64}  ", rest[0]):
        name, inode, mtime, *rest = rest
        meta[name] = (int(inode), int(float(mtime)))
    sums: dict[str, str] = {}
    for entry in rest:
        if entry:
            digest, _, name = entry.partition("  ")
            sums[name.removeprefix("./")] = digest
    return {name: (sums[name], *meta[name]) for name in meta}


def local_tree(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        path.relative_to(folder).as_posix(): (
            hashlib.sha256(path.read_bytes()).hexdigest(),
            int(path.stat().st_mtime),
        )
        for path in folder.rglob("*")
        if path.is_file()
    }


TREE = {
    "train.py": b"print('hello')\n" * 200,
    "data/input.csv": b"a,b\n" + b"1,2\n" * 5000,
    "data/nested/deep/weights.bin": bytes(range(256)) * 64,
    "empty.txt": b"",
    "a b.txt": b"spaces\n",
    'quote\'d "name".txt': b"quotes\n",
    "日本語 ✓.txt": b"unicode\n",
    "-starts-with-dash.txt": b"dash\n",
    "new\nline.txt": b"newline in the name\n",
    ".hidden": b"hidden\n",
}


def write_tree(root: Path) -> list[str]:
    for name, data in TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return list(TREE)


# --------------------------------------------------------------------------- run


def test_run_argv_shell_stdin_and_exit_codes(remote: Remote, cluster: Cluster) -> None:
    assert remote.run(["echo", "hello", "world"]).stdout == "hello world\n"
    assert remote.run(["whoami"], check=True).stdout.strip() == cluster.user

    result = remote.run(Shell("echo out; echo err >&2; echo piped | tr a-z A-Z; exit 3"))
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\nPIPED\n", "err\n")
    assert not result.ok and result.argv.startswith("echo out")

    assert remote.run(["cat"], input="line 1\nlíne 2 ✓\n").stdout == "line 1\nlíne 2 ✓\n"
    big = "x" * 3_000_000 + "\n"  # more than an SSH window
    assert remote.run(["wc", "-c"], input=big).stdout.strip() == str(len(big.encode()))
    assert remote.run(["cat"]).stdout == ""  # no input: stdin is closed, no hang

    with pytest.raises(CommandFailed, match="nope"):
        remote.run(Shell("echo nope >&2; exit 7"), check=True)
    # a command's own exit 255 is not mistaken for a connection failure
    assert remote.run(Shell("exit 255")).returncode == 255
    assert remote.run(["no-such-command-hpcrun"]).returncode == 127
    # invalid UTF-8 in the output is replaced, not an exception
    assert remote.run(Shell("printf 'a\\377b'")).stdout == "a\ufffdb"


def test_hostile_arguments_arrive_byte_for_byte(remote: Remote, scratch: str) -> None:
    marker = f"{remote.home()}/{scratch[2:]}/pwned"
    args = [arg.replace("{marker}", marker) for arg in HOSTILE]
    assert echoed(remote, args) == args
    assert remote.run(["test", "-e", marker]).returncode == 1  # nothing was executed


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(
            st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
            max_size=40,
        ),
        max_size=6,
    )
)
def test_any_argument_list_round_trips(shared_ssh: SshTransport, args: list[str]) -> None:
    assert echoed(shared_ssh, args) == args


def test_command_timeout_raises_and_connection_survives(remote: Remote) -> None:
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"timed out after 1s"):
        remote.run(["sleep", "30"], timeout=1)
    assert time.monotonic() - started < 8
    assert remote.run(["echo", "still here"]).stdout == "still here\n"


def test_default_timeout_is_the_transport_command_timeout(kind: str, cluster: Cluster) -> None:
    transport = make(kind, make_login(cluster), command_timeout=1)
    try:
        started = time.monotonic()
        with pytest.raises(TransportError, match="timed out"):
            transport.run(["sleep", "30"])
        assert time.monotonic() - started < 8
    finally:
        finish(transport)


def test_home_is_absolute_and_cached(remote: Remote, cluster: Cluster) -> None:
    home = remote.home()
    assert home == cluster.ssh_ok('printf %s "$HOME"')
    assert home.startswith("/")
    finish(remote)  # cached: no connection needed any more
    assert remote.home() == home
    if isinstance(remote, SshTransport):
        assert remote.connection_port() is None


# --------------------------------------------------------------------------- failures


def test_unknown_host_key_is_refused_with_its_fingerprint(
    kind: str, cluster: Cluster, tmp_path: Path, scratch: str
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    transport = make(kind, make_login(cluster, known_hosts=str(known_hosts)))
    marker = f"{scratch}/ran"
    with pytest.raises(TransportError) as caught:
        transport.run(Shell(f"touch {marker}"))
    error = caught.value
    assert "unknown" in error.message
    assert host_fingerprint(cluster) in error.message
    assert "ssh-ed25519" in error.message
    assert f"ssh-keyscan -p {cluster.port} {cluster.host} >> {known_hosts}" in (error.hint or "")
    # connecting once with ssh must record the key where the site looks for it
    assert (f"ssh -o UserKnownHostsFile={known_hosts} -p {cluster.port} "
            f"{cluster.user}@{cluster.host}") in (error.hint or "")  # fmt: skip
    assert "\n" not in error.message and "Traceback" not in error.render()
    assert known_hosts.read_text() == ""  # never added
    assert cluster.ssh(f"test -e {marker}").returncode == 1  # nothing ran
    finish(transport)


def test_changed_host_key_is_refused_loudly(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")],
        check=True,
    )
    other = (tmp_path / "other.pub").read_text().split()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"[{cluster.host}]:{cluster.port} {other[0]} {other[1]}\n")
    transport = make(kind, make_login(cluster, known_hosts=str(known_hosts)))
    with pytest.raises(TransportError) as caught:
        transport.run(["true"])
    assert "HAS CHANGED" in caught.value.message
    assert host_fingerprint(cluster) in caught.value.message
    assert "man-in-the-middle" in caught.value.message
    assert known_hosts.read_text().split()[2] == other[1]  # untouched
    finish(transport)


def test_hashed_known_hosts_entries_work(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(cluster.known_hosts.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(known_hosts)], check=True, capture_output=True)
    assert known_hosts.read_text().startswith("|1|")
    transport = make(kind, make_login(cluster, known_hosts=str(known_hosts)))
    assert transport.run(["echo", "ok"]).stdout == "ok\n"
    finish(transport)


def test_wrong_key_is_an_authentication_error(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    key = tmp_path / "not-authorized"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    transport = make(kind, make_login(cluster, identity_file=str(key)))
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        transport.run(["true"])
    assert time.monotonic() - started < 10
    assert f"'{cluster.user}'" in caught.value.message
    assert str(key) in caught.value.message
    assert "authorized_keys" in (caught.value.hint or "") or kind == "openssh"
    finish(transport)


def test_unreachable_port_fails_fast(kind: str, cluster: Cluster) -> None:
    transport = make(kind, make_login(cluster, port=free_port()), connect_timeout=5)
    started = time.monotonic()
    with pytest.raises(TransportError, match="refused") as caught:
        transport.run(["true"])
    assert time.monotonic() - started < 3
    assert caught.value.hint


def test_unknown_host_name(kind: str, cluster: Cluster) -> None:
    transport = make(kind, make_login(cluster, host="no-such-host.invalid"), connect_timeout=5)
    with pytest.raises(TransportError, match="cannot resolve host name 'no-such-host.invalid'"):
        transport.run(["true"])


def test_silent_server_hits_the_connect_timeout(
    kind: str, cluster: Cluster, silent_server: int
) -> None:
    transport = make(kind, make_login(cluster, port=silent_server), connect_timeout=2)
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        transport.run(["true"], timeout=60)
    elapsed = time.monotonic() - started
    assert 1.5 < elapsed < 8
    assert "greeting" in caught.value.message
    assert "Traceback" not in caught.value.render()


def test_dropped_connection_raises_and_never_repeats(
    remote: Remote, cluster: Cluster, scratch: str
) -> None:
    session = remote.run(Shell(SESSION_PID), check=True).stdout.strip()
    assert session.isdigit()
    log = f"{scratch}/started"
    killer = threading.Timer(1.5, lambda: cluster.ssh(f"kill -9 {session}"))
    killer.start()
    started = time.monotonic()
    try:
        with pytest.raises(TransportError, match="dropped") as caught:
            remote.run(Shell(f"echo once >> {log}; sleep 60"), timeout=90)
    finally:
        killer.join()
    assert time.monotonic() - started < 10
    assert "never repeats" in (caught.value.hint or "")
    # the next call reconnects, and the interrupted command did not run again
    assert remote.run(["cat", log.replace("~", remote.home())]).stdout == "once\n"
    assert remote.run(Shell(SESSION_PID)).stdout.strip() != session


# --------------------------------------------------------------------------- files


def test_put_text_is_atomic_with_mode(remote: Remote, cluster: Cluster, scratch: str) -> None:
    target = f"{scratch}/new/parents/config.txt"
    remote.put_text("héllo\nno newline at end", target, mode=0o640)
    path = target.replace("~", remote.home())
    stat = remote.run(["stat", "-c", "%a %s %i", path], check=True).stdout.split()
    assert stat[:2] == ["640", str(len("héllo\nno newline at end".encode()))]
    keep = f"{remote.home()}/{scratch[2:]}/old"
    remote.run(["ln", path, keep], check=True)  # keeps the old inode from being reused
    assert remote.read_from(target, 0) == "héllo\nno newline at end".encode()

    # replaced by rename: a new inode, no temp files left, readers never see half a file
    big_a, big_b = "a" * 300_000, "b" * 200_000
    reader = threading.Thread(
        target=lambda: sizes.append(
            cluster.ssh_ok(f"for i in $(seq 150); do wc -c < {path}; done", timeout=120).split()
        )
    )
    sizes: list[list[str]] = []
    remote.put_text(big_a, target, mode=0o600)
    reader.start()
    for _ in range(6):
        remote.put_text(big_b, target, mode=0o600)
        remote.put_text(big_a, target, mode=0o600)
    reader.join()
    assert set(sizes[0]) <= {"300000", "200000"}, set(sizes[0])
    after = remote.run(["stat", "-c", "%a %i", path, keep], check=True).stdout.split()
    assert after[0] == "600" and after[1] != after[3] == stat[2]
    listing = remote.run(["ls", "-A", path.rsplit("/", 1)[0]], check=True).stdout.split()
    assert listing == ["config.txt"]


def test_read_from_offsets(remote: Remote, scratch: str) -> None:
    path = f"{scratch}/log.bin"
    remote.run(Shell(f"head -c 100000 /dev/urandom > {path}"), check=True)
    whole = remote.read_from(path, 0)
    assert len(whole) == 100000
    digest = remote.run(["sha256sum", path.replace("~", remote.home())]).stdout.split()[0]
    assert hashlib.sha256(whole).hexdigest() == digest
    assert remote.read_from(path, 99990) == whole[99990:]
    assert remote.read_from(path, 100000) == b""
    assert remote.read_from(path, 500000) == b""
    remote.run(Shell(f"printf 'more\\n' >> {path}"), check=True)
    assert remote.read_from(path, 100000) == b"more\n"
    assert remote.read_from(f"{scratch}/missing.log", 0) == b""
    assert remote.read_from(f"{scratch}/missing-dir/x.log", 10) == b""


def test_sync_up_then_unchanged_reupload_hard_links(
    remote: Remote, tmp_path: Path, scratch: str
) -> None:
    files = write_tree(tmp_path / "project")
    total = sum(len(data) for data in TREE.values())

    sent = remote.sync_up(tmp_path / "project", files, f"{scratch}/runs/1")
    assert sent == total
    first = remote_tree(remote, f"{scratch}/runs/1")
    expected = local_tree(tmp_path / "project")
    assert {name: (digest, mtime) for name, (digest, _, mtime) in first.items()} == expected

    sent = remote.sync_up(
        tmp_path / "project", files, f"{scratch}/runs/2", link_dest=f"{scratch}/runs/1"
    )
    assert sent == 0
    second = remote_tree(remote, f"{scratch}/runs/2")
    assert second == first  # same content, same inodes: hard links

    changed = tmp_path / "project" / "train.py"
    changed.write_bytes(b"print('changed')\n")
    sent = remote.sync_up(
        tmp_path / "project", files, f"{scratch}/runs/3", link_dest=f"{scratch}/runs/2"
    )
    assert 0 < sent <= len(b"print('changed')\n")
    third = remote_tree(remote, f"{scratch}/runs/3")
    assert third["train.py"][1] != first["train.py"][1]
    assert {n: v for n, v in third.items() if n != "train.py"} == {
        n: v for n, v in first.items() if n != "train.py"
    }
    # re-upload into the same folder: nothing to send
    assert remote.sync_up(tmp_path / "project", files, f"{scratch}/runs/3") == 0
    # a link_dest that does not exist is no error
    assert remote.sync_up(
        tmp_path / "project", ["a b.txt"], f"{scratch}/runs/4", link_dest=f"{scratch}/nope"
    ) == len(TREE["a b.txt"])


def test_sync_down_is_resumable_and_skips_missing(
    remote: Remote, tmp_path: Path, scratch: str
) -> None:
    files = write_tree(tmp_path / "src")
    remote.sync_up(tmp_path / "src", files, f"{scratch}/job")
    total = sum(len(data) for data in TREE.values())
    down = tmp_path / "down"

    assert (
        remote.sync_down(f"{scratch}/job", [".", "not-there", "nor/this"], down).received == total
    )
    assert local_tree(down) == local_tree(tmp_path / "src")
    assert remote.sync_down(f"{scratch}/job", ["."], down).received == 0  # nothing new

    # a partly fetched folder: only what is missing comes again
    (down / "data" / "input.csv").unlink()
    weights = down / "data" / "nested" / "deep" / "weights.bin"
    weights.write_bytes(weights.read_bytes()[:4000])  # an interrupted download
    got = remote.sync_down(f"{scratch}/job", ["data", "train.py"], down).received
    assert len(TREE["data/input.csv"]) <= got < total
    assert local_tree(down) == local_tree(tmp_path / "src")

    # single files, and folders that do not exist at all
    assert remote.sync_down(f"{scratch}/job", ["a b.txt"], tmp_path / "one").received == 7
    assert (tmp_path / "one" / "a b.txt").read_bytes() == b"spaces\n"
    assert remote.sync_down(f"{scratch}/no-such-dir", ["x"], tmp_path / "none").received == 0
    assert remote.sync_down(f"{scratch}/job", [], tmp_path / "none").received == 0


def test_sync_up_missing_local_file_is_an_error(
    remote: Remote, tmp_path: Path, scratch: str
) -> None:
    (tmp_path / "here.txt").write_text("x")
    with pytest.raises(RemoteError):
        remote.sync_up(tmp_path, ["here.txt", "gone.txt"], f"{scratch}/x")


# --------------------------------------------------------------------------- paramiko only


def ssh_connections(pids: set[int], port: int) -> set[int]:
    """Local ports of the ESTABLISHED TCP connections to ``port`` owned by ``pids``."""
    shown = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( dport = :{port} )"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    found = set()
    for line in shown.splitlines():
        owners = {int(pid) for pid in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            found.add(int(line.split()[2].rsplit(":", 1)[1]))
    return found


def family(root: int) -> set[int]:
    """``root`` and all its descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    members = {root}
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return members


def test_one_connection_for_commands_files_and_rsync(
    cluster: Cluster, tmp_path: Path, scratch: str
) -> None:
    before = ssh_connections(family(os.getpid()), cluster.port)  # other tests' transports
    transport = SshTransport(make_login(cluster))
    origin = transport.run(Shell("echo $SSH_CONNECTION")).stdout.split()[1]
    assert int(origin) == transport.connection_port()

    for number in range(20):
        assert transport.run(["echo", str(number)]).stdout == f"{number}\n"
    transport.put_text("x", f"{scratch}/a.txt")
    assert transport.read_from(f"{scratch}/a.txt", 0) == b"x"

    project = tmp_path / "big"
    project.mkdir()
    for index in range(8):
        (project / f"blob{index}").write_bytes(os.urandom(2_000_000))
    seen: set[int] = set()
    done = threading.Event()
    results: list[int] = []

    def upload() -> None:
        try:
            results.append(
                transport.sync_up(project, [f"blob{i}" for i in range(8)], f"{scratch}/big")
            )
            results.append(transport.sync_down(f"{scratch}/big", ["."], tmp_path / "back").received)
        finally:
            done.set()

    worker = threading.Thread(target=upload)
    worker.start()
    polls = 0
    while not done.is_set():
        seen |= ssh_connections(family(os.getpid()), cluster.port) - before
        polls += 1
        time.sleep(0.01)
    worker.join()
    assert results == [16_000_000, 16_000_000]
    assert polls > 3  # the transfers were watched while they ran
    assert seen <= {int(origin)}, f"more than one SSH connection: {seen}"
    assert ssh_connections(family(os.getpid()), cluster.port) - before == {int(origin)}
    assert transport.run(Shell("echo $SSH_CONNECTION")).stdout.split()[1] == origin
    transport.close()
    assert transport.connection_port() is None


def ssh_config_text(cluster: Cluster) -> str:
    return (
        "Host other\n    HostName 192.0.2.1\n\n"
        f"Host myalias\n    HostName {cluster.host}\n    Port {cluster.port}\n"
        f"    User {cluster.user}\n    IdentityFile {cluster.key}\n"
    )


def test_ssh_config_alias_from_home(
    cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(ssh_config_text(cluster))
    monkeypatch.setenv("HOME", str(tmp_path))
    login = Login(host="myalias", known_hosts=str(cluster.known_hosts))
    transport = SshTransport(login)
    assert transport.run(["whoami"]).stdout.strip() == cluster.user
    endpoint = transport.endpoint
    assert (endpoint.host, endpoint.port, endpoint.user) == (
        cluster.host,
        cluster.port,
        cluster.user,
    )
    transport.close()


def test_explicit_site_values_win_over_ssh_config(cluster: Cluster, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text(ssh_config_text(cluster))
    wrong_port = SshTransport(
        Login(host="myalias", port=free_port(), known_hosts=str(cluster.known_hosts)),
        ssh_config=config,
    )
    with pytest.raises(TransportError, match="refused"):
        wrong_port.run(["true"])
    other_user = SshTransport(
        Login(host="myalias", user="nobody-else", known_hosts=str(cluster.known_hosts)),
        ssh_config=config,
    )
    with pytest.raises(TransportError, match="'nobody-else'"):
        other_user.run(["true"])
    other_user.close()


def test_proxy_jump_through_a_second_connection(cluster: Cluster) -> None:
    before = ssh_connections(family(os.getpid()), cluster.port)  # other tests' transports
    transport = SshTransport(
        make_login(cluster, proxy_jump=f"{cluster.user}@{cluster.host}:{cluster.port}")
    )
    assert transport.run(["echo", "jumped"]).stdout == "jumped\n"
    # we hold one TCP connection (to the jump host); the target saw one from the jump
    # host's sshd, tunnelled through it
    ours = ssh_connections(family(os.getpid()), cluster.port) - before
    assert ours == {transport.connection_port()}
    origin = int(transport.run(Shell("echo $SSH_CONNECTION")).stdout.split()[1])
    assert origin not in ours
    transport.close()
    assert ssh_connections(family(os.getpid()), cluster.port) - before == set()


def test_proxy_command_from_ssh_config(cluster: Cluster, tmp_path: Path) -> None:
    # the proxy: OpenSSH's -W through the same sshd, reached as "localhost"
    proxy_known_hosts = tmp_path / "proxy_known_hosts"
    proxy_known_hosts.write_text(
        cluster.known_hosts.read_text().replace(f"[{cluster.host}]", "[localhost]")
    )
    config = tmp_path / "config"
    config.write_text(
        f"Host viaproxy\n    HostName {cluster.host}\n    Port {cluster.port}\n"
        f"    User {cluster.user}\n    IdentityFile {cluster.key}\n"
        f"    ProxyCommand ssh -F /dev/null -i {cluster.key} -o BatchMode=yes "
        f"-o UserKnownHostsFile={proxy_known_hosts} -p {cluster.port} "
        f"{cluster.user}@localhost -W %h:%p\n"
    )
    transport = SshTransport(
        Login(host="viaproxy", known_hosts=str(cluster.known_hosts)), ssh_config=config
    )
    assert transport.endpoint.proxy_command is not None
    assert transport.run(["echo", "proxied"]).stdout == "proxied\n"
    assert transport.connection_port() is None  # not a TCP socket of ours
    transport.close()


def test_open_transport_picks_by_site(cluster: Cluster) -> None:
    local = Site(name="here", scheduler="local")
    assert isinstance(open_transport(local), LocalTransport)
    login = make_login(cluster)
    paramiko_site = Site(name="c", scheduler="slurm", login=login)
    transport = open_transport(paramiko_site)
    assert isinstance(transport, SshTransport)
    assert transport.run(["echo", "via factory"]).stdout == "via factory\n"
    transport.close()
    openssh_site = Site(
        name="c", scheduler="slurm", login=login.model_copy(update={"transport": "openssh"})
    )
    assert isinstance(open_transport(openssh_site), OpenSshTransport)
