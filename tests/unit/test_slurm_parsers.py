"""Slurm argv builders, output parsers and the state map.

Most tables run over text captured from the real test cluster (tests/data/slurm/, see its
README.md); the hand-written cases cover what the cluster cannot be made to print on demand
(other Slurm versions' spellings, an unreachable controller's wording, garbage).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hpcrun.schedulers import slurm
from hpcrun.schedulers.slurm import JobStatus

CAPTURES = Path(__file__).resolve().parents[1] / "data" / "slurm"
CONTRACT = {
    "pending",
    "running",
    "completed",
    "failed",
    "cancelled",
    "timeout",
    "out_of_memory",
    "preempted",
    "node_fail",
    "unknown",
}


def capture(name: str) -> str:
    return (CAPTURES / name).read_text()


def jobs() -> dict[str, str]:
    """Role (``failed``, ``array`` ...) -> job id, as capture.py submitted them."""
    return json.loads(capture("jobs.json"))


# ---------------------------------------------------------------- state map

ALL_SLURM_STATES = {
    "PENDING": ("pending", False),
    "CONFIGURING": ("pending", False),
    "REQUEUED": ("pending", False),
    "REQUEUE_FED": ("pending", False),
    "REQUEUE_HOLD": ("pending", False),
    "RESV_DEL_HOLD": ("pending", False),
    "SPECIAL_EXIT": ("pending", False),
    "RUNNING": ("running", False),
    "COMPLETING": ("running", False),
    "SUSPENDED": ("running", False),
    "STOPPED": ("running", False),
    "RESIZING": ("running", False),
    "SIGNALING": ("running", False),
    "STAGE_OUT": ("running", False),
    "COMPLETED": ("completed", True),
    "FAILED": ("failed", True),
    "CANCELLED": ("cancelled", True),
    "CANCELLED by 1000": ("cancelled", True),
    "CANCELLED by 0": ("cancelled", True),
    "CANCELLED+": ("cancelled", True),
    "REVOKED": ("cancelled", True),
    "TIMEOUT": ("timeout", True),
    "DEADLINE": ("timeout", True),
    "OUT_OF_MEMORY": ("out_of_memory", True),
    "OUT_OF_ME+": ("unknown", False),  # truncated by a fixed-width sacct: not ours to guess
    "NODE_FAIL": ("node_fail", True),
    "BOOT_FAIL": ("node_fail", True),
    "PREEMPTED": ("preempted", True),
    "running": ("running", False),
    "  COMPLETED  ": ("completed", True),
    "PD": ("pending", False),
    "CG": ("running", False),
    "OOM": ("out_of_memory", True),
    "SOMETHING_NEW": ("unknown", False),
    "": ("unknown", False),
}


@pytest.mark.parametrize(("raw", "expected"), ALL_SLURM_STATES.items())
def test_map_state(raw: str, expected: tuple[str, bool]) -> None:
    assert slurm.map_state(raw) == expected


def test_state_map_targets_only_contract_states() -> None:
    assert {state for state, _ in slurm.STATE_MAP.values()} <= CONTRACT
    assert set(slurm.SHORT_STATES.values()) <= set(slurm.STATE_MAP)


# ---------------------------------------------------------------- builders


def test_sbatch_argv() -> None:
    assert slurm.sbatch_argv("run/job.sh") == ["sbatch", "--parsable", "run/job.sh"]
    assert slurm.sbatch_argv("job.sh", ["--dependency=afterok:1"]) == [
        "sbatch",
        "--parsable",
        "--dependency=afterok:1",
        "job.sh",
    ]


def test_squeue_argv_is_one_call_for_all_jobs() -> None:
    argv = slurm.squeue_argv(["12", "13_4", "14_[1-3%2]"])
    assert argv[:3] == ["env", "SLURM_TIME_FORMAT=%s", "squeue"]
    assert "--noheader" in argv
    assert "--states=all" in argv
    assert "--format=%i|%T|%S|%e|%r" in argv
    assert argv[-1] == "--jobs=12,13_4,14_[1-3%2]"


def test_sacct_argv_is_one_call_for_allocations() -> None:
    argv = slurm.sacct_argv(["12", "13"])
    assert argv[:3] == ["env", "SLURM_TIME_FORMAT=%s", "sacct"]
    assert {"-n", "-P", "-X"} <= set(argv)
    assert "--starttime=now-60days" in argv
    assert "--format=JobID,State,ExitCode,Start,End,Reason" in argv
    assert argv[-1] == "--jobs=12,13"
    assert "--starttime=2026-01-01" in slurm.sacct_argv(["1"], starttime="2026-01-01")


def test_scancel_argv() -> None:
    assert slurm.scancel_argv(["5", "6"]) == ["scancel", "5", "6"]


@pytest.mark.parametrize("bad", [[], ["--user=alice"], ["12 13"], ["12;rm -rf /"], ["abc"], [""]])
def test_builders_refuse_missing_or_odd_job_ids(bad: list[str]) -> None:
    for builder in (slurm.squeue_argv, slurm.sacct_argv, slurm.scancel_argv):
        with pytest.raises(ValueError):
            builder(bad)


# ---------------------------------------------------------------- sbatch


@pytest.mark.parametrize(
    ("stdout", "job_id"),
    [
        ("123\n", "123"),
        ("123;cluster\n", "123"),
        ("  77  ", "77"),
        ("warning: something site-specific\n456\n", "456"),
        ("456\n\n", "456"),
    ],
)
def test_parse_sbatch(stdout: str, job_id: str) -> None:
    assert slurm.parse_sbatch(stdout) == job_id


@pytest.mark.parametrize(
    "stdout", ["", "\n", "Submitted batch job 123", "sbatch: error: Batch job submission failed"]
)
def test_parse_sbatch_refuses_garbage(stdout: str) -> None:
    with pytest.raises(ValueError):
        slurm.parse_sbatch(stdout)


# ---------------------------------------------------------------- real captures

# role -> (state, final, exit code, reason) after merging squeue and sacct (README.md).
LIVE = {
    "completed": ("completed", True, 0, None),
    "failed": ("failed", True, 3, "NonZeroExitCode"),  # squeue's reason, sacct's code
    "running": ("running", False, None, None),
    "pending": ("pending", False, None, "BeginTime"),
    "held": ("pending", False, None, "JobHeldUser"),
    "timeout": ("running", False, None, None),
    "oom": ("failed", True, 137, "JobLaunchFailure"),
    "array": ("running", False, None, None),
    "array_mixed": ("failed", True, 2, "NonZeroExitCode"),
    "requeued": ("pending", False, None, "BeginTime"),
    "preempted_requeued": ("pending", False, None, "BeginTime"),
    "preempted_final": ("preempted", True, None, None),
    "preemptor": ("running", False, None, None),
}
FINISHED = {
    "completed": ("completed", True, 0, None),
    "failed": ("failed", True, 3, None),
    "running": ("cancelled", True, None, "cancelled by uid 1001"),
    "pending": ("cancelled", True, None, "cancelled by uid 1001"),
    "held": ("cancelled", True, None, "cancelled by uid 1001"),
    "timeout": ("timeout", True, None, None),
    "oom": ("failed", True, 137, None),
    "array": ("completed", True, 0, None),
    "array_mixed": ("failed", True, 2, None),
    "requeued": ("completed", True, 0, None),
    "preempted_requeued": ("completed", True, 0, None),
    "preempted_final": ("preempted", True, None, None),
    "preemptor": ("completed", True, 0, None),
}
SNAPSHOTS = {"live": LIVE, "finished": FINISHED, "purged": FINISHED}


def merged(snapshot: str) -> dict[str, JobStatus]:
    squeue = slurm.parse_squeue(capture(f"{snapshot}.squeue.stdout"))
    sacct = slurm.parse_sacct(capture(f"{snapshot}.sacct.stdout"))
    return slurm.merge_status(squeue, sacct, jobs().values())


@pytest.mark.parametrize(
    ("snapshot", "role"), [(snap, role) for snap, table in SNAPSHOTS.items() for role in table]
)
def test_captured_states(snapshot: str, role: str) -> None:
    status = merged(snapshot)[jobs()[role]]
    expected = SNAPSHOTS[snapshot][role]
    assert (status.state, status.final, status.exit_code, status.reason) == expected


def test_captures_cover_the_roles_the_tables_expect() -> None:
    assert set(jobs()) == set(LIVE) == set(FINISHED)


@pytest.mark.parametrize(
    "name",
    ["live.squeue", "live.sacct", "finished.squeue", "finished.sacct", "purged.sacct"],
)
def test_every_captured_state_word_is_known(name: str) -> None:
    parse = slurm.parse_squeue if name.endswith("squeue") else slurm.parse_sacct
    parsed = parse(capture(f"{name}.stdout"))
    assert parsed
    assert all(status.state != "unknown" for status in parsed.values())


def test_captured_squeue_details() -> None:
    ids = jobs()
    live = slurm.parse_squeue(capture("live.squeue.stdout"))
    pending_tasks = live[f"{ids['array']}_[2-3%2]"]
    assert (pending_tasks.state, pending_tasks.reason) == ("pending", "JobArrayTaskLimit")
    assert pending_tasks.started_at is None
    running = live[ids["running"]]
    assert running.started_at is not None and running.ended_at is None
    assert live[ids["failed"]].reason == "NonZeroExitCode"
    assert live[ids["completed"]].exit_code == 0  # COMPLETED implies 0
    assert live[ids["failed"]].exit_code is None  # squeue cannot know: sacct's job
    # A mix of known and purged ids: squeue prints only what it still knows, exit 0.
    finished = slurm.parse_squeue(capture("finished.squeue.stdout"))
    assert 0 < len(finished) < len(ids)
    assert slurm.parse_squeue(capture("purged.squeue.stdout")) == {}


def test_captured_sacct_details() -> None:
    ids = jobs()
    parsed = slurm.parse_sacct(capture("finished.sacct.stdout"))
    assert parsed[ids["running"]].raw_state == "CANCELLED by 1001"
    assert parsed[ids["pending"]].started_at is None  # cancelled before it ran
    # sacct's Reason of a job that ran is its old pending reason: dropped.
    assert parsed[ids["requeued"]].reason is None
    assert {key for key in parsed if slurm.base_job_id(key) == ids["array"]} == {
        f"{ids['array']}_{task}" for task in range(4)
    }
    timed_out = parsed[ids["timeout"]]
    assert timed_out.started_at is not None and timed_out.ended_at is not None
    assert timed_out.started_at < timed_out.ended_at
    assert timed_out.ended_at.endswith("Z")


def test_captured_sacct_with_cluster_local_times() -> None:
    epoch = slurm.parse_sacct(capture("finished.sacct.stdout"))
    iso = slurm.parse_sacct(capture("finished_iso.sacct.stdout"))
    assert set(epoch) == set(iso)
    for job_id, status in iso.items():
        assert (status.state, status.exit_code) == (epoch[job_id].state, epoch[job_id].exit_code)
        if status.ended_at is not None:
            assert not status.ended_at.endswith("Z")  # the zone is unknown: left as printed


def test_captured_sbatch() -> None:
    assert slurm.parse_sbatch(capture("sbatch_parsable.stdout")) == jobs()["completed"]
    with pytest.raises(ValueError):
        slurm.parse_sbatch(capture("bad_partition.sbatch.stdout"))


@pytest.mark.parametrize(
    ("name", "transient", "invalid_id"),
    [
        ("unreachable.squeue", True, False),
        ("unreachable.sacct", True, False),
        ("purged_single.squeue", False, True),
        ("bad_partition.sbatch", False, False),
    ],
)
def test_captured_errors(name: str, transient: bool, invalid_id: bool) -> None:
    stderr = capture(f"{name}.stderr")
    assert slurm.is_transient_error(stderr) is transient
    assert slurm.is_invalid_job_id(stderr) is invalid_id
    assert capture(f"{name}.stdout") == ""


def test_captured_commands_are_the_builders_argv() -> None:
    commands = json.loads(capture("commands.json"))
    ids = list(jobs().values())
    assert commands["live.squeue"]["argv"] == slurm.squeue_argv(ids)
    assert commands["live.sacct"]["argv"] == slurm.sacct_argv(ids)
    assert commands["purged_single.squeue"]["returncode"] == 1
    assert commands["purged.squeue"]["returncode"] == 0
    assert commands["purged.scancel"] == {
        "argv": slurm.scancel_argv([jobs()["completed"]]),
        "returncode": 0,
    }


# ---------------------------------------------------------------- hand-written tables
# Written by hand (not captured): other spellings and shapes the parsers must accept.

HAND_SQUEUE = """
101|RUNNING|1795355137|1795358737|None

  102|PENDING|N/A|N/A|Priority \t
108 | RUNNING | 1795355137 | 1795358737 | None
103_[5-9]|PENDING|1795355999|NONE|JobArrayTaskLimit
103_4|RUNNING|1795355137|1795358737|None
104|COMPLETED|1795355137|1795355141|None
105|TIMEOUT|2026-11-22T13:45:44|2026-11-22T13:47:21|TimeLimit
106|SUSPENDED|1795355137|1795358737|None
107|CANCELLED|1795355137|1795355141|Nodes required for job are DOWN, DRAINED | or reserved
"""


def test_parse_squeue_hand_written() -> None:
    parsed = slurm.parse_squeue(HAND_SQUEUE)
    assert set(parsed) == {"101", "102", "103_[5-9]", "103_4", "104", "105", "106", "107", "108"}
    assert parsed["101"] == JobStatus(
        "101", "running", "RUNNING", False, None, None, "2026-11-22T13:45:37Z", None
    )
    assert parsed["102"].reason == "Priority"
    assert parsed["108"] == replace(parsed["101"], job_id="108")
    assert parsed["102"].started_at is None
    assert parsed["104"].exit_code == 0
    assert parsed["104"].ended_at == "2026-11-22T13:45:41Z"
    assert parsed["105"].ended_at == "2026-11-22T13:47:21"  # no SLURM_TIME_FORMAT: kept
    assert parsed["105"].exit_code is None
    assert parsed["107"].reason == "Nodes required for job are DOWN, DRAINED | or reserved"


HAND_SACCT = """
201|COMPLETED|0:0|1795355137|1795355141|None
202|FAILED|3:0|1795355137|1795355141|None
203|CANCELLED by 1000|0:15|1795355137|1795355141|None
204|TIMEOUT|0:15|1795355137|1795355241|None
205|OUT_OF_MEMORY|0:125|1795355137|1795355141|None
206|NODE_FAIL|1:0|1795355137|1795355141|None
207|PENDING|0:0|Unknown|Unknown|BeginTime
207.batch|CANCELLED|0:15|1795355137|1795355141|
208|RUNNING|0:0|1795355137|Unknown|None
209|FAILED|2:9|1795355137|1795355141|None
210|CANCELLED by 0|0:0|None|1795355141|None
"""


@pytest.mark.parametrize(
    ("job_id", "state", "final", "exit_code"),
    [
        ("201", "completed", True, 0),
        ("202", "failed", True, 3),
        ("203", "cancelled", True, 143),
        ("204", "timeout", True, 143),
        ("205", "out_of_memory", True, 253),
        ("206", "node_fail", True, 1),
        ("207", "pending", False, None),
        ("208", "running", False, None),
        ("209", "failed", True, 2),
        ("210", "cancelled", True, None),
    ],
)
def test_parse_sacct_hand_written(
    job_id: str, state: str, final: bool, exit_code: int | None
) -> None:
    parsed = slurm.parse_sacct(HAND_SACCT)
    assert "207.batch" not in parsed
    status = parsed[job_id]
    assert (status.state, status.final, status.exit_code) == (state, final, exit_code)


def test_parse_sacct_details() -> None:
    parsed = slurm.parse_sacct(HAND_SACCT)
    assert parsed["203"].reason == "cancelled by uid 1000"
    assert parsed["203"].raw_state == "CANCELLED by 1000"
    assert parsed["207"].reason == "BeginTime"
    assert parsed["207"].started_at is None
    assert parsed["208"].started_at == "2026-11-22T13:45:37Z"
    assert parsed["208"].ended_at is None
    assert parsed["210"].started_at is None


def test_parse_sacct_last_record_wins() -> None:
    text = "5|PREEMPTED|0:0|1|2|None\n5|COMPLETED|0:0|3|4|None\n"
    assert slurm.parse_sacct(text)["5"].state == "completed"


@pytest.mark.parametrize("parser", [slurm.parse_squeue, slurm.parse_sacct])
def test_parsers_accept_empty_output(parser: object) -> None:
    assert parser("") == {}  # type: ignore[operator]
    assert parser("\n  \n") == {}  # type: ignore[operator]


@pytest.mark.parametrize("parser", [slurm.parse_squeue, slurm.parse_sacct])
def test_parsers_refuse_lines_of_another_format(parser: object) -> None:
    with pytest.raises(ValueError, match="unexpected"):
        parser("             JOBID PARTITION     NAME     USER ST\n")  # type: ignore[operator]


# ---------------------------------------------------------------- merging


def status(job_id: str, raw: str, exit_code: int | None = None) -> JobStatus:
    state, final = slurm.map_state(raw)
    return JobStatus(job_id, state, raw, final, exit_code)


def test_merge_squeue_wins_while_it_lists_the_job() -> None:
    merged = slurm.merge_status({"1": status("1", "RUNNING")}, {"1": status("1", "PENDING")}, ["1"])
    assert merged["1"].state == "running"


def test_merge_falls_back_to_sacct_then_unknown() -> None:
    merged = slurm.merge_status({}, {"2": status("2", "FAILED", 3)}, ["2", "3"])
    assert (merged["2"].state, merged["2"].exit_code) == ("failed", 3)
    assert merged["3"].state == "unknown"
    assert merged["3"].final is False  # never assumed completed


def test_merge_takes_sacct_exit_code_for_a_job_squeue_shows_finished() -> None:
    squeue = {"4": status("4", "FAILED")}
    merged = slurm.merge_status(squeue, {"4": status("4", "FAILED", 3)}, ["4"])
    assert merged["4"].exit_code == 3
    lagging = slurm.merge_status(squeue, {"4": status("4", "RUNNING")}, ["4"])
    assert (lagging["4"].state, lagging["4"].final) == ("failed", True)


def test_merge_aggregates_array_tasks() -> None:
    live = {"9_[2-3]": status("9_[2-3]", "PENDING"), "9_1": status("9_1", "RUNNING")}
    assert slurm.merge_status(live, {}, ["9"])["9"].state == "running"
    ended = {
        "9_0": status("9_0", "COMPLETED", 0),
        "9_1": status("9_1", "FAILED", 2),
        "9_2": status("9_2", "COMPLETED", 0),
    }
    cancelled = {"8_0": status("8_0", "CANCELLED"), "8_1": status("8_1", "COMPLETED", 0)}
    assert slurm.merge_status({}, cancelled, ["8"])["8"].exit_code is None
    merged = slurm.merge_status({}, ended, ["9", "9_2"])
    assert (merged["9"].state, merged["9"].final, merged["9"].exit_code) == ("failed", True, 2)
    assert merged["9_2"].state == "completed"
    assert slurm.merge_status({}, {"90": status("90", "COMPLETED")}, ["9"])["9"].state == (
        "unknown"
    )


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "stderr",
    [
        "slurm_load_jobs error: Unable to contact slurm controller (connect failure)",
        "squeue: error: Socket timed out on send/recv operation",
        "sacct: error: slurm_persist_conn_open_without_init: failed to open persistent "
        "connection to host:head:6819: Connection refused",
        "sacct: error: Sending PersistInit msg: Connection refused",
        "sacct: error: Problem talking to the database: Connection refused",
        "slurmdbd: Connection refused",
        "squeue: error: Zero Bytes were transmitted or received",
        "sbatch: error: Slurm temporarily unable to accept job, sleeping and retrying.",
        "slurm_load_jobs error: Slurm backup controller in standby mode",
    ],
)
def test_transient_errors(stderr: str) -> None:
    assert slurm.is_transient_error(stderr)


@pytest.mark.parametrize(
    "stderr",
    [
        "slurm_load_jobs error: Invalid job id specified",
        "sbatch: error: invalid partition specified: nosuch",
        "sbatch: error: Batch job submission failed: Invalid account or account/partition",
        "scancel: error: Kill job error on job id 5: Invalid job id specified",
        "",
    ],
)
def test_real_errors_are_not_transient(stderr: str) -> None:
    assert not slurm.is_transient_error(stderr)


def test_invalid_job_id() -> None:
    assert slurm.is_invalid_job_id("slurm_load_jobs error: Invalid job id specified\n")
    assert not slurm.is_invalid_job_id("Unable to contact slurm controller")


def test_base_job_id() -> None:
    assert [slurm.base_job_id(i) for i in ("7", "7_3", "7_[1-4]", "7+1")] == ["7"] * 4
