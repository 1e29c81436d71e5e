"""The clean-shell check and the output markers (hpcrun.transport.shell_noise).

The markers and the startup-file search are also run through a real local bash, with a
"login shell" that prints a banner first, as sshd's would."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from hpcrun.errors import LoginShellNotClean, RemoteError
from hpcrun.transport import shell_noise
from hpcrun.transport.shell_noise import Markers, parse_probe

BANNER = "Welcome to the cluster! Quota: 1.2 of 10 GB"


def noisy_bash(line: str, *, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``line`` run as a login shell whose startup prints a banner on both streams."""
    code = f"echo {BANNER!r}; echo 'stderr banner' >&2\n{line}"
    return subprocess.run(["bash", "-c", code], input=stdin, capture_output=True, check=False)


def test_a_clean_probe_gives_the_home() -> None:
    verdict = parse_probe("HPCRUN-CLEAN[/home/alice]HPCRUN-CLEAN", "")
    assert verdict.clean and verdict.home == "/home/alice" and verdict.noise == ""


@pytest.mark.parametrize(
    ("stdout", "noise"),
    [
        (f"{BANNER}\nHPCRUN-CLEAN[/h]HPCRUN-CLEAN", f"{BANNER}\n"),
        ("HPCRUN-CLEAN[/h]HPCRUN-CLEANbye\n", "bye\n"),  # printed at exit (a trap)
        ("\n\nHPCRUN-CLEAN[/h]HPCRUN-CLEAN", "\n\n"),  # blank lines are text too
    ],
)
def test_anything_else_on_stdout_is_noise(stdout: str, noise: str) -> None:
    verdict = parse_probe(stdout, "")
    assert verdict.home == "/h" and verdict.noise == noise and not verdict.clean


def test_stderr_text_is_not_noise_and_no_probe_is_no_home() -> None:
    verdict = parse_probe("HPCRUN-CLEAN[/h]HPCRUN-CLEAN", "quota warning\n")
    assert verdict.clean and verdict.stderr_noise == "quota warning\n"
    broken = parse_probe("This account is currently not available.\n", "")
    assert broken.home is None and not broken.clean


def test_the_probe_is_what_a_real_shell_answers() -> None:
    shown = subprocess.run(
        ["bash", "-c", shell_noise.PROBE], capture_output=True, text=True, check=True,
        env={"HOME": "/home/o'neil x", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert parse_probe(shown.stdout, shown.stderr).home == "/home/o'neil x"
    noisy = noisy_bash(shell_noise.PROBE)
    verdict = parse_probe(noisy.stdout.decode(), noisy.stderr.decode())
    assert verdict.noise == f"{BANNER}\n" and verdict.stderr_noise == "stderr banner\n"


def test_first_line_skips_blanks_and_escapes_and_is_short() -> None:
    assert shell_noise.first_line("\n  \n\x1b[1;32mWelcome\x1b[0m back\nmore") == "Welcome back"
    assert shell_noise.first_line("bell\x07 here") == "bell? here"
    long = shell_noise.first_line("x" * 500)
    assert len(long) == 120 and long.endswith("...")
    assert shell_noise.first_line("\n\n") == ""


@pytest.mark.parametrize(
    "output",
    [b"", b"12345\n", b"no newline at the end", b"\x00\xff binary \r\n\x1b[0m", b"HPCRUN-x-END"],
)
def test_markers_give_back_exactly_what_the_command_printed(output: bytes, tmp_path: Path) -> None:
    markers = Markers.new()
    (tmp_path / "out").write_bytes(output)
    line = f"cat {tmp_path}/out; printf e >&2; cat {tmp_path}/out >&2; exit 3"
    ran = noisy_bash(shell_noise.wrap(f"bash -c {shlex.quote(line)}", markers))
    assert ran.returncode == 3
    assert BANNER.encode() in ran.stdout  # the noise was there...
    assert shell_noise.unwrap(ran.stdout, markers) == output  # ...and is gone
    assert shell_noise.unwrap(ran.stderr, markers) == b"e" + output


def test_markers_keep_stdin_and_the_exit_status() -> None:
    markers = Markers.new()
    ran = noisy_bash(shell_noise.wrap("wc -c", markers), stdin=b"x" * 100_000)
    assert ran.returncode == 0
    assert shell_noise.unwrap(ran.stdout, markers).strip() == b"100000"
    failed = noisy_bash(shell_noise.wrap("false", Markers.new()))
    assert failed.returncode == 1


def test_without_a_begin_marker_everything_is_kept() -> None:
    markers = Markers.new()
    assert shell_noise.unwrap(b"ssh: connect refused\n", markers) == b"ssh: connect refused\n"
    assert shell_noise.unwrap(f"x{markers.begin}half".encode(), markers) == b"half"
    assert Markers.new() != markers
    text = f"{markers.begin}ssh: Connection closed{markers.end}"
    assert shell_noise.without_markers(text) == "ssh: Connection closed"


def test_the_startup_file_that_prints_is_found(tmp_path: Path) -> None:
    (tmp_path / ".bashrc").write_text('echo "Welcome to the cluster, $USER! Quota: ..."\n')
    (tmp_path / ".profile").write_text("# nothing printed here\n")
    printed = "Welcome to the cluster, alice! Quota: ..."  # $USER expanded: not literal
    shown = subprocess.run(
        ["bash", "-c", shell_noise.locate_script(printed)], capture_output=True, text=True,
        check=False, env={"HOME": str(tmp_path), "SHELL": "/bin/bash", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    shell, found = shell_noise.parse_locate(shown.stdout, str(tmp_path))
    assert shell == "/bin/bash" and found == ["~/.bashrc"]


def test_the_error_quotes_the_text_names_the_file_and_the_fix() -> None:
    verdict = parse_probe(f"\n{BANNER}\nsecond line\nHPCRUN-CLEAN[/h]HPCRUN-CLEAN", "")
    error = shell_noise.not_clean_error("login:22", verdict, "/bin/bash", ["~/.bashrc"])
    assert isinstance(error, LoginShellNotClean) and isinstance(error, RemoteError)
    assert f"login:22 prints text for non-interactive commands: {BANNER!r}" in error.message
    assert "it comes from ~/.bashrc" in error.message and "second line" not in error.message
    assert "`[[ $- == *i* ]] || return` at the top of ~/.bashrc" in (error.hint or "")
    unknown = shell_noise.not_clean_error("login:22", verdict, "/bin/bash")
    assert "it likely comes from ~/.bashrc (bash reads it for every ssh command)" in (
        unknown.message
    )
    assert "/etc/profile.d/" in unknown.message
    zsh = shell_noise.not_clean_error("login:22", verdict, "/usr/bin/zsh")
    assert "~/.zshenv" in zsh.message and "[[ -o interactive ]] || return" in (zsh.hint or "")
    empty = shell_noise.not_clean_error("h", parse_probe("\nHPCRUN-CLEAN[/h]HPCRUN-CLEAN", ""))
    assert "'an empty line'" in empty.message
