"""The batch submit's pure parts: how a 'submitting' chunk is reconciled, and how the one
submit command's answer is read (lines it printed, or the lack of them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from hpcrun.ops.backends import SchedulerUnavailable
from hpcrun.ops.backends.slurm_array import BatchItem, SlurmArrays, SubmitLimited
from hpcrun.sweep.progress import reconcile
from hpcrun.transport.base import CommandResult, TransportError


def test_an_abandoned_chunk_is_freed_at_once_but_never_one_in_flight_or_recorded() -> None:
    assert reconcile(None, None, False, 1.0, 300.0, abandoned=True).action == "free"
    assert reconcile(None, None, False, 1.0, 300.0).action == "wait"  # sbatch may be late
    assert reconcile(None, None, True, 1.0, 300.0, abandoned=True).action == "wait"
    assert reconcile(None, "12", False, 1.0, 300.0, abandoned=True).job_id == "12"
    assert reconcile("34", None, False, 1.0, 300.0, abandoned=True).job_id == "34"


@dataclass
class Answer:
    """A transport that answers the one submit command with a canned result."""

    stdout: str = ""
    stderr: str = ""
    returncode: int = 0
    raises: Exception | None = None
    sent: list[tuple[str, str]] = field(default_factory=list)

    def run(self, command: Any, *, input: str | None = None, **_: Any) -> CommandResult:
        self.sent.append((command.code, input or ""))
        if self.raises is not None:
            raise self.raises
        return CommandResult("batch", self.returncode, self.stdout, self.stderr)


ITEMS = [BatchItem(name, ("--array=0-7", f"--job-name=j.{name}")) for name in "abc"]


def submit(answer: Answer, **kwargs: Any) -> Any:
    return SlurmArrays().submit_batch(answer, "/r/chunks", ITEMS, **kwargs)  # type: ignore[arg-type]


def test_every_chunk_goes_to_one_command_as_nul_separated_fields() -> None:
    answer = Answer("motd\nchunk 0 ok 11\nchunk 1 ok 12;c\nchunk 2 ok 13\nend\n")
    outcome = submit(answer, after=("9", "10"), chain=True)
    assert outcome.submitted == [(0, "11"), (1, "12"), (2, "13")] and outcome.attempted == 3
    assert outcome.failed is None and outcome.cut_short is None and outcome.not_run == []
    ((code, data),) = answer.sent
    assert "deps=9:10" in code and "[ 1 = 1 ]" in code and "cd /r/chunks" in code
    assert data.split("\0") == ["a", "2", "--array=0-7", "--job-name=j.a", "b", "2",
                                "--array=0-7", "--job-name=j.b", "c", "2", "--array=0-7",
                                "--job-name=j.c", ""]  # fmt: skip


def test_a_refusal_stops_the_batch_and_the_rest_is_known_not_run() -> None:
    limit = "sbatch: error: QOSMaxSubmitJobPerUserLimit\n"
    outcome = submit(Answer("chunk 0 ok 11\nchunk 1 failed 1\nstop\n", limit))
    assert outcome.submitted == [(0, "11")] and outcome.not_run == [2]
    assert outcome.failed is not None and outcome.failed[0] == 1
    assert isinstance(outcome.failed[1], SubmitLimited) and outcome.cut_short is None
    down = "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation"
    outcome = submit(Answer("chunk 0 failed 1\nstop\n", down))
    assert outcome.failed is not None and isinstance(outcome.failed[1], SchedulerUnavailable)
    assert outcome.not_run == [1, 2]


@pytest.mark.parametrize(
    "answer",
    [Answer("chunk 0 ok 11\n", returncode=137), Answer(raises=TransportError("dropped"))],
)
def test_a_command_cut_short_leaves_the_unreported_chunks_unknown(answer: Answer) -> None:
    outcome = submit(answer)
    assert outcome.cut_short is not None
    assert outcome.not_run == [] and outcome.failed is None
    assert outcome.submitted == ([(0, "11")] if answer.raises is None else [])


def test_an_abandoned_chunk_is_not_run() -> None:
    outcome = submit(Answer("chunk 0 abandoned\nchunk 1 ok 12\nchunk 2 ok 13\nend\n"))
    assert outcome.not_run == [0] and outcome.submitted == [(1, "12"), (2, "13")]
