"""A sweep point's own record (.array-task, .attempts) corrects Slurm's TIMEOUT, PREEMPTED
or FAILED for its task, only when the record is that task's (hpcrun.ops.backends.point_records)."""

from __future__ import annotations

from hpcrun.ops.backends import point_records
from hpcrun.schedulers.status import JobStatus

DIRS = ["/s/points/aaa", "/s/points/bbb", "/s/points/ccc"]
STDOUT = (
    "hpcrun-point 0\n12_0\nhpcrun-attempts\n1\tstarted\t2026-01-01T00:00:00Z\t13\n"
    "1\tended\tcompleted\t0\t2026-01-01T00:01:00Z\n"
    "hpcrun-point 1\nhpcrun-attempts\n"  # never started: no files
    "hpcrun-point 2\n9_4\nhpcrun-attempts\n1\tended\ttime limit\t1\t2026-01-01T00:01:00Z\n"
)


def test_tails_are_split_per_folder() -> None:
    records = point_records.parse_tails(STDOUT, DIRS)
    assert records[DIRS[0]][0] == "12_0"
    assert records[DIRS[0]][1].endswith("1\tended\tcompleted\t0\t2026-01-01T00:01:00Z\n")
    assert records[DIRS[1]] == ("", "")
    assert records[DIRS[2]] == ("9_4", "1\tended\ttime limit\t1\t2026-01-01T00:01:00Z\n")
    assert point_records.parse_tails("banner\n" + STDOUT, DIRS) == records  # noise before


def test_only_the_tasks_own_record_corrects_it() -> None:
    records = point_records.parse_tails(STDOUT, DIRS)
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
