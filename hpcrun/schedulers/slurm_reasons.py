"""Slurm's pending reasons (squeue ``%r``) in words, and which of them mean "this job can
never start". Pure: no I/O.

Deciding "never" is conservative on purpose: a follower that gives up on a job that would
have started is worse than one that waits. Only reasons that no amount of waiting can
resolve stop a follower; everything else (busy nodes, per-user or group limits that free
up as other jobs end, nodes that are down or drained, held jobs) is only explained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Reason -> what it means, for the common ones; others are shown as Slurm gives them.
EXPLANATIONS: dict[str, str] = {
    "None": "not looked at by the scheduler yet",
    "Resources": "waiting for free nodes",
    "Priority": "other jobs go first",
    "Dependency": "waiting for the jobs it depends on",
    "BeginTime": "waiting for its start time (also right after a requeue)",
    "JobHeldUser": "held by its user: `scontrol release JOBID`",
    "JobHeldAdmin": "held by an administrator",
    "JobArrayTaskLimit": "the array's limit of tasks running at once is reached",
    "QOSMaxJobsPerUserLimit": "you already run as many jobs as your QOS allows",
    "QOSMaxSubmitJobPerUserLimit": "you already have as many jobs as your QOS allows",
    "AssocMaxJobsLimit": "your account already runs as many jobs as it may",
    "AssociationJobLimit": "your account already runs as many jobs as it may",
    "AssociationResourceLimit": "your account's resource limit is in use by other jobs",
    "QOSResourceLimit": "the QOS's resource limit is in use by other jobs",
    "QOSJobLimit": "the QOS already runs as many jobs as it may",
    "Reservation": "waiting for its reservation to start",
    "PartitionDown": "its partition is down",
    "PartitionInactive": "its partition is inactive",
    "PartitionConfig": "the partition cannot take this request right now",
    "ReqNodeNotAvail": "a node it needs is down, drained or reserved",
    "NodeDown": "a node it needs is down",
    "Licenses": "waiting for licenses",
    "Cleaning": "being cleaned up after a requeue",
    "Prolog": "its prolog is running",
    "InvalidQOS": "its QOS does not exist or is not allowed for you",
    "InvalidAccount": "its account does not exist or is not allowed for you",
    "DependencyNeverSatisfied": "a job it depends on failed or was cancelled",
    "PartitionTimeLimit": "its --time is over the partition's MaxTime",
    "PartitionNodeLimit": "it asks for more nodes than the partition allows",
    "BadConstraints": "no node has the features, GPUs or sizes it asks for",
    "QOSNotAllowed": "its partition does not allow this QOS",
    "AccountNotAllowed": "its partition does not allow this account",
}


@dataclass(frozen=True)
class NeverStarts:
    """A pending reason that waiting cannot resolve."""

    reason: str  # as Slurm gives it
    meaning: str
    fix: str  # what to change before resubmitting


# Reasons that can only be resolved by changing the job (or the cluster's configuration).
_NEVER: dict[str, tuple[str, str]] = {
    "DependencyNeverSatisfied": (
        "a job it depends on failed or was cancelled, so its dependency can never be met",
        "fix and rerun the job it depends on, then resubmit this one",
    ),
    "PartitionTimeLimit": (
        "its --time is over the MaxTime of its partition",
        "resubmit with a smaller --time (max_duration), or another --partition "
        "(`hpcrun site check SITE` lists each partition's MaxTime)",
    ),
    "PartitionNodeLimit": (
        "it asks for more (or fewer) nodes than its partition allows",
        "resubmit with a node count the partition allows, or another --partition",
    ),
    "BadConstraints": (
        "no node can ever satisfy its request (features, GPUs, memory or CPUs)",
        "resubmit asking for what a node has (`hpcrun site check SITE` lists the largest "
        "node of each partition)",
    ),
    "InvalidQOS": (
        "its QOS does not exist or your account may not use it",
        "resubmit with a valid --qos (`sacctmgr show assoc user=$USER` lists yours)",
    ),
    "InvalidAccount": (
        "its account does not exist or you are not a member of it",
        "resubmit with a valid --account (`sacctmgr show assoc user=$USER` lists yours)",
    ),
    "QOSNotAllowed": (
        "its partition does not allow its QOS",
        "resubmit with another --qos or --partition",
    ),
    "AccountNotAllowed": (
        "its partition does not allow its account",
        "resubmit with another --account or --partition",
    ),
}

# Per-job maxima and minima of an association or QOS (AssocMaxCpuPerJobLimit,
# QOSMaxGRESPerJob, QOSMaxMemoryPerNode, QOSMinGRES ...): the job's own request is over
# (or under) them, so it never fits. Group (AssocGrp*) and per-user/per-account limits
# (QOSMaxJobsPerUserLimit, MaxCpuPerAccount ...) count other running jobs and free up as
# they end: those are only explained.
_PER_JOB_LIMIT = re.compile(r"(?:Assoc|QOS)Max\w*Per(?:Job|Node)(?:Limit)?|QOSMin\w+")
# ReqNodeNotAvail also appears for nodes that are merely down, drained or reserved: Slurm
# then lists them after "UnavailableNodes:" and they come back. Only an explicitly empty
# list (no node of the job's partitions is unavailable, yet none can serve it) means no node
# ever will; a bare "ReqNodeNotAvail" or any other text is only explained.
_NO_NODE_LISTED = re.compile(r"ReqNodeNotAvail,\s*UnavailableNodes:\s*")


def reason_word(reason: str) -> str:
    """``ReqNodeNotAvail, UnavailableNodes:node1`` -> ``ReqNodeNotAvail``."""
    return re.split(r"[,\s(]", reason.strip(), maxsplit=1)[0]


def explain(reason: str | None) -> str | None:
    """``Resources`` -> ``Resources: waiting for free nodes``; unknown reasons as given;
    None for no reason."""
    if not reason or not reason.strip():
        return None
    reason = reason.strip()
    word = reason_word(reason)
    meaning = EXPLANATIONS.get(word)
    if meaning is None and _PER_JOB_LIMIT.fullmatch(word):
        meaning = "its request is over (or under) a per-job limit of its account or QOS"
    elif meaning is None and word.startswith(("AssocGrp", "QOSGrp")):
        meaning = "a group limit is in use by other jobs"
    return f"{reason}: {meaning}" if meaning else reason


def never_starts(reason: str | None) -> NeverStarts | None:
    """The pending ``reason`` of a job if it means the job can never start, else None."""
    if not reason or not reason.strip():
        return None
    reason = reason.strip()
    word = reason_word(reason)
    if word in _NEVER:
        meaning, fix = _NEVER[word]
        return NeverStarts(reason, meaning, fix)
    if _PER_JOB_LIMIT.fullmatch(word):
        return NeverStarts(
            reason,
            "its request is over (or under) a per-job limit of its account or QOS",
            "resubmit with less (CPUs, memory, GPUs, nodes or --time), or another --qos",
        )
    if word == "ReqNodeNotAvail" and _NO_NODE_LISTED.fullmatch(reason):
        return NeverStarts(
            reason,
            "no node of its partition can serve it, and none is merely down or reserved",
            "resubmit asking for what a node has, or another --partition "
            "(`hpcrun site check SITE` lists the largest node of each partition)",
        )
    return None
