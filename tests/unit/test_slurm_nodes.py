"""The node listing (sinfo --Node) and the comparison of a job's request against the
largest node of its partition (hpcrun.schedulers.slurm_nodes), on the real capture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpcrun.schedulers.slurm_nodes import (
    Largest,
    over_capacity,
    over_time_limit,
    parse_sinfo_nodes,
    partition_of,
    requested_gpus,
    sinfo_nodes_argv,
    summary,
    time_refusals,
)

DATA = Path(__file__).parents[1] / "data" / "slurm"
CAPTURED = (DATA / "nodes.sinfo.stdout").read_text()


def test_argv_is_the_captured_one() -> None:
    commands = json.loads((DATA / "commands.json").read_text())
    assert commands["nodes.sinfo"]["argv"] == sinfo_nodes_argv()


def test_parse_the_real_cluster() -> None:
    capacity = parse_sinfo_nodes(CAPTURED)
    assert capacity.default == "main"
    assert set(capacity.partitions) == {"main", "preempt", "short"}
    main = capacity.partitions["main"]
    assert (main.cpus, main.mem_mib, main.nodes) == (8, 8000, 1)
    assert main.gpus == {"a100": 2, "v100": 2, "": 4}
    assert (main.time_limit, main.time_limit_s) == ("infinite", None)
    short = capacity.partitions["short"]  # MaxTime=5 in slurm.conf; sinfo prints M:SS
    assert (short.time_limit, short.time_limit_s) == ("5:00", 300)
    assert summary(capacity)["main"] == (
        "1 node(s), largest 8 CPUs, 8000 MiB, 2 a100, 2 v100, MaxTime infinite"
    )
    assert summary(capacity)["short"].endswith(", MaxTime 5:00")


def test_parse_takes_the_largest_of_each_dimension() -> None:
    # hand-written (labelled): a bigger cluster, sinfo's '+', N/A and socket suffixes
    text = (
        "cpu1|batch*|64|256000|(null)|1-00:00:00\n"
        "cpu2|batch*|128+|192000|(null)|1-00:00:00\n"
        "gpu1|gpu|32|512000|gpu:a100:4(S:0-1)|2:00:00\n"
        "gpu2|gpu|48|N/A|gpu:8|2:00:00\n"
        "old|format|1|1|(null)\n"
        "garbage line\n"
        "\n"
    )
    capacity = parse_sinfo_nodes(text)
    batch, gpu = capacity.partitions["batch"], capacity.partitions["gpu"]
    assert (batch.cpus, batch.mem_mib, batch.gpus, batch.nodes) == (128, 256000, {}, 2)
    assert (gpu.cpus, gpu.mem_mib, gpu.gpus) == (48, 512000, {"a100": 4, "": 8})
    assert partition_of(capacity, None) == ("batch", batch)
    assert partition_of(capacity, "gpu") == ("gpu", gpu)
    assert partition_of(capacity, "nosuch") is None
    assert "format" not in capacity.partitions  # a line without the time limit is skipped
    assert (batch.time_limit_s, gpu.time_limit_s) == (86400, 7200)


@pytest.mark.parametrize(
    ("gres", "expected"),
    [(None, None), ("gpu:a100:2", ("a100", 2)), ("gpu:3", ("", 3)), ("shard:2", None)],
)
def test_requested_gpus(gres: str | None, expected: tuple[str, int] | None) -> None:
    assert requested_gpus(gres) == expected


NODE = Largest(cpus=8, mem_mib=8000, gpus={"a100": 2, "v100": 2, "": 4}, nodes=1)


def over(**request: object) -> list[str]:
    values = {"cpus": None, "mem_mib": None, "gres": None, **request}
    return over_capacity(largest=NODE, where="partition 'main'", **values)  # type: ignore[arg-type]


def test_requests_that_fit() -> None:
    assert over() == []
    assert over(cpus=8, mem_mib=8000, gres="gpu:a100:2") == []
    assert over(gres="gpu:4") == []


def test_requests_beyond_every_node_name_the_largest() -> None:
    assert over(cpus=100000) == [
        "100000 CPUs per task, but the largest node of partition 'main' has 8"
    ]
    assert over(mem_mib=16384) == [
        "16 GiB of memory, but the largest node of partition 'main' has 8000 MiB"
    ]
    assert over(gres="gpu:a100:3") == [
        "3 a100 GPUs, but the largest node of partition 'main' has 2"
    ]
    assert over(gres="gpu:h100:1") == [
        "1 h100 GPUs, but the largest node of partition 'main' has 0"
    ]
    assert len(over(cpus=9, mem_mib=9000, gres="gpu:5")) == 3


def test_unknown_sizes_are_not_checked() -> None:
    unknown = Largest()  # sinfo said N/A everywhere
    assert over_capacity(cpus=10**6, mem_mib=10**9, gres=None, largest=unknown, where="x") == []


def test_time_limits_against_the_real_partitions() -> None:
    capacity = parse_sinfo_nodes(CAPTURED)
    short, main = capacity.partitions["short"], capacity.partitions["main"]
    assert over_time_limit("00:05:00", short, "partition 'short'") is None
    assert over_time_limit("00:05:01", short, "partition 'short'") == (
        "--time 00:05:01 is over the MaxTime 00:05:00 of partition 'short'"
    )
    assert over_time_limit("30-00:00:00", main, "partition 'main'") is None  # infinite
    assert over_time_limit(None, short, "x") is None
    assert time_refusals(capacity, "00:10:00") == {"short": "00:05:00"}
    assert time_refusals(capacity, "5") == {}
