"""Jump hosts for the OpenSSH transport: hop parsing, the nested ProxyCommand (checked by
letting a real shell and ssh-style %-expansion take it apart), ssh's messages; and the
site config's ``proxy_jump`` forms."""

from __future__ import annotations

import shlex

import pytest
from pydantic import ValidationError

from hpcrun.site.models import Login
from hpcrun.transport.openssh_hops import (
    Hop,
    failing_hop,
    host_in_message,
    needs_second_factor,
    parse_hops,
    presented_key,
    proxy_command,
)


def test_parse_hops() -> None:
    assert parse_hops("gw, bob@gw2:2222,[::1]:2200,alice@[fe80::1]") == [
        Hop("gw", None, "gw", None),
        Hop("bob@gw2:2222", "bob", "gw2", 2222),
        Hop("[::1]:2200", None, "::1", 2200),
        Hop("alice@[fe80::1]", "alice", "fe80::1", None),
    ]
    assert Hop("x", "u", "h", 2).destination() == ["-l", "u", "-p", "2", "h"]
    assert Hop("h", None, "h", None).destination() == ["h"]


def _expand(command: str, host: str, port: int) -> str:
    """What ssh does to a ProxyCommand before the shell runs it (%h, %p, %%)."""
    out, i = [], 0
    while i < len(command):
        if command[i] == "%":
            token = command[i + 1]
            out.append({"h": host, "p": str(port), "%": "%"}[token])
            i += 2
        else:
            out.append(command[i])
            i += 1
    return "".join(out)


def test_proxy_command_nests_hops_with_their_own_options() -> None:
    hops = parse_hops("a@one:1,b@two:2")
    options = ["-o", "UserKnownHostsFile=/k h/%d", "-i", "/keys/it's"]
    outer = shlex.split(_expand(proxy_command(hops, options), "login", 22))
    # the outer command reaches hop two, through a ProxyCommand that reaches hop one
    assert outer[:5] == ["ssh", "-o", "UserKnownHostsFile=/k h/%d", "-i", "/keys/it's"]
    assert outer[-7:] == ["-l", "b", "-p", "2", "-W", "[login]:22", "two"]
    (inner,) = [w[len("ProxyCommand=") :] for w in outer if w.startswith("ProxyCommand=")]
    inner_words = shlex.split(_expand(inner, "two", 2))
    assert inner_words[:5] == ["ssh", "-o", "UserKnownHostsFile=/k h/%d", "-i", "/keys/it's"]
    assert inner_words[-7:] == ["-l", "a", "-p", "1", "-W", "[two]:2", "one"]
    assert not any(w.startswith("ProxyCommand=") for w in inner_words)


def test_messages() -> None:
    unknown = "No ED25519 host key is known for [127.0.0.1]:2224 and you have requested strict"
    assert host_in_message(unknown) == ("127.0.0.1", 2224)
    assert host_in_message("Host key for gw.example.org has changed and you have") == (
        "gw.example.org",
        22,
    )
    assert host_in_message("The ED25519 host key for [h]:7 is marked as revoked.") == ("h", 7)
    assert host_in_message("Permission denied (publickey).") is None
    hops = parse_hops("a:2223,b")
    assert failing_hop(hops, "a", 2223) == 0 and failing_hop(hops, "b", 22) == 1
    assert failing_hop(hops, "a", 22) is None
    verbose = "debug1: Server host key: ssh-ed25519 SHA256:abc+/9 \n"
    assert presented_key(verbose) == "ssh-ed25519 SHA256:abc+/9"
    certificate = (
        "debug1: Server host certificate: ssh-ed25519-cert-v01@openssh.com SHA256:h0st, "
        'serial 0 ID "x" CA ssh-ed25519 SHA256:c4 valid forever\n'
    )
    assert presented_key(certificate) == (
        "ssh-ed25519-cert-v01@openssh.com SHA256:h0st, signed by the CA ssh-ed25519 SHA256:c4"
    )
    assert needs_second_factor("u@h: Permission denied (keyboard-interactive).")
    assert needs_second_factor("u@h: Permission denied (publickey,password).")
    assert not needs_second_factor("u@h: Permission denied (publickey).")


def test_proxy_jump_forms() -> None:
    assert Login(host="h", proxy_jump=["a@gw:22", " b "]).proxy_jump == "a@gw:22,b"
    assert Login(host="h", proxy_jump="a, b").proxy_jump == "a,b"
    assert Login(host="h", proxy_jump="[::1]:22").proxy_jump == "[::1]:22"
    assert Login(host="h", proxy_jump=[]).proxy_jump is None
    for bad in ("a b", ["x;rm -rf ~"], "a,,b", ["$(id)"], ["a,b"]):
        with pytest.raises(ValidationError, match="is not a jump host"):
            Login(host="h", proxy_jump=bad)
