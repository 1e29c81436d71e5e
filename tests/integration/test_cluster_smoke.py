"""The test cluster itself works: Slurm over SSH, GPUs as gres, accounting, preemption, Lmod.

Everything here talks to the cluster with the OpenSSH client as the login user, as a person
would; hpcrun's own transports are tested elsewhere.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
import yaml

from tests.integration.conftest import Cluster, wait_for

FINAL = {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL"}


@pytest.fixture
def workdir(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh directory in the login user's home; removed after the test."""
    path = f"smoke/{request.node.name[:40]}-{uuid.uuid4().hex[:8]}"
    path = re.sub(r"[^A-Za-z0-9_./-]", "_", path)
    cluster.ssh_ok(f"mkdir -p {path}")
    yield path
    cluster.ssh(f"rm -rf {path}")


@pytest.fixture
def jobs(cluster: Cluster) -> Iterator[list[str]]:
    """Job ids to cancel when the test ends, whatever happened."""
    ids: list[str] = []
    yield ids
    if ids:
        cluster.ssh(f"scancel {' '.join(ids)}")


def sacct_row(cluster: Cluster, job_id: str, fields: str = "JobID,State,ExitCode") -> list[str]:
    out = cluster.ssh_ok(f"sacct -j {job_id} -X -n -P -o {fields}")
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    return rows[-1] if rows else []


def wait_final(cluster: Cluster, job_id: str, fields: str = "JobID,State,ExitCode") -> list[str]:
    """Wait until sacct reports the job in a final state; return that sacct row."""

    def probe() -> list[str] | None:
        row = sacct_row(cluster, job_id, fields)
        return row if row and row[1].split()[0] in FINAL else None

    return wait_for(f"job {job_id} to finish", probe, timeout=300, interval=1)  # type: ignore[return-value]


def squeue_state(cluster: Cluster, job_id: str) -> str:
    return cluster.ssh_ok(f"squeue -h -j {job_id} -o %T").strip()


def test_slurm_clients_work_over_ssh(cluster: Cluster) -> None:
    partitions = cluster.ssh_ok("sinfo -h -o '%P %a'").split()
    assert "main*" in partitions, partitions  # the default partition
    assert "preempt" in partitions, partitions
    node = cluster.ssh_ok("scontrol show node node1")
    assert "Gres=gpu:a100:2,gpu:v100:2" in node, node
    assert "CPUTot=8" in node and "RealMemory=8000" in node, node
    assert cluster.ssh_ok("whoami").strip() == cluster.user


def test_gpu_job_shows_in_squeue_and_sacct(cluster: Cluster, workdir: str, jobs: list[str]) -> None:
    job_id = cluster.sbatch(
        f"-J smoke-gpu --gres=gpu:a100:1,gpu:v100:1 -o {workdir}/out-%j.txt "
        "--wrap 'echo CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES; sleep 5'"
    )
    jobs.append(job_id)
    assert squeue_state(cluster, job_id) in {"PENDING", "CONFIGURING", "RUNNING"}
    assert cluster.ssh_ok(f"squeue -h -j {job_id} -o %b").strip() == (
        "gres:gpu:a100:1,gres:gpu:v100:1"
    )

    row = wait_final(cluster, job_id, "JobID,State,ExitCode,AllocTRES")
    assert row[1] == "COMPLETED", row
    tres = dict(item.split("=", 1) for item in row[3].split(","))
    assert tres.get("gres/gpu:a100") == "1", row
    assert tres.get("gres/gpu:v100") == "1", row
    assert tres.get("gres/gpu") == "2", row
    out = cluster.ssh_ok(f"cat {workdir}/out-{job_id}.txt")
    devices = re.search(r"CUDA_VISIBLE_DEVICES=(\S*)", out)
    assert devices and len(devices.group(1).split(",")) == 2, out


def test_main_partition_preempts_and_requeues(
    cluster: Cluster, workdir: str, jobs: list[str]
) -> None:
    # Fill the whole node from the preemptible partition ...
    victim = cluster.sbatch(
        f"-J smoke-victim -p preempt --exclusive --requeue -t 15 -o {workdir}/victim-%j.txt "
        "--wrap 'sleep 600'"
    )
    jobs.append(victim)
    wait_for(
        f"preemptible job {victim} to run",
        lambda: squeue_state(cluster, victim) == "RUNNING",
        timeout=300,
    )
    # ... then ask the default partition for the same node.
    urgent = cluster.sbatch(
        f"-J smoke-urgent -p main --exclusive -t 5 -o {workdir}/urgent-%j.txt --wrap 'sleep 60'"
    )
    jobs.append(urgent)

    def requeued() -> str | None:
        info = cluster.ssh_ok(f"scontrol show job {victim}")
        restarts = re.search(r"Restarts=(\d+)", info)
        state = re.search(r"JobState=(\S+)", info)
        if restarts and int(restarts.group(1)) >= 1 and state and state.group(1) == "PENDING":
            return info
        return None

    wait_for(f"job {victim} to be preempted and requeued", requeued, timeout=120)
    wait_for(
        f"job {urgent} to run on the freed node",
        lambda: squeue_state(cluster, urgent) == "RUNNING",
        timeout=120,
    )

    def preempted_in_sacct() -> list[str] | None:
        out = cluster.ssh_ok(f"sacct -j {victim} -D -X -n -P -o JobID,State")
        states = [line.split("|")[1] for line in out.splitlines() if line.strip()]
        return states if ({"PREEMPTED", "REQUEUED"} & set(states)) else None

    wait_for(f"sacct to record the preemption of {victim}", preempted_in_sacct, timeout=60)


def test_python_module_over_noninteractive_ssh(cluster: Cluster) -> None:
    version = cluster.python_module.split("/", 1)[1]
    # Without the module, there is no `python` on this Debian box ...
    assert cluster.ssh("command -v python").returncode != 0
    # ... `module load` provides it, in a non-interactive `ssh host CMD`.
    out = cluster.ssh_ok(f"module load {cluster.python_module} && python --version && which python")
    assert re.search(rf"^Python {re.escape(version)}\.\d+$", out, re.M), out
    assert str(cluster.state_dir) in out, out


@pytest.mark.parametrize("export", ["ALL", "NONE"])
def test_python_module_in_batch_job(
    cluster: Cluster, workdir: str, jobs: list[str], export: str
) -> None:
    site = yaml.safe_load(cluster.site_config.read_text(encoding="utf-8"))
    version = cluster.python_module.split("/", 1)[1]
    module = site["modules"]["python"].format(version=version)
    script = "\n".join(
        [
            "#!/bin/bash",
            "set -euo pipefail",
            f"source {site['modules']['init']}",
            f"module load {module}",
            "python --version",
            "python3 -c 'import sys; print(sys.executable)'",
        ]
    )
    job_id = cluster.sbatch(f"--export={export} -J smoke-module -o {workdir}/out-%j.txt", script)
    jobs.append(job_id)
    row = wait_final(cluster, job_id)
    out = cluster.ssh_ok(f"cat {workdir}/out-{job_id}.txt")
    assert row[1:] == ["COMPLETED", "0:0"], (row, out)
    assert re.search(rf"^Python {re.escape(version)}\.\d+$", out, re.M), out
    assert f"python-{version}/bin/python3" in out, out


def test_site_config_is_ready(cluster: Cluster) -> None:
    site = yaml.safe_load(cluster.site_config.read_text(encoding="utf-8"))
    assert set(site) == {
        "name", "scheduler", "login", "remote_root", "modules", "partitions", "gpus",
        "defaults", "sbatch",
    }  # fmt: skip
    assert site["scheduler"] == "slurm"
    login = site["login"]
    assert (login["host"], login["port"], login["user"]) == (
        cluster.host,
        cluster.port,
        cluster.user,
    )
    assert login["identity_file"] == str(cluster.key) and cluster.key.is_file()
    assert login["known_hosts"] == str(cluster.known_hosts)
    assert f"[{cluster.host}]:{cluster.port} ssh-ed25519 " in cluster.known_hosts.read_text()
    assert site["partitions"] == {"default": "main", "preemptible": "preempt"}
    assert {k: v["gres"] for k, v in site["gpus"].items()} == {"A100": "a100", "V100": "v100"}
    assert site["modules"]["python"].format(version="3.11") == "python/3.11"
