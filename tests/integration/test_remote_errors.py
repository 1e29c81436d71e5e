"""What goes wrong on real sites gives a one-line cause and a hint, exit 1, and leaves
the store consistent: nothing half-recorded, nothing submitted twice."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from hpcrun.errors import RemoteError
from hpcrun.ops.backends.slurm import SlurmBackend
from hpcrun.plan import JobPlan
from hpcrun.transport.local import LocalTransport
from tests.cli import hpcrun, ps_json
from tests.conftest import REPO
from tests.integration.conftest import Cluster
from tests.integration.remote import site_variant

EXAMPLE = REPO / "examples" / "quickstart" / "workflows.yaml"


def submit(site: str) -> subprocess.CompletedProcess[str]:
    return hpcrun(
        "submit", str(EXAMPLE), "hello", "--site", site, "--gpu", "1", "--gpu-name", "a100"
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and lines[1].startswith("  hint: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def host_fingerprint(cluster: Cluster) -> str:
    scan = subprocess.run(
        f"ssh-keyscan -t ed25519 -p {cluster.port} {cluster.host} 2>/dev/null | ssh-keygen -lf -",
        shell=True, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return scan.stdout.split()[1]


def test_unknown_host_key_is_refused_with_its_fingerprint(cluster: Cluster, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    result = submit(site_variant(cluster.site_config, tmp_path, login={"known_hosts": str(empty)}))
    assert_one_line_error(result, "host key", host_fingerprint(cluster), "ssh-keyscan")
    assert ps_json() == []  # nothing recorded: nothing was sent
    assert empty.read_text() == ""  # and the key was not silently added


def test_changed_host_key_is_refused(cluster: Cluster, tmp_path: Path) -> None:
    other = tmp_path / "other"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    forged = tmp_path / "known_hosts"
    key = other.with_suffix(".pub").read_text().split()
    forged.write_text(f"[{cluster.host}]:{cluster.port} {key[0]} {key[1]}\n")
    result = submit(site_variant(cluster.site_config, tmp_path, login={"known_hosts": str(forged)}))
    assert_one_line_error(result, host_fingerprint(cluster))
    assert "changed" in result.stderr.lower() or "does not match" in result.stderr.lower()
    assert ps_json() == []


def test_authentication_failure(cluster: Cluster, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(wrong)], check=True)
    result = submit(
        site_variant(cluster.site_config, tmp_path, login={"identity_file": str(wrong)})
    )
    assert_one_line_error(result, "hpcuser", str(wrong))
    assert ps_json() == []


def test_unreachable_host(cluster: Cluster, tmp_path: Path) -> None:
    result = submit(site_variant(cluster.site_config, tmp_path, login={"port": 1}))
    assert_one_line_error(result, "127.0.0.1:1")
    assert ps_json() == []


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"partitions": {"default": "nosuch"}}, "Invalid partition name"),
        ({"gpus": {"A100": {"gres": "h100", "memory": "80GB"}}}, "Requested node configuration"),
    ],
)
def test_sbatch_rejection(cluster: Cluster, tmp_path: Path, changes: dict, fragment: str) -> None:
    result = submit(site_variant(cluster.site_config, tmp_path, **changes))
    assert_one_line_error(result, "sbatch rejected the job", fragment)
    [run] = ps_json()  # recorded, and marked failed with the reason: the store stays consistent
    assert (run["state"], run["job_id"], run["final"]) == ("failed", None, True)
    assert fragment in run["state_reason"]


def test_missing_sbatch_on_the_login_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A login node without Slurm's commands: sbatch really is absent from PATH here."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in ("bash", "flock", "cat", "mv"):
        (tools / tool).symlink_to(subprocess.run(["which", tool], capture_output=True, text=True,
                                                 check=True).stdout.strip())  # fmt: skip
    monkeypatch.setenv("PATH", str(tools))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    plan = JobPlan(run="r", workflow="w", site="s", scheduler="slurm", job_name="r")
    with pytest.raises(RemoteError, match="sbatch.*not found on the cluster"):
        SlurmBackend().submit(LocalTransport(), str(run_dir), plan)
    assert not (run_dir / ".jobid").exists()
