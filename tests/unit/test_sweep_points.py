"""Sweep points and chunks: product order, include/exclude, identities, array chunks."""

from __future__ import annotations

import hashlib
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpcrun.spec.sweep import SweepSpec
from hpcrun.sweep.chunks import ChunkingError, chunk_capacity, chunk_id, split
from hpcrun.sweep.points import expand, make_point, matches, point_id
from hpcrun.sweep.table import parse_table, render_table

names = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)
values = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r\x00"),
    max_size=6,
)
matrices = st.dictionaries(
    names, st.lists(values, min_size=1, max_size=4, unique=True), min_size=1, max_size=4
).filter(lambda m: len({k.upper() for k in m}) == len(m))


def test_point_identity_is_pinned() -> None:
    """Changing how identities are computed would re-run every finished point."""
    assert point_id("train", {"lr": "0.1", "bs": "32"}) == point_id(
        "train", {"bs": "32", "lr": "0.1"}
    )
    # sha256 of the canonical JSON ["train",[["bs","32"],["lr","0.1"]]], 16 hex digits
    canonical = b'["train",[["bs","32"],["lr","0.1"]]]'
    assert hashlib.sha256(canonical).hexdigest()[:16] == "0aa87c5b5b9f88c3"
    assert point_id("train", {"lr": "0.1", "bs": "32"}) == "0aa87c5b5b9f88c3"


def test_product_order_excludes_and_includes() -> None:
    sweep = SweepSpec(
        matrix={"lr": ["0.1", "0.01"], "bs": ["32", "64"]},
        exclude=[{"lr": "0.1", "bs": "64"}],
        include=[{"bs": "16", "lr": "0.5"}, {"lr": "0.01", "bs": "32"}],  # 2nd: a duplicate
    )
    labels = [p.label for p in expand("w", sweep)]
    assert labels == ["lr=0.1,bs=32", "lr=0.01,bs=32", "lr=0.01,bs=64", "lr=0.5,bs=16"]


def test_an_include_is_never_excluded() -> None:
    sweep = SweepSpec(matrix={"lr": ["1", "2"]}, exclude=[{"lr": "1"}], include=[{"lr": "1"}])
    assert [p.label for p in expand("w", sweep)] == ["lr=2", "lr=1"]


def test_include_only_sweep() -> None:
    sweep = SweepSpec(include=[{"a": "1", "b": "x"}, {"b": "y", "a": "2"}])
    assert [p.values for p in expand("w", sweep)] == [
        (("a", "1"), ("b", "x")),
        (("a", "2"), ("b", "y")),
    ]


@settings(max_examples=60, deadline=None)
@given(matrix=matrices)
def test_product_size_and_unique_identities(matrix: dict[str, list[str]]) -> None:
    points = expand("w", SweepSpec(matrix=matrix))
    assert len(points) == math.prod(len(v) for v in matrix.values())
    assert len({p.id for p in points}) == len(points)
    # stable: the same values in another key order give the same identities
    reordered = dict(reversed(list(matrix.items())))
    assert {p.id for p in expand("w", SweepSpec(matrix=reordered))} == {p.id for p in points}
    # the workflow name is part of the identity
    assert not {p.id for p in expand("other", SweepSpec(matrix=matrix))} & {p.id for p in points}


@settings(max_examples=60, deadline=None)
@given(matrix=matrices, data=st.data())
def test_exclude_drops_exactly_the_matching_points(matrix: dict[str, list[str]], data) -> None:
    keys = data.draw(st.lists(st.sampled_from(sorted(matrix)), min_size=1, unique=True))
    pattern = {k: data.draw(st.sampled_from(matrix[k])) for k in keys}
    full = expand("w", SweepSpec(matrix=matrix))
    kept = expand("w", SweepSpec(matrix=matrix, exclude=[pattern]))
    assert kept == [p for p in full if not matches(p.params, pattern)]
    assert len(full) - len(kept) == math.prod(len(matrix[k]) for k in matrix if k not in pattern)


@settings(max_examples=40, deadline=None)
@given(matrix=matrices)
def test_table_round_trip(matrix: dict[str, list[str]]) -> None:
    points = expand("w", SweepSpec(matrix=matrix))
    parameters, parsed = parse_table(render_table(tuple(matrix), points))
    assert parameters == tuple(matrix)
    assert parsed == points


# --- chunks ----------------------------------------------------------------------------


def points_of(count: int) -> list:
    return [make_point("w", ("i",), {"i": str(i)}) for i in range(count)]


def test_capacity_follows_max_array_size() -> None:
    # MaxArraySize=1001 allows indices 0..1000: 1001 tasks in an array indexed from 0
    assert chunk_capacity(1001) == 1001
    assert chunk_capacity(1001, max_tasks=300) == 300
    assert chunk_capacity(5, max_tasks=300) == 5
    with pytest.raises(ChunkingError, match="does not allow job arrays"):
        chunk_capacity(0)
    with pytest.raises(ChunkingError):
        chunk_capacity(10, max_tasks=0)


@settings(max_examples=60, deadline=None)
@given(count=st.integers(0, 60), size=st.integers(1, 25), cap=st.none() | st.integers(1, 30))
def test_split_covers_every_point_once(count: int, size: int, cap: int | None) -> None:
    points = points_of(count)
    chunks = split("s", points, size, cap)
    capacity = min(size, cap or size)
    assert [p for c in chunks for p in c.points] == points
    assert all(1 <= c.size <= capacity for c in chunks)
    assert len(chunks) == math.ceil(count / capacity)
    # every index of every chunk is below MaxArraySize
    assert all(c.array_spec().split("-")[1] == str(c.size - 1) for c in chunks)
    assert all(c.size - 1 < size for c in chunks)
    assert split("s", points, size, cap) == chunks  # deterministic
    assert len({c.id for c in chunks}) == len(chunks)


def test_chunk_names_and_array_spec() -> None:
    (chunk,) = split("train", points_of(4), 1001)
    assert chunk.id == chunk_id("train", [p.id for p in points_of(4)])
    assert chunk.job_name == f"hpcrun-sweep.train.{chunk.id}"
    assert chunk.comment == f"hpcrun sweep=train chunk={chunk.id} points=4"
    assert chunk.array_spec() == "0-3"
    assert chunk.array_spec(2) == "0-3%2"
    assert chunk.array_spec(4) == "0-3"  # a throttle that limits nothing is left out
    assert chunk.sbatch_options(2) == (
        "--array=0-3%2", f"--job-name={chunk.job_name}", f"--comment={chunk.comment}",
    )  # fmt: skip
    # another sweep name or other points: another chunk
    assert split("other", points_of(4), 1001)[0].id != chunk.id
    assert split("train", points_of(5), 1001)[0].id != chunk.id


@settings(max_examples=300, deadline=None)
@given(
    st.text(),
    st.dictionaries(st.text(), st.text(alphabet=st.characters(exclude_categories=("Cs",)))),
)
def test_point_id_is_the_documented_json_hash(workflow: str, values: dict[str, str]) -> None:
    """Built without json.dumps for speed, the id is still exactly the documented hash."""
    import json

    canonical = json.dumps(
        [workflow, sorted((str(k), str(v)) for k, v in values.items())],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    try:
        expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
    except UnicodeEncodeError:  # a lone surrogate in the workflow name or a key
        with pytest.raises(UnicodeEncodeError):
            point_id(workflow, values)
        return
    assert point_id(workflow, values) == expected


def test_has_points_agrees_with_expand() -> None:
    from hpcrun.sweep.points import has_points

    cases = [
        {"matrix": {"a": ["1", "2"]}, "exclude": [{"a": "1"}, {"a": "2"}]},
        {"matrix": {"a": ["1", "2"]}, "exclude": [{"a": "1"}]},
        {"matrix": {"a": ["1"]}, "exclude": [{"a": "1"}], "include": [{"a": "3"}]},
    ]
    for case in cases:
        sweep = SweepSpec.model_validate(case)
        assert has_points(sweep) == bool(expand("w", sweep)), case
