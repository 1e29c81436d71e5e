"""known_hosts read line by line as OpenSSH reads it (hpcrun.transport.ssh_known_hosts),
on keys made by ssh-keygen."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from hpcrun.transport.ssh_known_hosts import host_matches, host_name, load, paramiko_key, parse


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``type base64`` of three fresh keys (two ed25519, one rsa)."""
    folder = tmp_path_factory.mktemp("keys")
    made = {}
    for name, kind in (("host", "ed25519"), ("other", "ed25519"), ("rsa", "rsa")):
        path = folder / name
        subprocess.run(
            ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", str(path)],
            check=True,
            capture_output=True,
        )
        made[name] = " ".join((folder / f"{name}.pub").read_text().split()[:2])
    return made


def hashed(name: str, key: str, folder: Path) -> str:
    """The line ``ssh-keygen -H`` writes for ``name``."""
    path = folder / "to-hash"
    path.write_text(f"{name} {key}\n")
    subprocess.run(["ssh-keygen", "-H", "-f", str(path)], check=True, capture_output=True)
    return path.read_text().strip()


def test_host_name_uses_brackets_off_port_22() -> None:
    assert host_name("login.example.org", 22) == "login.example.org"
    assert host_name("127.0.0.1", 2222) == "[127.0.0.1]:2222"


@pytest.mark.parametrize(
    ("patterns", "name", "expected"),
    [
        ("login.example.org", "login.example.org", True),
        ("LOGIN.example.org", "login.example.org", True),
        ("a,login.example.org", "login.example.org", True),
        ("*.example.org", "login.example.org", True),
        ("login?.example.org", "login1.example.org", True),
        ("login.example.org", "[login.example.org]:2222", False),  # a port needs brackets
        ("[127.0.0.1]:2222", "[127.0.0.1]:2222", True),
        ("[127.0.0.1]:*", "[127.0.0.1]:2222", True),
        ("[127.0.0.1]:2222", "[127.0.0.1]:22", False),
        ("*,!bad.example.org", "bad.example.org", False),  # a negation vetoes the line
        ("!bad.example.org", "good.example.org", False),  # a negation alone matches nothing
        ("*", "anything", True),
    ],
)
def test_host_patterns(patterns: str, name: str, expected: bool) -> None:
    assert host_matches(patterns, name) is expected


def test_hashed_names_match_only_their_host(keys: dict[str, str], tmp_path: Path) -> None:
    line = hashed("[127.0.0.1]:2222", keys["host"], tmp_path)
    assert line.startswith("|1|")
    known = parse(line, "kh")
    assert [e.line for e in known.plain_keys("[127.0.0.1]:2222")] == [1]
    assert known.plain_keys("127.0.0.1") == []
    assert known.plain_keys("[127.0.0.1]:22") == []
    assert not host_matches("|1|garbage|", "x")


def test_markers_and_bad_lines(keys: dict[str, str]) -> None:
    text = "\n".join(
        [
            "# comment",
            "",
            f"@cert-authority *.example.org {keys['other']}",
            f"login.example.org {keys['host']}",
            f"login.example.org {keys['rsa']} with a comment",
            f"@revoked * {keys['rsa']}",
            f"@nonsense * {keys['host']}",
            "login.example.org",
            "login.example.org ssh-ed25519 not*base64",
            f"  \t[10.0.0.1]:2222 {keys['other']}",
        ]
    )
    known = parse(text, "/home/u/.ssh/known_hosts")
    plain = known.plain_keys("login.example.org")
    assert [e.line for e in plain] == [4]  # line 5's key is revoked (line 6)
    assert known.revoked(plain[0].blob) is None
    assert known.revoked(known.entries[2].blob).line == 6  # type: ignore[union-attr]
    assert [e.line for e in known.authorities("login.example.org")] == [3]
    assert known.authorities("login.other.org") == []
    assert [e.line for e in known.plain_keys("[10.0.0.1]:2222")] == [10]
    assert [p.split(":")[1] for p in known.skipped] == ["7", "8", "9"]
    assert all(p.startswith("/home/u/.ssh/known_hosts:") for p in known.skipped)


def test_keys_decode_with_paramiko(keys: dict[str, str]) -> None:
    known = parse(f"h {keys['host']}\nh {keys['rsa']}\nh ssh-unknown-type AAAA\n", "kh")
    decoded = [paramiko_key(entry) for entry in known.entries]
    assert decoded[0] is not None and decoded[0].get_name() == "ssh-ed25519"
    assert decoded[1] is not None and decoded[1].get_name() == "ssh-rsa"
    assert decoded[0].get_base64() == keys["host"].split()[1]
    assert decoded[2] is None  # a type paramiko does not know is left to ssh


def test_missing_file_knows_no_host(tmp_path: Path) -> None:
    known = load(str(tmp_path / "absent"))
    assert known.entries == [] and known.skipped == []


def _keyscan_hint(known_hosts: str) -> str:
    from hpcrun.transport.ssh_endpoint import host_key_unknown

    error = host_key_unknown("login.example.org", 2222, "alice", known_hosts, "")
    command = re.search(r"trust it with `([^`]+)`", error.hint or "")
    assert command, error.hint
    return command.group(1)


def _run_with_fake_keyscan(command: str) -> None:
    """The hint's command as a user's shell runs it, ssh-keyscan answering one line."""
    fake = 'ssh-keyscan() { echo "[login.example.org]:2222 ssh-ed25519 AAAA"; }; '
    subprocess.run(["bash", "-e", "-c", fake + command], check=True, capture_output=True)


def test_the_keyscan_hint_appends_to_an_existing_known_hosts(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    command = _keyscan_hint(str(known))
    assert command == f"ssh-keyscan -p 2222 login.example.org >> {known}"
    _run_with_fake_keyscan(command)
    assert known.read_text().startswith("[login.example.org]:2222 ssh-ed25519")


def test_the_keyscan_hint_makes_a_missing_folder_first(tmp_path: Path) -> None:
    # a fresh machine has no ~/.ssh: a bare `>> ~/.ssh/known_hosts` fails there
    folder = tmp_path / "no ssh yet" / ".ssh"
    known = folder / "known_hosts"
    command = _keyscan_hint(str(known))
    assert command.startswith(f"mkdir -p -m 700 '{folder}' && ssh-keyscan -p 2222 ")
    assert command.endswith(f">> '{known}'")  # quoted: the path has a space
    _run_with_fake_keyscan(command)
    assert known.read_text().startswith("[login.example.org]:2222 ssh-ed25519")
    assert folder.stat().st_mode & 0o777 == 0o700
