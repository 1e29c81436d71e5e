"""A sweep point's own record (.array-task, .attempts) corrects Slurm's TIMEOUT, PREEMPTED
or FAILED for its task, only when the record is that task's (hpcrun.ops.backends.point_records)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpcrun.ops.backends import point_records
from hpcrun.schedulers.status import JobStatus
from hpcrun.transport.base import CommandResult
from hpcrun.transport.local import LocalTransport

DIRS = ["/s/points/aaa", "/s/points/bbb", "/s/points/ccc"]
RECORDS = {  # as read_with_shell/read_with_rsync give them (tests/unit/test_poll_reads.py)
    DIRS[0]: ("12_0", "1\tstarted\t2026-01-01T00:00:00Z\t13\n"
                      "1\tended\tcompleted\t0\t2026-01-01T00:01:00Z\n"),
    DIRS[1]: ("", ""),  # never started: no files
    DIRS[2]: ("9_4", "1\tended\ttime limit\t1\t2026-01-01T00:01:00Z\n"),
}  # fmt: skip


def test_point_folders_are_read_in_one_command(tmp_path: Path) -> None:
    folders = [str(tmp_path / name) for name in ("aaa", "b b'c", "missing")]
    Path(folders[0]).mkdir()
    Path(folders[0], ".array-task").write_text("12_0\n")
    Path(folders[0], ".attempts").write_text("0\tjunk\n" + RECORDS[DIRS[0]][1])
    Path(folders[1]).mkdir()
    Path(folders[1], ".array-task").write_text("12_1\n")
    transport = _Counting()
    assert point_records.read_with_shell(transport, folders) == {
        folders[0]: RECORDS[DIRS[0]],
        folders[1]: ("12_1", ""),
        folders[2]: ("", ""),
    }
    assert transport.commands == 1


class _Counting(LocalTransport):
    commands = 0

    def run(self, command: Any, **kwargs: Any) -> CommandResult:
        self.commands += 1
        return super().run(command, **kwargs)


def test_only_the_tasks_own_record_corrects_it() -> None:
    records = dict(RECORDS)
    statuses = {
        ("12", 0): JobStatus("12_0", "timeout", "TIMEOUT", True, 0),  # completed, really
        ("12", 1): JobStatus("12_1", "failed", "FAILED", True, 1),  # no record: as Slurm says
        ("12", 2): JobStatus("12_2", "failed", "FAILED", True, 1),  # record of array 9: not its
        ("12", 3): JobStatus("12_3", "completed", "COMPLETED", True, 0),
    }
    points = {("12", i): DIRS[i] for i in range(3)} | {("12", 3): "/s/points/ddd"}
    assert point_records.to_correct(statuses, points) == DIRS
    fixed = point_records.corrected(statuses, points, records)
    assert (fixed[("12", 0)].state, fixed[("12", 0)].exit_code) == ("completed", 0)
    assert fixed[("12", 1)] == statuses[("12", 1)]
    assert fixed[("12", 2)] == statuses[("12", 2)]
    assert fixed[("12", 3)] == statuses[("12", 3)]
    records[DIRS[2]] = ("12_2", records[DIRS[2]][1])  # now it is the task's own record
    assert point_records.corrected(statuses, points, records)[("12", 2)].state == "timeout"
