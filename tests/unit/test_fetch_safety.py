"""Fetched artifacts are safe whatever the job left behind: no setuid/setgid or
world-writable modes, no symlink pointing outside (reported instead), no truncated file
under its final name. The same rules for rsync (the SSH transports, run here locally with
the download argv) and for the local transport's own copy."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from hpcrun.transport import local as local_module
from hpcrun.transport.local import LocalTransport
from hpcrun.transport.rsync import PARTIAL_DIR, rsync_argv, run_rsync, unsafe_links

UNSAFE_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH


def hostile_tree(run: Path) -> None:
    """What a hostile (or careless) job leaves in its run folder."""
    out = run / "output"
    (out / "sub").mkdir(parents=True)
    (out / "result.txt").write_text("result\n")
    (out / "suid").write_text("#!/bin/sh\n")
    os.chmod(out / "suid", 0o4755)
    (out / "sgid").write_text("g\n")
    os.chmod(out / "sgid", 0o2775)
    (out / "open").write_text("anyone may write\n")
    os.chmod(out / "open", 0o777)
    os.symlink("/etc", out / "etc")  # absolute: outside
    os.symlink("../../../../escape", out / "sub" / "up")  # climbs out
    os.symlink("../result.txt", out / "sub" / "inside")  # stays inside: kept
    os.symlink("..", out / "sub" / "parent")  # the output folder itself: kept
    (run / "code").mkdir()
    os.symlink("/etc/passwd", run / "code" / "passwd")  # a declared artifact


def modes(folder: Path) -> dict[str, int]:
    return {
        p.relative_to(folder).as_posix(): stat.S_IMODE(p.lstat().st_mode)
        for p in folder.rglob("*")
        if not p.is_symlink()
    }


def check_fetched(down: Path) -> None:
    out = down / "output"
    assert (out / "result.txt").read_text() == "result\n"
    for name, mode in modes(down).items():
        assert not mode & UNSAFE_BITS, f"{name} kept mode {oct(mode)}"
    assert stat.S_IMODE((out / "suid").stat().st_mode) == 0o755  # still executable
    assert stat.S_IMODE((out / "open").stat().st_mode) == 0o775
    assert not (out / "etc").exists() and not (out / "etc").is_symlink()
    assert not (out / "sub" / "up").is_symlink()
    assert os.readlink(out / "sub" / "inside") == "../result.txt"
    assert (out / "sub" / "inside").read_text() == "result\n"
    assert os.readlink(out / "sub" / "parent") == ".."
    assert not (down / PARTIAL_DIR).exists() and not list(down.rglob(f"*{PARTIAL_DIR}*"))
    assert not list(down.rglob(".*.tmp")) and not list(down.rglob(".*.??????*"))


# --------------------------------------------------------------------------- rsync


def test_download_argv_is_safe_and_upload_argv_unchanged() -> None:
    down = rsync_argv(rsh=["ssh"], source="h:/r/", destination="/l/", download=True)
    assert "--partial" not in down and f"--partial-dir={PARTIAL_DIR}" in down
    assert "--safe-links" in down and "--chmod=ug-s,o-w" in down and "-p" not in down
    assert "-rlpt" in down  # modes are kept, minus the unsafe bits
    up = rsync_argv(rsh=["ssh"], source="/l/", destination="h:/r/")
    assert "--partial" in up and "--safe-links" not in up and not any("chmod" in a for a in up)


def test_unsafe_links_are_read_from_rsync_output() -> None:
    captured = (
        "receiving incremental file list\n"
        'ignoring unsafe symlink "output/etc" -> "/etc"\n'
        "output/\noutput/result.txt\n"
        'ignoring unsafe symlink "output/a b/up" -> "../../../x"\n'
        "\nNumber of files: 4 (reg: 1, dir: 1, link: 2)\n"
    )
    assert unsafe_links(captured) == ("output/etc", "output/a b/up")
    assert unsafe_links("output/etc -> /etc\n") == ()


def test_rsync_download_of_a_hostile_tree(tmp_path: Path) -> None:
    run, down = tmp_path / "run", tmp_path / "down"
    hostile_tree(run)
    down.mkdir()
    argv = rsync_argv(rsh=["ssh"], source=f"{run}/", destination=f"{down}/", download=True)
    outcome = run_rsync(argv, ["output", "code/passwd"])
    assert outcome.ok, outcome.stderr
    check_fetched(down)
    assert not (down / "code" / "passwd").is_symlink()
    assert set(unsafe_links(outcome.stdout)) == {"output/etc", "output/sub/up", "code/passwd"}


def test_interrupted_rsync_download_leaves_no_truncated_file(tmp_path: Path) -> None:
    run, down = tmp_path / "run", tmp_path / "down"
    (run / "output").mkdir(parents=True)
    (run / "output" / "big.bin").write_bytes(os.urandom(4 << 20))
    down.mkdir()
    argv = rsync_argv(rsh=["ssh"], source=f"{run}/", destination=f"{down}/", download=True)
    slow = [*argv[:-2], "--bwlimit=512", *argv[-2:]]  # 4 MB at 512 KB/s: ~8 s
    process = subprocess.Popen(slow, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    assert process.stdin is not None
    process.stdin.write(b"output\0")
    process.stdin.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        p.is_file() and p.stat().st_size > 0 for p in down.rglob("*")
    ):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # interrupted mid-file
    process.wait(timeout=10)
    assert not (down / "output" / "big.bin").exists()  # never under its final name
    left = [p for p in down.rglob("*") if p.is_file()]
    assert left and all(PARTIAL_DIR in p.parts or p.name.startswith(".") for p in left)
    # resuming completes it and removes the partial folder
    outcome = run_rsync(argv, ["output"])
    assert outcome.ok, outcome.stderr
    assert (down / "output" / "big.bin").read_bytes() == (run / "output" / "big.bin").read_bytes()
    assert not list(down.rglob(PARTIAL_DIR))


# --------------------------------------------------------------------------- local copy


def test_local_download_of_a_hostile_tree(tmp_path: Path) -> None:
    run, down = tmp_path / "run", tmp_path / "down"
    hostile_tree(run)
    fetched = LocalTransport().sync_down(str(run), ["output"], down)
    check_fetched(down)
    assert set(fetched.unsafe_links) == {"output/etc", "output/sub/up"}
    assert fetched.received == len("result\n#!/bin/sh\ng\nanyone may write\n")
    again = LocalTransport().sync_down(str(run), ["output"], down)
    assert again.received == 0 and set(again.unsafe_links) == set(fetched.unsafe_links)
    passwd = LocalTransport().sync_down(str(run / "code"), ["passwd"], down / "code")
    assert passwd.unsafe_links == ("passwd",) and not (down / "code" / "passwd").exists()


def test_local_download_never_goes_through_an_outside_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "secret").mkdir(parents=True)
    (outside / "secret" / "key").write_text("private\n")
    run, down = tmp_path / "run", tmp_path / "down"
    run.mkdir()
    os.symlink(outside, run / "output")  # the whole output folder is a link
    fetched = LocalTransport().sync_down(str(run), ["output", "output/secret"], down)
    assert fetched.unsafe_links == ("output", "output")
    assert fetched.received == 0 and not (down / "output").exists()


def test_interrupted_local_copy_leaves_no_truncated_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, down = tmp_path / "run", tmp_path / "down"
    (run / "output").mkdir(parents=True)
    (run / "output" / "big.bin").write_bytes(b"x" * 100_000)

    def interrupted(source: object, target: object) -> None:
        target.write(b"x" * 10)  # type: ignore[attr-defined]
        raise OSError(errno.ENOSPC, "No space left on device")  # the disk filled up

    monkeypatch.setattr(local_module.shutil, "copyfileobj", interrupted)
    with pytest.raises(OSError):
        LocalTransport().sync_down(str(run), ["output"], down)
    assert list((down / "output").iterdir()) == []  # neither the final name nor a temp file
    monkeypatch.undo()
    assert LocalTransport().sync_down(str(run), ["output"], down).received == 100_000
