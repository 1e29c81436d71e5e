"""hpcrun needs no SFTP: submit, logs and artifacts through an sshd that has no sftp
subsystem (the test cluster's sshd-bare), on both transports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.cli import hpcrun
from tests.integration.bare_sshd import BareSshd, bare_sshd
from tests.integration.conftest import Cluster
from tests.integration.remote import run_of, workflows

WORKFLOW = """workflows:
  - name: nosftp
    provider: python
    file: job.py
    version: "3.11"
    artifacts: [out]
"""
JOB = """import pathlib
print("line from the job")
pathlib.Path("out").mkdir(exist_ok=True)
pathlib.Path("out/result.txt").write_text("made on the cluster")
"""


@pytest.fixture(scope="module")
def bare(cluster: Cluster) -> BareSshd:
    return bare_sshd(cluster)


def test_the_bare_sshd_really_has_no_sftp(bare: BareSshd, tmp_path: Path) -> None:
    argv = bare.cluster.ssh_argv("unused")[:-2]  # the options, not the destination
    argv[0] = "sftp"
    argv[argv.index("-p")] = "-P"
    argv[argv.index("-P") + 1] = str(bare.port)
    argv[argv.index(f"UserKnownHostsFile={bare.cluster.known_hosts}")] = (
        f"UserKnownHostsFile={bare.known_hosts}"
    )
    refused = subprocess.run(
        [*argv, "-b", "-", f"{bare.cluster.user}@{bare.cluster.host}"],
        input="pwd\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode != 0
    assert "subsystem request failed" in refused.stderr, refused.stderr
    assert bare.ssh(bare.cluster.user, "echo plain commands work").stdout == (
        "plain commands work\n"
    )


@pytest.mark.parametrize("transport", ["paramiko", "openssh"])
def test_submit_logs_artifacts_without_sftp(bare: BareSshd, tmp_path: Path, transport: str) -> None:
    site = bare.site(tmp_path, transport)
    project = tmp_path / "proj"
    workflows(project, WORKFLOW, **{"job.py": JOB})
    submitted = hpcrun("submit", "nosftp", "--site", site, cwd=project)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    assert "line from the job" in submitted.stdout
    assert "SFTP" not in submitted.stderr
    run = submitted.stderr.split("submitted ", 1)[1].split()[0]
    record = run_of(run)
    assert (record["state"], record["exit_code"]) == ("completed", 0)
    assert (Path(record["artifacts_dir"]) / "out" / "result.txt").read_text() == (
        "made on the cluster"
    )

    logs = hpcrun("logs", run)
    assert logs.returncode == 0, logs.stderr
    assert "line from the job" in logs.stdout

    again = tmp_path / "again"
    fetched = hpcrun("artifacts", run, "--dest", str(again))
    assert fetched.returncode == 0, fetched.stderr
    assert (again / "out" / "result.txt").read_text() == "made on the cluster"
