"""The local transport means what the SSH transports mean: run, quoting, put_text,
sync_up with link_dest, resumable sync_down, read_from (see
tests/integration/test_transport_ssh.py for the same checks over SSH)."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from hpcrun.transport.base import CommandFailed, Shell, TransportError, expand_home
from hpcrun.transport.local import LocalTransport

HOSTILE = [
    "", " ", "a b", "'", '"', "\\", "'\"'\"'", "$HOME", "${PATH}", "$(touch {marker})",
    "`touch {marker}`", "a\nb", "\n", "\t", "a\rb", "-n", "-e", "--help", "-", "--", "*", "?",
    "~", ";", "&&", "|", ">", "#", "!", "%s", "\\0", "é", "日本語", "🙂", "\x7f", "\x1b[31m",
    "$'\\x41'", "{a,b}",
]  # fmt: skip

TREE = {
    "train.py": b"print('hello')\n" * 200,
    "data/input.csv": b"a,b\n" + b"1,2\n" * 5000,
    "data/nested/deep/weights.bin": bytes(range(256)) * 64,
    "empty.txt": b"",
    "a b.txt": b"spaces\n",
    "日本語 ✓.txt": b"unicode\n",
    "-dash.txt": b"dash\n",
}


@pytest.fixture
def local() -> LocalTransport:
    return LocalTransport()


def write_tree(root: Path) -> list[str]:
    for name, data in TREE.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (1_700_000_000, 1_700_000_000))
    return list(TREE)


def tree(root: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(root).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_ino,
        )
        for p in root.rglob("*")
        if p.is_file()
    }


def contents(root: Path) -> dict[str, str]:
    return {name: digest for name, (digest, _) in tree(root).items()}


def test_run_argv_shell_input_and_check(local: LocalTransport) -> None:
    assert local.run(["echo", "hello", "world"]).stdout == "hello world\n"
    result = local.run(Shell("echo out; echo err >&2; echo piped | tr a-z A-Z; exit 3"))
    assert (result.returncode, result.stdout, result.stderr) == (3, "out\nPIPED\n", "err\n")
    assert local.run(["cat"], input="líne ✓\n").stdout == "líne ✓\n"
    with pytest.raises(CommandFailed, match="nope"):
        local.run(Shell("echo nope >&2; exit 7"), check=True)
    assert local.run(["no-such-command-hpcrun"]).returncode == 127
    assert local.run(Shell("printf 'a\\377b'")).stdout == "a\ufffdb"


def test_hostile_arguments_arrive_byte_for_byte(local: LocalTransport, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    args = [arg.replace("{marker}", str(marker)) for arg in HOSTILE]
    out = local.run(["printf", "%s\\0", "start", *args], check=True).stdout.split("\0")
    assert out[0] == "start" and out[1:-1] == args
    assert not marker.exists()


def test_carriage_returns_in_output_are_kept(local: LocalTransport) -> None:
    assert local.run(["printf", "%s", "a\rb\r\n"]).stdout == "a\rb\r\n"


def test_timeout_raises_transport_error(local: LocalTransport) -> None:
    started = time.monotonic()
    with pytest.raises(TransportError, match="timed out after 1s"):
        local.run(["sleep", "30"], timeout=1)
    assert time.monotonic() - started < 8


def test_home_and_expand_home(local: LocalTransport) -> None:
    assert local.home() == os.path.expanduser("~")
    assert expand_home("~/x/y", "/home/u") == "/home/u/x/y"
    assert expand_home("~", "/home/u/") == "/home/u/"
    assert expand_home("/abs/~/x", "/home/u") == "/abs/~/x"


def test_put_text_is_atomic_with_mode(local: LocalTransport, tmp_path: Path) -> None:
    target = tmp_path / "new" / "parents" / "config.txt"
    local.put_text("héllo\nno newline", str(target), mode=0o640)
    assert target.read_bytes() == "héllo\nno newline".encode()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    os.link(target, tmp_path / "old")  # keeps the old inode from being reused

    seen: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.add(len(target.read_bytes()))

    reader = threading.Thread(target=read)
    reader.start()
    for _ in range(30):
        local.put_text("a" * 300_000, str(target))
        local.put_text("b" * 200_000, str(target))
    stop.set()
    reader.join()
    assert seen <= {300_000, 200_000, len("héllo\nno newline".encode())}
    assert target.stat().st_ino != (tmp_path / "old").stat().st_ino  # replaced by rename
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["config.txt"]


def test_sync_up_link_dest_hard_links_unchanged_files(
    local: LocalTransport, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    files = write_tree(project)
    total = sum(len(data) for data in TREE.values())
    runs = tmp_path / "runs"

    assert local.sync_up(project, files, str(runs / "1")) == total
    assert contents(runs / "1") == contents(project)
    assert (runs / "1" / "train.py").stat().st_mtime == 1_700_000_000

    assert local.sync_up(project, files, str(runs / "2"), link_dest=str(runs / "1")) == 0
    assert tree(runs / "2") == tree(runs / "1")  # same inodes: hard links

    (project / "train.py").write_bytes(b"print('changed')\n")
    sent = local.sync_up(project, files, str(runs / "3"), link_dest=str(runs / "2"))
    assert sent == len(b"print('changed')\n")
    third, first = tree(runs / "3"), tree(runs / "1")
    assert third["train.py"] != first["train.py"]
    assert {k: v for k, v in third.items() if k != "train.py"} == {
        k: v for k, v in first.items() if k != "train.py"
    }
    assert local.sync_up(project, files, str(runs / "3")) == 0  # unchanged: nothing sent
    missing_link_dest = str(tmp_path / "nope")
    assert local.sync_up(project, ["a b.txt"], str(runs / "4"), link_dest=missing_link_dest) == 7


def test_sync_down_skips_unchanged_and_missing(local: LocalTransport, tmp_path: Path) -> None:
    job = tmp_path / "job"
    write_tree(job)
    total = sum(len(data) for data in TREE.values())
    down = tmp_path / "down"

    assert local.sync_down(
        str(job), ["data", "train.py", "a b.txt", "not-there"], down
    ).received == (
        len(TREE["data/input.csv"])
        + len(TREE["data/nested/deep/weights.bin"])
        + len(TREE["train.py"])
        + len(TREE["a b.txt"])
    )
    assert local.sync_down(str(job), ["data", "train.py"], down).received == 0
    (down / "data" / "input.csv").unlink()
    assert local.sync_down(str(job), ["data"], down).received == len(TREE["data/input.csv"])
    assert contents(down) == {k: v for k, v in contents(job).items() if k in contents(down)}
    assert local.sync_down(str(job), ["."], tmp_path / "all").received == total
    assert local.sync_down(str(tmp_path / "no-such-dir"), ["x"], tmp_path / "none").received == 0


def test_read_from_offsets(local: LocalTransport, tmp_path: Path) -> None:
    path = tmp_path / "log.bin"
    data = os.urandom(100_000)
    path.write_bytes(data)
    assert local.read_from(str(path), 0) == data
    assert local.read_from(str(path), 99_990) == data[99_990:]
    assert local.read_from(str(path), 100_000) == b""
    assert local.read_from(str(path), 500_000) == b""
    with path.open("ab") as handle:
        handle.write(b"more\n")
    assert local.read_from(str(path), 100_000) == b"more\n"
    assert local.read_from(str(tmp_path / "missing.log"), 0) == b""
    assert local.read_from(str(tmp_path / "missing-dir" / "x.log"), 10) == b""
