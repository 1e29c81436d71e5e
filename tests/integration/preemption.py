"""Which partitions and GPUs of the test cluster the preemption tests use, read from the
site config that scripts/test-cluster writes (and from sinfo), so the tests follow the
cluster instead of repeating its names. The PreemptMode=CANCEL partition is not in the site
config: HPCRUN_TEST_CANCEL_PARTITION names it (default: the one scripts/test-cluster makes).
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

import yaml

from tests.integration.conftest import Cluster


@dataclass(frozen=True)
class PreemptionSite:
    high_partition: str  # where a job preempts the interruptible one (higher PriorityTier)
    preemptible_partition: str  # where interruptible runs go (PreemptMode=REQUEUE)
    cancel_partition: str  # a preemptible partition with PreemptMode=CANCEL
    gpu_name: str  # the dstack GPU name in the site config (gpus:)
    gpu_gres: str  # its Slurm gres type
    gpu_count: int  # how many of them the preemptible partition's node has
    signal: str  # the warning signal (interruptible.signal), e.g. SIGUSR1

    def victim_resources(self) -> str:
        """workflows.yaml `resources:` lines of an interruptible run holding every GPU of the
        type, so that any job asking for one of them must preempt it."""
        return (
            "      interruptible: true\n"
            f"      gpu: {{name: {self.gpu_name}, count: {self.gpu_count}}}\n"
        )

    def preemptor_command(self) -> str:
        """sbatch a short job of the high-priority partition that needs one of those GPUs."""
        return (
            f"sbatch -p {shlex.quote(self.high_partition)} "
            f"--gres=gpu:{shlex.quote(self.gpu_gres)}:1 --time=1 -o /dev/null --wrap 'sleep 2'"
        )


def gres_count(sinfo_gres: str, gres: str) -> int:
    """`gpu:a100:2,gpu:v100:2(S:0)` -> 2 for a100 (the most any node line offers)."""
    counts = [0]
    for line in sinfo_gres.split():
        for item in line.split(","):
            parts = item.split("(")[0].split(":")
            if len(parts) == 3 and parts[0] == "gpu" and parts[1] == gres and parts[2].isdigit():
                counts.append(int(parts[2]))
    return max(counts)


def preemption_site(cluster: Cluster) -> PreemptionSite:
    data = yaml.safe_load(cluster.site_config.read_text())
    interruptible = data.get("interruptible") or {}
    preemptible = interruptible.get("partition") or data["partitions"]["preemptible"]
    gpu_name, gpu = next(iter(data["gpus"].items()))
    listing = cluster.ssh_ok(f"sinfo -h -p {shlex.quote(preemptible)} -o %G")
    count = gres_count(listing, gpu["gres"])
    assert count >= 1, f"partition {preemptible} has no gpu:{gpu['gres']}: {listing!r}"
    return PreemptionSite(
        high_partition=data["partitions"]["default"],
        preemptible_partition=preemptible,
        cancel_partition=os.environ.get("HPCRUN_TEST_CANCEL_PARTITION", "preempt-cancel"),
        gpu_name=gpu_name,
        gpu_gres=gpu["gres"],
        gpu_count=count,
        signal="SIG" + str(interruptible.get("signal", "USR1")).upper().removeprefix("SIG"),
    )
