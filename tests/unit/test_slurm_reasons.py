"""Pending reasons: squeue's ``%r`` reaches JobStatus.reason, each is explained in words,
and only the reasons that waiting cannot resolve mean "never starts".

The first tables run over ``reasons.squeue`` (tests/data/slurm, captured by
``capture_reasons.py`` on the real test cluster); the hand-written ones (labelled) cover
reasons that cluster cannot be made to print: it enforces no accounts, QOS or
association limits, and refuses a gres no node has at submit time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpcrun.schedulers import slurm
from hpcrun.schedulers.slurm_reasons import explain, never_starts, reason_word

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "slurm"


def captured_reasons() -> dict[str, str | None]:
    """capture_reasons.py's role -> the reason squeue printed for it."""
    statuses = slurm.parse_squeue((CAPTURES / "reasons.squeue.stdout").read_text())
    argv = json.loads((CAPTURES / "commands.json").read_text())["reasons.squeue"]["argv"]
    ids = argv[-1].removeprefix("--jobs=").split(",")
    assert sorted(statuses) == sorted(ids)  # every job of the capture is listed
    assert all(status.state == "pending" for status in statuses.values())
    return {job: status.reason for job, status in statuses.items()}


def test_squeue_reason_reaches_the_job_status() -> None:
    reasons = set(captured_reasons().values())
    assert reasons == {
        "PartitionConfig",
        "PartitionNodeLimit",
        "BeginTime",
        "DependencyNeverSatisfied",
        "Dependency",
        "JobHeldUser",
        "PartitionTimeLimit",
    }


@pytest.mark.parametrize(
    ("reason", "never"),
    [
        ("DependencyNeverSatisfied", True),
        ("PartitionTimeLimit", True),
        ("PartitionNodeLimit", True),
        # a request over the partition's nodes on this cluster; Slurm also uses it while
        # nodes are unavailable "now", so waiting may resolve it: only explained
        ("PartitionConfig", False),
        ("BeginTime", False),
        ("Dependency", False),
        ("JobHeldUser", False),
    ],
)
def test_captured_reasons_are_classified(reason: str, never: bool) -> None:
    assert reason in captured_reasons().values()
    assert (never_starts(reason) is not None) is never


@pytest.mark.parametrize(
    "reason",
    [  # hand-written: Slurm's spellings (squeue(1) "JOB REASON CODES")
        "BadConstraints",
        "InvalidQOS",
        "InvalidAccount",
        "QOSNotAllowed",
        "AccountNotAllowed",
        "QOSMaxCpuPerJobLimit",
        "QOSMaxWallDurationPerJobLimit",
        "QOSMaxGRESPerJob",
        "QOSMaxMemoryPerNode",
        "QOSMinGRES",
        "AssocMaxNodePerJobLimit",
        "AssocMaxWallDurationPerJobLimit",
        "ReqNodeNotAvail, UnavailableNodes:",
    ],
)
def test_never_starts(reason: str) -> None:
    stuck = never_starts(reason)
    assert stuck is not None and stuck.reason == reason
    assert stuck.meaning and stuck.fix


@pytest.mark.parametrize(
    "reason",
    [  # hand-written: these resolve by waiting (other jobs end, nodes come back, limits free)
        "Resources",
        "Priority",
        "QOSMaxJobsPerUserLimit",
        "QOSMaxSubmitJobPerUserLimit",
        "QOSMaxCpuPerUserLimit",
        "QOSMaxGRESPerUser",
        "AssocGrpCpuLimit",
        "AssocGrpGRES",
        "AssocGrpCPUMinutesLimit",
        "AssocMaxJobsLimit",
        "MaxCpuPerAccount",
        "ReqNodeNotAvail",
        "ReqNodeNotAvail, UnavailableNodes:node[1-2]",
        "ReqNodeNotAvail, Reserved for maintenance",
        "PartitionDown",
        "JobHeldAdmin",
        "Reservation",
        "NodeDown",
        "SomethingNewInSlurm99",
        "",
        None,
    ],
)
def test_waiting_may_resolve(reason: str | None) -> None:
    assert never_starts(reason) is None


@pytest.mark.parametrize(
    ("reason", "line"),
    [
        ("Resources", "Resources: waiting for free nodes"),
        ("Priority", "Priority: other jobs go first"),
        ("Dependency", "Dependency: waiting for the jobs it depends on"),
        (
            "QOSMaxJobsPerUserLimit",
            "QOSMaxJobsPerUserLimit: you already run as many jobs as your QOS allows",
        ),
        ("BeginTime", "BeginTime: waiting for its start time (also right after a requeue)"),
        (
            "ReqNodeNotAvail, UnavailableNodes:node1",
            "ReqNodeNotAvail, UnavailableNodes:node1: a node it needs is down, drained or reserved",
        ),
        ("AssocGrpGRES", "AssocGrpGRES: a group limit is in use by other jobs"),
        ("SomethingNewInSlurm99", "SomethingNewInSlurm99"),  # unknown: as Slurm gives it
        (None, None),
        ("  ", None),
    ],
)
def test_explain(reason: str | None, line: str | None) -> None:
    assert explain(reason) == line


def test_every_captured_reason_is_explained() -> None:
    for reason in captured_reasons().values():
        assert reason is not None
        assert explain(reason) != reason, reason  # the captured ones all have words


def test_reason_word() -> None:
    assert reason_word("ReqNodeNotAvail, UnavailableNodes:node1") == "ReqNodeNotAvail"
    assert reason_word("Resources") == "Resources"
