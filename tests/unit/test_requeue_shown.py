"""How tracking shows a job Slurm holds after a requeue: ``preempted`` while held after a
preemption, ``pending`` with a resuming reason after a self-requeue past the time limit."""

from __future__ import annotations

from dataclasses import replace

from hpcrun.ops.track import _requeue_shown
from hpcrun.schedulers.status import JobStatus
from hpcrun.store.runs import RunRecord


class _Cause:
    """The one thing the function asks a backend: what .attempts said (no Slurm involved)."""

    def __init__(self, cause: str | None) -> None:
        self.cause, self.asked = cause, 0

    def requeue_cause(self, transport: object, run_dir: str) -> str | None:
        self.asked += 1
        return self.cause


RECORD = RunRecord(run="r1", workflow="w", site="s", site_config="c", state="running",
                   job_id="7", remote_dir="/runs/r1")  # fmt: skip
HELD = JobStatus(job_id="7", state="pending", raw_state="PENDING", final=False,
                 reason="BeginTime", restarts=1)  # fmt: skip


def test_a_preempted_job_held_by_slurm_shows_preempted_then_pending() -> None:
    backend = _Cause("running")  # killed before its script could record why: preempted
    shown = _requeue_shown(backend, None, RECORD, HELD)
    assert (shown.state, shown.final) == ("preempted", False)
    assert "attempt 1 was preempted" in (shown.reason or "")
    later = replace(RECORD, state="preempted", state_reason=shown.reason, restarts=1)
    assert _requeue_shown(backend, None, later, HELD).state == "preempted"  # still held
    assert backend.asked == 1  # the cause is read once, when the count goes up
    eligible = replace(HELD, reason="Priority")
    assert _requeue_shown(backend, None, later, eligible).state == "pending"
    running = replace(HELD, state="running", raw_state="RUNNING", reason=None)
    assert _requeue_shown(backend, None, later, running).state == "running"


def test_a_self_requeue_after_the_time_limit_stays_pending_with_its_reason() -> None:
    shown = _requeue_shown(_Cause("time limit"), None, RECORD, HELD)
    assert shown.state == "pending"
    assert "reached its time limit; resuming" in (shown.reason or "")


def test_a_job_held_for_other_reasons_is_left_alone() -> None:
    plain = replace(HELD, restarts=None)
    assert _requeue_shown(_Cause("preempted"), None, RECORD, plain) == plain


def test_a_job_requeued_after_its_program_completed_is_not_shown_preempted() -> None:
    """Preempted during GraceTime after the program had ended: Slurm requeues it anyway."""
    shown = _requeue_shown(_Cause("completed"), None, RECORD, HELD)
    assert shown.state == "pending"
    assert "attempt 1 completed" in (shown.reason or "")
