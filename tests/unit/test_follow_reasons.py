"""What following says about a pending job: each change of Slurm's reason once, nothing
during an outage (the recorded reason is then the outage's), and a stop with
JobNeverStartsError, the run untouched, when the reason means the job never starts.

The scheduler side is replaced by a scripted sequence of recorded states (the real one is
covered by tests/integration/test_honest_following.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any

import pytest

from hpcrun.errors import JobNeverStartsError
from hpcrun.ops import follow as follow_module
from hpcrun.ops.track import TrackReport


@dataclass(frozen=True)
class Record:
    run: str = "train-7f3k"
    state: str = "pending"
    state_reason: str | None = None
    job_id: str | None = "42"
    final: bool = False
    exit_code: int | None = None
    remote_dir: str = "/r"
    site_config: str = "/s.yaml"


class Scripted:
    """A session whose every poll moves the run to the next scripted record."""

    def __init__(self, steps: list[tuple[Record, TrackReport | None]]) -> None:
        self.steps, self.current = steps, steps[0][0]
        self.store = SimpleNamespace(get=lambda _run: self.current)
        site = SimpleNamespace(scheduler="slurm", login=None, name="cluster")
        self.site_of = lambda _record: site
        self.transport = lambda _site: None
        self.backend = lambda _site: None

    def poll(self, *_args: Any) -> tuple[TrackReport | None, bytes]:
        self.current, report = self.steps.pop(0)
        return report, b""


def follow(steps: list[tuple[Record, TrackReport | None]], monkeypatch: pytest.MonkeyPatch):
    session = Scripted(steps)
    monkeypatch.setattr(follow_module, "_poll", session.poll)
    events: list[str] = []
    try:
        follow_module.follow(session, "train-7f3k", None, on_event=events.append,
                             sleep=lambda _s: None)  # type: ignore[arg-type]  # fmt: skip
    except JobNeverStartsError as error:
        return events, error, session.current
    return events, None, session.current


def test_each_reason_change_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    pending = Record()
    steps = [
        (pending, TrackReport()),
        (replace(pending, state_reason="Priority"), TrackReport()),
        (replace(pending, state_reason="Priority"), TrackReport()),
        (replace(pending, state_reason="Resources"), TrackReport()),
        (replace(pending, state="running"), TrackReport()),
        (replace(pending, state="completed", final=True, exit_code=0), TrackReport()),
    ]
    events, error, _ = follow(steps, monkeypatch)
    assert error is None
    assert events == [
        "train-7f3k: pending",
        "train-7f3k: pending (Priority: other jobs go first)",
        "train-7f3k: pending (Resources: waiting for free nodes)",
        "train-7f3k: running",
        "train-7f3k: completed",
    ]


def test_an_outage_is_no_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    down = TrackReport(unavailable={"cluster": "squeue: the controller did not answer"})
    pending = Record(state_reason="Priority")
    steps = [
        (pending, TrackReport()),
        (replace(pending, state_reason="squeue: the controller did not answer"), down),
        (pending, TrackReport()),
        (replace(pending, state="running"), TrackReport()),
        (replace(pending, state="failed", final=True), TrackReport()),
    ]
    events, _, _ = follow(steps, monkeypatch)
    assert events == [
        "train-7f3k: pending (Priority: other jobs go first)",
        "squeue: the controller did not answer; retrying",
        "the scheduler answers again",
        "train-7f3k: running",
        "train-7f3k: failed",
    ]


def test_a_job_that_never_starts_stops_following(monkeypatch: pytest.MonkeyPatch) -> None:
    pending = Record(state_reason="Dependency")
    stuck = replace(pending, state_reason="DependencyNeverSatisfied")
    never_reached = replace(pending, state="running")
    events, error, last = follow(
        [(pending, TrackReport()), (stuck, TrackReport()), (never_reached, TrackReport())],
        monkeypatch,
    )
    assert events[-1] == (
        "train-7f3k: pending (DependencyNeverSatisfied: a job it depends on failed or was "
        "cancelled)"
    )
    assert error is not None and error.exit_code == 1
    assert "train-7f3k (job 42) can never start: Slurm says DependencyNeverSatisfied" in (
        error.message
    )
    assert "It stays queued" in error.message
    assert error.hint.startswith("cancel it with `hpcrun cancel train-7f3k`, then ")
    assert last == stuck  # stopped there; follow itself changes no record


def test_only_slurm_reasons_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run in doubt (no job id) or a local one never stops on a reason text."""
    no_job = Record(job_id=None, state_reason="DependencyNeverSatisfied")
    events, error, _ = follow(
        [(no_job, TrackReport()), (replace(no_job, state="failed", final=True), TrackReport())],
        monkeypatch,
    )
    assert error is None and events == ["train-7f3k: pending", "train-7f3k: failed"]
