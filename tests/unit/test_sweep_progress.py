"""Pure decisions of the sweep tick: the sweep's name, reconciling a 'submitting' chunk,
who is exhausted, and the one-line summary."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from hpcrun.sweep.progress import (
    count,
    exhausted,
    reconcile,
    retry_due,
    summary_line,
    sweep_name,
)


def point(state: str, final: bool = False, retries_used: int = 0, reason: str | None = None,
          in_spec: bool = True) -> SimpleNamespace:  # fmt: skip
    return SimpleNamespace(state=state, final=final, retries_used=retries_used, reason=reason,
                           in_spec=in_spec)  # fmt: skip


def test_the_summary_line_of_the_issue() -> None:
    points = [point("completed", True)] * 12 + [point("running")] * 3
    points += [point("pending", retries_used=1)]  # its first retry is queued
    assert (
        summary_line(count(points, 2)) == "12 completed, 3 running, 1 failed (retry 1/2), 0 pending"
    )


def test_summary_counts_exhausted_deferred_and_other_states() -> None:
    points = [
        point("failed", True, retries_used=1),  # out of retries (retries=1)
        point("timeout", True, retries_used=0),  # its retry is due: counted as retrying
        point("cancelled", True),
        point("pending", reason="deferred: submit limit reached"),
        point("pending"),
        point("completed", True, in_spec=False),  # dropped from the spec: not counted
    ]
    counts = count(points, 1)
    assert summary_line(counts) == (
        "0 completed, 0 running, 2 failed (retry 1/1, 1 out of retries), 1 cancelled, "
        "2 pending (1 deferred to the next tick)"
    )
    assert not counts.healthy and not counts.done


def test_done_and_healthy() -> None:
    counts = count([point("completed", True)] * 3, 0)
    assert counts.done and counts.healthy
    assert summary_line(counts) == "3 completed, 0 running, 0 failed, 0 pending"


@pytest.mark.parametrize(
    ("state", "final", "used", "retries", "expected"),
    [
        ("failed", True, 0, 1, False),  # a retry is due
        ("failed", True, 1, 1, True),
        ("preempted", True, 0, 0, True),
        ("preempted", True, 0, 1, False),  # retryable: its retry is due
        ("preempted", True, 1, 1, True),
        ("cancelled", True, 0, 3, True),  # not retryable
        ("completed", True, 0, 0, False),
        ("running", False, 0, 0, False),
    ],
)
def test_exhausted(state: str, final: bool, used: int, retries: int, expected: bool) -> None:
    assert exhausted(point(state, final, used), retries) is expected


def test_a_preempted_point_is_retried_and_counted_as_retrying() -> None:
    # (interruptible points: a preemption without requeue ends the point `preempted`)
    preempted = point("preempted", True)
    assert retry_due(preempted, 2) and not retry_due(preempted, 0)
    counts = count([point("completed", True), preempted], 2)
    assert counts.retrying == ((1, 2),) and counts.gave_up == 0 and not counts.other
    assert not counts.done
    assert summary_line(counts) == "1 completed, 0 running, 1 failed (retry 1/2), 0 pending"


def test_reconcile_adopts_waits_or_frees() -> None:
    assert reconcile("123", None, False, 5, 300).action == "adopt"
    adopted = reconcile(None, "124", False, 5, 300)
    assert (adopted.action, adopted.job_id) == ("adopt", "124")
    assert reconcile(None, None, True, 9999, 300).action == "wait"  # sbatch still running
    assert reconcile(None, None, False, 10, 300).action == "wait"  # may reach Slurm late
    assert reconcile(None, None, False, 301, 300).action == "free"
    assert reconcile(None, None, False, 0, 0).action == "free"  # local: no grace


def test_sweep_names_are_short_stable_and_distinct() -> None:
    name = sweep_name("My_Grid", "cluster", "/home/a/project")
    assert name == sweep_name("My_Grid", "cluster", "/home/a/project")
    assert name.startswith("my-grid-") and len(name) == len("my-grid-") + 6
    assert name != sweep_name("My_Grid", "local", "/home/a/project")
    assert name != sweep_name("My_Grid", "cluster", "/home/b/project")
