"""What a finished job used: sacct's usage fields parsed from a real capture
(tests/data/slurm/efficiency.sacct.stdout, see README.md), Slurm's unit formats, and the
``used ...`` line and memory hint built from the figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpcrun import efficiency
from hpcrun.ops.backends import local_usage
from hpcrun.schedulers import slurm
from hpcrun.schedulers import slurm_efficiency as usage

DATA = Path(__file__).resolve().parents[1] / "data" / "slurm"
JOBS = json.loads((DATA / "efficiency_jobs.json").read_text())
MiB, GiB = 2**20, 2**30


def capture() -> str:
    return (DATA / "efficiency.sacct.stdout").read_text()


def test_the_poll_sacct_asks_for_usage_and_steps_in_one_call() -> None:
    argv = usage.sacct_argv(["12", "13"])
    plain = slurm.sacct_argv(["12", "13"])
    assert "-X" in plain and "-X" not in argv  # MaxRSS lives on the steps
    fields = next(a for a in argv if a.startswith("--format=")).removeprefix("--format=")
    assert fields.split(",") == list(usage.FIELDS)
    assert fields.split(",")[-1] == "Reason"  # the free-text column stays last
    assert {"MaxRSS", "ReqMem", "TotalCPU", "Elapsed", "AllocTRES", "NodeList", "AllocCPUS"} <= set(
        fields.split(",")
    )
    assert [a for a in argv if not a.startswith("--format=")] == [
        a for a in plain if a not in ("-X",) and not a.startswith("--format=")
    ]
    commands = json.loads((DATA / "commands.json").read_text())
    assert commands["efficiency.sacct"]["argv"] == usage.sacct_argv(JOBS.values())


def test_states_from_the_usage_sacct_match_the_plain_parser() -> None:
    text, _ = usage.split_sacct(capture())
    states = slurm.parse_sacct(text)
    assert {job: s.state for job, s in states.items()} == {
        JOBS["busy"]: "completed",
        JOBS["per_cpu"]: "completed",
        JOBS["failed"]: "failed",
        JOBS["never_started"]: "cancelled",
    }
    assert states[JOBS["failed"]].exit_code == 3
    assert states[JOBS["never_started"]].reason == "cancelled by uid 1001"


def test_figures_of_a_real_busy_job() -> None:
    _, figures = usage.split_sacct(capture())
    busy = figures[JOBS["busy"]]
    assert busy == {
        "source": "sacct",
        "elapsed_s": 3.0,
        "cpu_s": 2.744,
        "cpus": 2,
        "cpu_efficiency": round(2.744 / 6, 4),
        "max_rss_bytes": 70856 * 1024,  # the batch step's 70856K
        "req_mem_bytes": 200 * MiB,
        "mem_efficiency": round(70856 * 1024 / (200 * MiB), 4),
        "nodes": "node1",
        "alloc_tres": "billing=2,cpu=2,mem=200M,node=1",
    }


def test_the_peak_is_the_largest_step_and_per_cpu_requests_are_totals() -> None:
    _, figures = usage.split_sacct(capture())
    per_cpu = figures[JOBS["per_cpu"]]  # --mem-per-cpu=100M -c 2: Slurm 22.05 prints 200M
    assert per_cpu["req_mem_bytes"] == 200 * MiB
    assert per_cpu["max_rss_bytes"] == 10788 * 1024  # batch 10788K beats the srun step's 1428K
    assert figures[JOBS["failed"]]["max_rss_bytes"] == 2756 * 1024
    assert JOBS["never_started"] not in figures  # cancelled while queued: used nothing


# Hand-written (labelled): formats of older Slurm versions and of other sites.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234K", 1234 * 1024),
        ("12M", 12 * MiB),
        ("1.5G", int(1.5 * GiB)),
        ("2T", 2 * 2**40),
        ("512", 512),
        ("0", 0),
        ("", None),
        ("16?", None),
        ("4Gc", None),
    ],
)
def test_parse_size(text: str, expected: int | None) -> None:
    assert usage.parse_size(text) == expected


@pytest.mark.parametrize(
    ("text", "cpus", "nodes", "expected"),
    [
        ("16G", 4, 1, 16 * GiB),
        ("4000M", 4, 1, 4000 * MiB),
        ("16Gn", 8, 2, 32 * GiB),  # per node, before Slurm 21.08
        ("16Gn", 8, None, 16 * GiB),
        ("4Gc", 4, 1, 16 * GiB),  # per CPU, before Slurm 21.08
        ("4Gc", None, 1, None),
        ("1000", 1, 1, 1000 * MiB),  # sacct's unit for ReqMem is MiB
        ("16?", 1, 1, None),  # seen on a job cancelled while queued (22.05)
        ("", 1, 1, None),
    ],
)
def test_parse_req_mem(
    text: str, cpus: int | None, nodes: int | None, expected: int | None
) -> None:
    assert usage.parse_req_mem(text, cpus=cpus, nodes=nodes) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1-02:03:04", 86400 + 2 * 3600 + 3 * 60 + 4),
        ("02:03:04", 2 * 3600 + 3 * 60 + 4),
        ("12:34.567", 12 * 60 + 34.567),
        ("00:01", 1),
        ("00:00:00", 0),
        ("10-00:00:00", 10 * 86400),
        ("1-02:03", 86400 + 2 * 3600 + 3 * 60),
        ("", None),
        ("INVALID", None),
        ("Unknown", None),
    ],
)
def test_parse_duration(text: str, seconds: float | None) -> None:
    expected = None if seconds is None else pytest.approx(seconds)
    assert usage.parse_duration(text) == expected


def test_an_old_slurm_line_with_a_per_node_request() -> None:
    fields = dict.fromkeys(usage.FIELDS, "")
    job = {
        **fields,
        "JobID": "77",
        "State": "COMPLETED",
        "ExitCode": "0:0",
        "Elapsed": "1-00:00:00",
        "TotalCPU": "2-00:00:00",
        "ReqMem": "16Gn",
        "AllocTRES": "cpu=8,mem=32G,node=2",
        "NodeList": "gpu[1-2]",
        "AllocCPUS": "8",
    }
    step = {**job, "JobID": "77.0", "MaxRSS": "3.5G", "ReqMem": ""}  # fmt: skip
    text = "\n".join("|".join(row[name] for name in usage.FIELDS) for row in (job, step))
    _, figures = usage.split_sacct(text)
    assert figures["77"]["req_mem_bytes"] == 32 * GiB
    assert figures["77"]["max_rss_bytes"] == int(3.5 * GiB)
    assert figures["77"]["cpu_efficiency"] == 0.25 and figures["77"]["nodes"] == "gpu[1-2]"


@pytest.mark.parametrize("req_mem", ["", "0", "Unknown"])
def test_an_empty_request_falls_back_to_the_allocated_memory(req_mem: str) -> None:
    """sacct may leave ReqMem empty on a record slurmdbd has just written; AllocTRES has
    the job's memory."""
    job = {**dict.fromkeys(usage.FIELDS, ""), "JobID": "78", "State": "COMPLETED",
           "ExitCode": "0:0", "Elapsed": "00:00:10", "ReqMem": req_mem,
           "AllocTRES": "billing=1,cpu=1,mem=1G,node=1", "NodeList": "n1", "AllocCPUS": "1"}  # fmt: skip
    _, figures = usage.split_sacct("|".join(job[name] for name in usage.FIELDS))
    assert figures["78"]["req_mem_bytes"] == GiB


def test_a_short_line_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match="unexpected sacct line"):
        usage.split_sacct("1|COMPLETED|0:0\n")


# ---------------------------------------------------------------- the words shown


def test_the_used_line() -> None:
    used = efficiency.figures("sacct", elapsed_s=751, cpu_s=751 * 4 * 0.71, cpus=4,
                              max_rss_bytes=int(2.1 * GiB), req_mem_bytes=16 * GiB,
                              nodes="gpu-node-3")  # fmt: skip
    assert efficiency.summary(used) == (
        "used 2.1 GiB of 16 GiB memory (13%), CPU 71% of 4 cores, 12m31s on gpu-node-3"
    )
    assert efficiency.summary(None) is None
    assert efficiency.summary(efficiency.figures("sacct")) is None
    partial = efficiency.figures("local", elapsed_s=5, cpu_s=1, max_rss_bytes=300 * MiB)
    assert efficiency.summary(partial) == "used 300 MiB memory, 1s of CPU, 5s"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (4.4, "4s"),
        (59.6, "1m0s"),
        (751, "12m31s"),
        (3605, "1h0m5s"),
        (93784, "1d2h3m4s"),
    ],
)
def test_human_duration(seconds: float, text: str) -> None:
    assert efficiency.human_duration(seconds) == text


def test_the_memory_hint_names_a_value_to_try() -> None:
    low = efficiency.figures("sacct", max_rss_bytes=int(2.1 * GiB), req_mem_bytes=16 * GiB)
    hint = efficiency.memory_hint(low)
    assert hint is not None and "13% of the 16 GiB" in hint and "resources.memory: 4GiB" in hint
    small = efficiency.figures("local", max_rss_bytes=70 * MiB, req_mem_bytes=2 * GiB)
    assert "resources.memory: 256MiB" in (efficiency.memory_hint(small) or "")
    # a quarter or more, or a suggestion that would not be lower: no hint
    enough = efficiency.figures("sacct", max_rss_bytes=4 * GiB, req_mem_bytes=16 * GiB)
    assert efficiency.memory_hint(enough) is None
    tiny = efficiency.figures("sacct", max_rss_bytes=10 * MiB, req_mem_bytes=200 * MiB)
    assert efficiency.memory_hint(tiny) is None
    assert efficiency.memory_hint(efficiency.figures("sacct", req_mem_bytes=GiB)) is None


def test_suggested_memory_leaves_headroom() -> None:
    assert efficiency.suggested_memory(int(2.1 * GiB)) == (4 * GiB, "4GiB")
    assert efficiency.suggested_memory(600 * MiB) == (1 * GiB, "1GiB")
    assert efficiency.suggested_memory(100 * MiB) == (256 * MiB, "256MiB")
    assert efficiency.suggested_memory(300 * MiB) == (512 * MiB, "512MiB")


def test_the_local_wrapper_file_is_read_defensively(tmp_path: Path) -> None:
    assert local_usage.read_usage(tmp_path) is None
    (tmp_path / local_usage.USAGE_FILE).write_text("{not json")
    assert local_usage.read_usage(tmp_path) is None
    (tmp_path / local_usage.USAGE_FILE).write_text(
        json.dumps(
            {
                "elapsed_s": 2.0,
                "cpu_s": 1.0,
                "cpus": 2,
                "max_rss_bytes": "x",
                "req_mem_bytes": GiB,
                "nodes": "laptop",
            }
        )
    )
    used = local_usage.read_usage(tmp_path)
    assert used is not None and used["source"] == "local" and used["cpu_efficiency"] == 0.25
    assert used["max_rss_bytes"] is None and used["mem_efficiency"] is None
