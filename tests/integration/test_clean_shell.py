"""A login shell that prints a banner for every command (the test cluster's user
hpcnoisy, through sshd-bare): hpcrun names the text and the file and stops before doing
anything; the output it parses stays clean even when the check is off; a banner on
stderr only (the same user through sshd-bare's other port) does no harm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpcrun.errors import LoginShellNotClean
from hpcrun.schedulers import slurm
from hpcrun.site.models import Login
from hpcrun.transport.openssh import OpenSshTransport
from hpcrun.transport.ssh import SshTransport
from tests.cli import hpcrun
from tests.integration.bare_sshd import BareSshd, bare_sshd
from tests.integration.conftest import Cluster, wait_for
from tests.integration.remote import run_of, workflows

BANNER = "Welcome to testcluster, hpcnoisy! Disk quota: 1.2 of 10 GB used."
FIX = "[[ $- == *i* ]] || return"
WORKFLOW = """workflows:
  - name: quiet
    provider: bash
    version: "3.11"
    commands:
      - echo job output
"""


@pytest.fixture(scope="module")
def bare(cluster: Cluster) -> BareSshd:
    return bare_sshd(cluster)


@pytest.fixture(params=["paramiko", "openssh"])
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def noisy_transport(
    bare: BareSshd, kind: str, **options: object
) -> SshTransport | OpenSshTransport:
    login = Login(host=bare.cluster.host, port=bare.port, user=bare.noisy_user,
                  identity_file=str(bare.cluster.key), known_hosts=str(bare.known_hosts))  # fmt: skip
    cls = SshTransport if kind == "paramiko" else OpenSshTransport
    return cls(login, **options)  # type: ignore[arg-type]


def finish(remote: SshTransport | OpenSshTransport) -> None:
    if isinstance(remote, OpenSshTransport):
        remote.stop_master()
    remote.close()


def test_the_noisy_user_really_prints_a_banner(bare: BareSshd) -> None:
    raw = bare.ssh(bare.noisy_user, "echo the command")
    assert raw.stdout == f"{BANNER}\nthe command\n"
    on_stderr = bare.ssh(bare.noisy_user, "echo the command", port=bare.stderr_port)
    assert on_stderr.stdout == "the command\n" and BANNER in on_stderr.stderr


def test_a_noisy_login_shell_is_named_and_nothing_runs(
    bare: BareSshd, tmp_path: Path, transport: str
) -> None:
    site = bare.site(tmp_path, transport, user=bare.noisy_user)
    workflows(tmp_path / "p", WORKFLOW)
    before = bare.ssh(
        bare.noisy_user, "ls ~/hpcrun/runs 2>/dev/null | wc -l", bare.stderr_port
    ).stdout
    result = hpcrun("submit", "quiet", "--site", site, "-d", cwd=tmp_path / "p")
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"prints text for non-interactive commands: {BANNER!r}" in result.stderr
    assert "it comes from ~/.bashrc" in result.stderr
    assert f"hint: add `{FIX}` at the top of ~/.bashrc" in result.stderr
    assert "submitted" not in result.stderr and "Traceback" not in result.stderr
    assert "protocol version mismatch" not in result.stderr
    # stopped before the first command: no run folder was made
    assert (
        bare.ssh(bare.noisy_user, "ls ~/hpcrun/runs 2>/dev/null | wc -l", bare.stderr_port).stdout
        == before
    )


def test_parsed_output_stays_clean_with_the_check_off(bare: BareSshd, transport: str) -> None:
    remote = noisy_transport(bare, transport, require_clean_shell=False)
    try:
        verdict = remote.login_shell()
        assert not verdict.clean and BANNER in verdict.noise
        assert remote.home() == f"/home/{bare.noisy_user}"
        submitted = remote.run(
            ["sbatch", "--parsable", "--time=1", "--output=/dev/null",
             "--job-name=hpcrun-noisy-test", "--wrap", "sleep 30"],
            check=True,
        )  # fmt: skip
        job = slurm.parse_sbatch(submitted.stdout)
        assert submitted.stdout == f"{job}\n" and job.isdigit()
        try:
            queue = remote.run(slurm.squeue_argv([job]), check=True)
            assert BANNER not in queue.stdout
            assert set(slurm.parse_squeue(queue.stdout)) == {job}
        finally:
            remote.run(slurm.scancel_argv([job]), check=True)
        remote.put_text("exact\nbytes", "~/hpcrun-noise-test.txt")
        assert remote.read_from("~/hpcrun-noise-test.txt", 0) == b"exact\nbytes"
        assert remote.run(["rm", "~/hpcrun-noise-test.txt".replace("~", remote.home())]).ok
    finally:
        finish(remote)
    strict = noisy_transport(bare, transport)
    try:
        with pytest.raises(LoginShellNotClean, match="Welcome to testcluster"):
            strict.run(["true"])
    finally:
        finish(strict)


def test_a_banner_on_stderr_only_gets_the_right_job_id(
    bare: BareSshd, tmp_path: Path, transport: str
) -> None:
    site = bare.site(tmp_path, transport, user=bare.noisy_user, port=bare.stderr_port)
    workflows(tmp_path / "p", WORKFLOW)
    result = hpcrun("submit", "quiet", "--site", site, "-d", cwd=tmp_path / "p")
    assert result.returncode == 0, result.stdout + result.stderr
    run = result.stdout.strip()
    job = run_of(run)["job_id"]
    waited = hpcrun("wait", run, "--timeout", "120")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert run_of(run)["state"] == "completed"
    # the job id hpcrun recorded is the one Slurm gave the run's job name
    listed = wait_for(
        "the job in sacct",
        lambda: bare.ssh(
            bare.noisy_user,
            f"sacct -n -X -P --name {run} -o JobID -S now-1hours",
            bare.stderr_port,
        ).stdout.split(),
        timeout=30,
    )
    assert listed == [job], (listed, job)
    logs = hpcrun("logs", run)
    assert "job output" in logs.stdout and BANNER not in logs.stdout

    checked = hpcrun("site", "check", site)
    assert f"warn login shell: prints {BANNER!r} on stderr" in checked.stdout, checked.stdout


def test_site_check_reports_the_noisy_shell_and_goes_on(bare: BareSshd, tmp_path: Path) -> None:
    site = bare.site(tmp_path, "paramiko", user=bare.noisy_user)
    result = hpcrun("site", "check", site, "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    checks = {item["name"]: item for item in json.loads(result.stdout)}
    shell = checks["login shell"]
    assert shell["status"] == "fail" and BANNER in shell["detail"]
    assert "~/.bashrc" in shell["detail"] and FIX in shell["hint"]
    # every other fact still came back, unharmed by the banner
    assert checks["slurm"]["status"] == "ok" and checks["slurm"]["detail"].startswith("version ")
    assert checks["partition default"] == {
        "name": "partition default", "status": "ok", "detail": "main", "hint": None,
    }  # fmt: skip
    assert checks["remote_root"]["detail"] == f"/home/{bare.noisy_user}/hpcrun"
