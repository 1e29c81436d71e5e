"""A login that asks a second factor after the key, against the test cluster's extra sshd
that requires ``publickey,keyboard-interactive`` (its PAM service asks one fixed question).

On a terminal (a real pty, driven with pexpect) the question is shown and answered once,
without echo, and every later command and rsync of the invocation rides the connection;
with the OpenSSH transport the master it opens also carries a later run that has no
terminal (cron). Without a terminal and without a master, both transports fail at once
with what to do instead, never waiting for input.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from hpcrun.site.models import Login
from hpcrun.transport.openssh import OpenSshTransport
from tests.cli import hpcrun
from tests.integration import extra_sshd
from tests.integration.conftest import Cluster

# The child: one hpcrun invocation's worth of transport use (two commands, rsync both ways).
CHILD = """
import json, sys
from pathlib import Path
from hpcrun.site.models import Login
from hpcrun.transport.base import TransportError
from hpcrun.transport.factory import open_transport
from hpcrun.site.models import Site

args = json.loads(sys.argv[1])
site = Site(name="mfa", scheduler="slurm", login=Login(**args["login"]))
transport = open_transport(site)
if args.get("ssh_config"):  # the user's ~/.ssh/config, for the test
    from hpcrun.transport.openssh import OpenSshTransport
    transport = OpenSshTransport(site.login, ssh_config=Path(args["ssh_config"]))
try:
    first = transport.run(["echo", "first"]).stdout.strip()
    second = transport.run(["echo", "second"]).stdout.strip()
    local = Path(args["local"])
    sent = transport.sync_up(local, ["data.txt"], args["remote"])
    back = transport.sync_down(args["remote"], ["data.txt"], local / "back").received
    print(f"RESULT {first} {second} sent={sent} back={back}", flush=True)
except TransportError as exc:
    print(exc.render(), file=sys.stderr, flush=True)
    sys.exit(1)
finally:
    transport.close()
"""


@pytest.fixture(params=["paramiko", "openssh"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def mfa_login(cluster: Cluster, tmp_path: Path, kind: str) -> Login:
    known_hosts = extra_sshd.write_known_hosts(
        tmp_path / "known_hosts", extra_sshd.known_line(cluster, "mfa")
    )
    return Login(
        host=cluster.host,
        port=extra_sshd.PORTS["mfa"],
        user=cluster.user,
        identity_file=str(cluster.key),
        known_hosts=str(known_hosts),
        transport=kind,  # type: ignore[arg-type]
    )


def child_argv(
    cluster: Cluster, tmp_path: Path, login: Login, tag: str, ssh_config: Path | None = None
) -> list[str]:
    local = tmp_path / f"local-{tag}"
    local.mkdir()
    (local / "data.txt").write_text("second factor\n")
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    remote = f"~/hpcrun-mfa-tests/{tmp_path.name}-{tag}"
    # only what was set: a default port would otherwise become an explicit -p 22
    args = {"login": login.model_dump(exclude_unset=True), "local": str(local), "remote": remote}
    if ssh_config is not None:
        args["ssh_config"] = str(ssh_config)
    return [sys.executable, str(script), json.dumps(args)]


def on_terminal(argv: list[str], answer: str) -> tuple[str, int]:
    """Run ``argv`` on a pty and answer every question (ssh asks again after a wrong
    answer, up to 3 times); (everything shown, exit code)."""
    shown = io.StringIO()
    child = pexpect.spawn(argv[0], argv[1:], env=dict(os.environ), encoding="utf-8", timeout=60)
    child.logfile_read = shown
    for _ in range(5):
        if child.expect(["Password: ", pexpect.EOF]) == 1:
            break
        child.sendline(answer)
    child.close()
    return shown.getvalue(), int(child.exitstatus if child.exitstatus is not None else -1)


def without_terminal(argv: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``argv`` as cron would: no stdin, no controlling terminal."""
    started = time.monotonic()
    done = subprocess.run(
        argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60,
        start_new_session=True, check=False,
    )  # fmt: skip
    return done, time.monotonic() - started


@pytest.fixture(autouse=True)
def _remove_remote_folders(cluster: Cluster) -> Iterator[None]:
    yield
    cluster.ssh("rm -rf hpcrun-mfa-tests")


def stop_master(login: Login) -> None:
    if login.transport == "openssh":
        OpenSshTransport(login).stop_master()


def test_the_question_is_asked_once_on_the_terminal(
    kind: str, cluster: Cluster, tmp_path: Path
) -> None:
    login = mfa_login(cluster, tmp_path, kind)
    try:
        shown, status = on_terminal(
            child_argv(cluster, tmp_path, login, "tty"), extra_sshd.MFA_CODE
        )
    finally:
        stop_master(login)
    assert status == 0, shown
    assert "RESULT first second sent=14 back=14" in shown
    assert shown.count("Password: ") == 1  # once per invocation, not per command
    assert extra_sshd.MFA_QUESTION in shown  # the server's text, as it is
    assert extra_sshd.MFA_CODE not in shown  # the answer is not echoed


def test_a_wrong_answer_is_refused_clearly(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    login = mfa_login(cluster, tmp_path, kind)
    try:
        shown, status = on_terminal(child_argv(cluster, tmp_path, login, "wrong"), "000000")
    finally:
        stop_master(login)
    assert status == 1, shown
    assert "RESULT" not in shown and "Traceback" not in shown
    if kind == "paramiko":
        assert "refused the answer to its second-factor question" in shown


def test_without_a_terminal_it_fails_at_once(kind: str, cluster: Cluster, tmp_path: Path) -> None:
    login = mfa_login(cluster, tmp_path, kind)
    stop_master(login)  # no master left from an earlier test
    done, took = without_terminal(child_argv(cluster, tmp_path, login, "cron"))
    assert done.returncode == 1, done.stdout + done.stderr
    assert took < 15  # at once: never waits for input
    assert "asks for a second factor after the key" in done.stderr
    assert "no terminal" in done.stderr
    assert "master connection" in done.stderr and "automation key" in done.stderr
    if kind == "paramiko":
        assert "transport: openssh" in done.stderr
    assert "Traceback" not in done.stderr and "RESULT" not in done.stdout


def test_openssh_master_opened_on_a_terminal_carries_cron(cluster: Cluster, tmp_path: Path) -> None:
    login = mfa_login(cluster, tmp_path, "openssh")
    try:
        shown, status = on_terminal(
            child_argv(cluster, tmp_path, login, "tty"), extra_sshd.MFA_CODE
        )
        assert status == 0, shown
        # later, from cron: no terminal, no question, the same master (rsync included)
        done, _ = without_terminal(child_argv(cluster, tmp_path, login, "cron"))
        assert done.returncode == 0, done.stderr
        assert "RESULT first second sent=14 back=14" in done.stdout
    finally:
        stop_master(login)
    # and with the master gone, cron is refused again at once
    done, took = without_terminal(child_argv(cluster, tmp_path, login, "after"))
    assert done.returncode == 1 and took < 15
    assert "second factor" in done.stderr


def test_cli_without_a_terminal_explains(cluster: Cluster, tmp_path: Path) -> None:
    login = mfa_login(cluster, tmp_path, "paramiko")
    site = tmp_path / "mfa.yaml"
    site.write_text(json.dumps({"name": "mfa", "scheduler": "slurm", "login": login.model_dump()}))
    result = hpcrun("site", "check", str(site), timeout=60)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    assert "asks for a second factor after the key" in output
    assert "Traceback" not in output


def test_hpcrun_rides_a_master_opened_with_plain_ssh(cluster: Cluster, tmp_path: Path) -> None:
    """The recommended ~/.ssh/config block: the user logs in once with `ssh -fN`, answering
    the question; hpcrun (no terminal) uses that ControlPath instead of its own."""
    known_hosts = mfa_login(cluster, tmp_path, "openssh").known_hosts
    sockets = Path(tempfile.mkdtemp(prefix="cm", dir="/tmp"))  # short: a socket path
    config = tmp_path / "ssh_config"
    config.write_text(
        f"Host mfahost\n    HostName {cluster.host}\n    Port {extra_sshd.PORTS['mfa']}\n"
        f"    User {cluster.user}\n    IdentityFile {cluster.key}\n    IdentitiesOnly yes\n"
        f"    UserKnownHostsFile {known_hosts}\n    ControlMaster auto\n"
        f"    ControlPath {sockets}/cm-%C\n    ControlPersist 60\n"
    )
    login = Login(host="mfahost", transport="openssh")
    # as in a terminal whose shell stays: when pexpect's child (the session leader) ends,
    # the terminal hangs up and would take the background master with it
    shell = f"ssh -F {config} -fN mfahost && echo MASTER-UP && sleep 120"
    opened = pexpect.spawn("sh", ["-c", shell], timeout=30)
    check = ["ssh", "-F", str(config), "-O", "check", "mfahost"]
    try:
        opened.expect("Password: ")
        opened.sendline(extra_sshd.MFA_CODE)
        opened.expect("MASTER-UP")  # authenticated, gone to the background
        assert subprocess.run(check, capture_output=True, check=False).returncode == 0
        done, _ = without_terminal(child_argv(cluster, tmp_path, login, "cron", config))
        # without a terminal nobody could answer: only the user's master can carry this
        assert done.returncode == 0, done.stderr
        assert "RESULT first second sent=14 back=14" in done.stdout
    finally:
        subprocess.run(
            ["ssh", "-F", str(config), "-O", "exit", "mfahost"], capture_output=True, check=False
        )
        opened.close()
        shutil.rmtree(sockets, ignore_errors=True)
