"""Array-task status parsing on real captures from the test cluster (tests/data/slurm/
array_*; see its README), submit-limit refusals and MaxArraySize."""

from __future__ import annotations

from pathlib import Path

from hpcrun.ops.backends.local_array import _array_size
from hpcrun.schedulers import slurm_arrays as arrays

DATA = Path(__file__).resolve().parents[1] / "data" / "slurm"


def capture(name: str) -> str:
    return (DATA / name).read_text()


def test_squeue_lists_each_task_of_a_throttled_array() -> None:
    tasks = arrays.parse_squeue_tasks(capture("array_live.squeue.stdout"))
    assert sorted(tasks) == [("328", i) for i in range(5)]
    assert {i: tasks[("328", i)].state for i in range(5)} == {
        0: "running", 1: "running", 2: "pending", 3: "pending", 4: "pending"}  # fmt: skip
    assert tasks[("328", 2)].reason == "JobArrayTaskLimit"
    assert tasks[("328", 0)].started_at is not None and not tasks[("328", 0)].final


def test_sacct_gives_each_finished_task_its_exit_code() -> None:
    tasks = arrays.parse_sacct_tasks(capture("array_done.sacct.stdout"))
    assert {key: (s.state, s.exit_code) for key, s in tasks.items()} == {
        ("328", 0): ("completed", 0), ("328", 1): ("completed", 0),
        ("328", 2): ("failed", 3), ("328", 3): ("completed", 0),
        ("328", 4): ("completed", 0),
    }  # fmt: skip


def test_squeue_knows_finished_tasks_but_not_their_exit_codes() -> None:
    live = arrays.parse_squeue_tasks(capture("array_done.squeue.stdout"))
    accounted = arrays.parse_sacct_tasks(capture("array_done.sacct.stdout"))
    failed = arrays.merge_tasks(live, {}, ("328", 2))
    assert (failed.state, failed.final) == ("failed", False)  # waits for sacct's exit code
    settled = arrays.merge_tasks(live, accounted, ("328", 2))
    assert (settled.state, settled.final, settled.exit_code) == ("failed", True, 3)
    assert arrays.merge_tasks(live, {}, ("328", 0)).final  # COMPLETED implies exit 0


def test_a_task_in_neither_is_unknown_and_not_final() -> None:
    status = arrays.merge_tasks({}, {}, ("999", 0))
    assert (status.state, status.final, status.job_id) == ("unknown", False, "999_0")


def test_folded_pending_tasks_are_expanded() -> None:
    # sacct folds tasks that have not started into one line (as seen on the test cluster:
    # `335_[1-2]|PENDING|...`); squeue without --array does the same, with a throttle.
    tasks = arrays.parse_sacct_tasks("335_0|COMPLETED|0:0|1|2|None\n"
                                     "335_[1-2,5]|PENDING|0:0|Unknown|Unknown|None\n")  # fmt: skip
    assert sorted(tasks) == [("335", 0), ("335", 1), ("335", 2), ("335", 5)]
    assert tasks[("335", 5)].state == "pending" and tasks[("335", 5)].job_id == "335_5"
    squeue = arrays.parse_squeue_tasks("40_[3-4%2]|PENDING|N/A|N/A|JobArrayTaskLimit\n")
    assert sorted(squeue) == [("40", 3), ("40", 4)]


def test_the_submit_limit_refusal_is_recognized() -> None:
    refusal = capture("array_submit_limit.sbatch.stderr")
    assert "QOSMaxSubmitJobPerUserLimit" in refusal
    assert arrays.is_submit_limit(refusal)
    assert arrays.is_submit_limit("sbatch: error: AssocMaxSubmitJobLimit")
    assert not arrays.is_submit_limit("sbatch: error: Invalid job array specification")


def test_max_array_size_from_scontrol() -> None:
    assert arrays.parse_max_array_size(capture("array_config.scontrol.stdout")) == 8
    assert arrays.parse_max_array_size("ClusterName = x\n") == 1001  # Slurm's default


def test_builders_ask_once_for_every_array() -> None:
    argv = arrays.squeue_arrays_argv(["12", "13"])
    assert "--array" in argv and argv[-1] == "--jobs=12,13"
    assert arrays.sacct_arrays_argv(["12", "13"])[-1] == "--jobs=12,13"


def test_local_array_options() -> None:
    assert _array_size(["--array=0-5%3", "--job-name=x"]) == (6, 3)
    assert _array_size(["--array=0-0"]) == (1, None)
