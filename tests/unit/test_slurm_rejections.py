"""sbatch rejections: Slurm's message quoted, and a hint that matches it, built from the
job's request and the nodes' facts (``nodes.sinfo``).

The rejections were printed by the real test cluster (``reject_*.sbatch``, captured by
``tests/data/slurm/capture_reasons.py``); the account/QOS/CPU texts are hand-written
(labelled): that cluster enforces no accounts or QOS and queues a job asking for 999 CPUs
(it pends with PartitionConfig) instead of refusing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hpcrun.schedulers.slurm_nodes import parse_sinfo_nodes
from hpcrun.schedulers.slurm_rejections import (
    GENERIC_HINT,
    Request,
    rejection_hint,
    rejection_kind,
    rejection_message,
)

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "slurm"
NODES = parse_sinfo_nodes((CAPTURES / "nodes.sinfo.stdout").read_text())


def rejected(name: str) -> str:
    return (CAPTURES / f"reject_{name}.sbatch.stderr").read_text()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("gpu_count", "Batch job submission failed: Requested node configuration is not available"),
        (
            "memory",
            "Memory specification can not be satisfied; "
            "Batch job submission failed: Requested node configuration is not available",
        ),
        (
            "partition",
            "invalid partition specified: nosuch; "
            "Batch job submission failed: Invalid partition name specified",
        ),
        ("gres_type", "Batch job submission failed: Requested node configuration is not available"),
    ],
)
def test_message_quotes_every_line(name: str, message: str) -> None:
    assert rejection_message(rejected(name)) == message


@pytest.mark.parametrize(
    ("name", "request_", "fragments"),
    [
        ("gpu_count", Request(gres="gpu:a100:99"),
         ["99 a100 GPUs", "largest node of partition 'main' has 2"]),
        ("memory", Request(mem_mib=10 * 1024 * 1024),
         ["10240 GiB of memory", "largest node of partition 'main' has 8000 MiB"]),
        ("partition", Request(partition="nosuch"),
         ["partition 'nosuch' does not exist", "valid partitions: main, preempt, short"]),
        ("gres_type", Request(gres="gpu:h100:1"),
         ["gres type 'h100'", "a100, v100"]),
        ("gpu_count", Request(partition="preempt", gres="gpu:v100:3"),
         ["3 v100 GPUs", "partition 'preempt' has 2"]),
    ],
)  # fmt: skip
def test_hint_matches_the_captured_rejection(
    name: str, request_: Request, fragments: list[str]
) -> None:
    hint = rejection_hint(rejected(name), request_, NODES)
    assert hint != GENERIC_HINT
    for fragment in fragments:
        assert fragment in hint, hint


@pytest.mark.parametrize(
    ("text", "request_", "fragments"),
    [  # hand-written: Slurm's texts for what the test cluster does not enforce
        ("sbatch: error: Batch job submission failed: Invalid account or account/partition "
         "combination specified", Request(account="nosuch"), ["account 'nosuch'", "sacctmgr"]),
        ("sbatch: error: Batch job submission failed: Invalid qos specification",
         Request(qos="nosuch"), ["QOS 'nosuch'", "--qos"]),
        ("sbatch: error: Batch job submission failed: More processors requested than permitted",
         Request(cpus_per_task=999), ["999 CPUs per task", "has 8"]),
        ("sbatch: error: Batch job submission failed: Invalid generic resource (gres) "
         "specification", Request(gres="gpu:k80:1"), ["gres type 'k80'", "a100, v100"]),
        ("sbatch: error: Batch job submission failed: Requested time limit is invalid (missing "
         "or exceeds some limit)", Request(partition="short", time="00:10:00"),
         ["MaxTime of partition 'short' is 5:00"]),
        ("sbatch: error: Batch job submission failed: Job violates accounting/QOS policy (job "
         "submit limit, user's size and/or time limits)", Request(), ["limit of your account"]),
    ],
)  # fmt: skip
def test_hint_for_other_rejections(text: str, request_: Request, fragments: list[str]) -> None:
    hint = rejection_hint(text, request_, NODES)
    for fragment in fragments:
        assert fragment in hint, hint


def test_a_request_that_fits_gets_the_largest_node() -> None:
    """Node configuration refused, yet nothing the plan asks is over (e.g. an --sbatch
    directive asked for it): the hint shows what a node has."""
    hint = rejection_hint(rejected("gpu_count"), Request(gres="gpu:a100:1"), NODES)
    assert "largest node of partition 'main' has 8 CPUs, 8000 MiB, 2 a100, 2 v100" in hint


def test_without_node_facts_the_hint_stays_generic() -> None:
    assert rejection_hint(rejected("memory"), Request(mem_mib=10**7), None) == GENERIC_HINT
    partition = rejection_hint(rejected("partition"), Request(partition="x"), None)
    assert "partition 'x' does not exist" in partition and "sinfo" in partition


@pytest.mark.parametrize(
    ("name", "kind"),
    [("gpu_count", "node_config"), ("memory", "memory"), ("partition", "partition"),
     ("gres_type", "node_config")],
)  # fmt: skip
def test_kind(name: str, kind: str) -> None:
    assert rejection_kind(rejected(name)) == kind
