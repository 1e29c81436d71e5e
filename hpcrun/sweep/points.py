"""The points of a sweep, each with a stable identity.

Order: the matrix product (first parameter varies slowest, values in the order written),
minus the excludes, then the includes; a point given twice is kept once (first place).

A point's identity is a hash of the workflow name and its parameter values, written
canonically (sorted by name, values as text, JSON), so it does not depend on the order of
keys in the file, on where the point comes from (matrix or include), nor on hpcrun's
version: a tick can tell a point it already ran from a new one after the sweep grows.
Pure standard library.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from json.encoder import encode_basestring as _json_string  # what json.dumps uses
from typing import Any

POINT_ID_CHARS = 16  # hex digits: 64 bits, collisions are out of reach for 100,000 points


@dataclass(frozen=True)
class Point:
    """One set of parameter values: ``values`` in the sweep's parameter order."""

    id: str
    values: tuple[tuple[str, str], ...]

    @property
    def params(self) -> dict[str, str]:
        return dict(self.values)

    @property
    def label(self) -> str:
        """Readable: ``lr=0.1,bs=32`` (not unique if values contain ',' or '=')."""
        return ",".join(f"{name}={value}" for name, value in self.values)


def point_id(workflow: str, values: Mapping[str, str]) -> str:
    """The identity of a point: stable across key order, code changes and machines.

    The sha256 of ``json.dumps([workflow, sorted(pairs)], ensure_ascii=False,
    separators=(",", ":"))``, built here from json's own string encoder: the same bytes,
    without the encoder's set-up per point (a 10,000-point sweep computes 10,000 ids)."""
    pairs = ",".join(
        f"[{_json_string(str(k))},{_json_string(str(v))}]"
        for k, v in sorted((str(k), str(v)) for k, v in values.items())
    )
    canonical = f"[{_json_string(workflow)},[{pairs}]]"
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:POINT_ID_CHARS]


def make_point(workflow: str, parameters: Sequence[str], values: Mapping[str, str]) -> Point:
    ordered = tuple((name, str(values[name])) for name in parameters)
    return Point(point_id(workflow, dict(ordered)), ordered)


def matches(values: Mapping[str, str], pattern: Mapping[str, str]) -> bool:
    """An exclude drops a point when every key it gives has the point's value."""
    return all(values.get(key) == value for key, value in pattern.items())


def has_points(sweep: Any) -> bool:
    """Whether ``expand`` would give any point (without computing them: it stops at the
    first combination the excludes keep)."""
    if sweep.include:
        return True
    if not sweep.matrix:
        return False
    names = tuple(sweep.matrix)
    for combination in itertools.product(*(sweep.matrix[name] for name in names)):
        values = dict(zip(names, combination, strict=True))
        if not any(matches(values, pattern) for pattern in sweep.exclude):
            return True
    return False


def expand(workflow: str, sweep: Any) -> list[Point]:
    """The points of ``sweep`` (a ``SweepSpec``, or anything with matrix/include/exclude
    and parameters) for the workflow named ``workflow``."""
    parameters = tuple(sweep.parameters)
    points: list[Point] = []
    seen: set[str] = set()

    def add(values: Mapping[str, str]) -> None:
        point = make_point(workflow, parameters, values)
        if point.id not in seen:
            seen.add(point.id)
            points.append(point)

    if sweep.matrix:
        names = tuple(sweep.matrix)
        for combination in itertools.product(*(sweep.matrix[name] for name in names)):
            values = dict(zip(names, combination, strict=True))
            if not any(matches(values, pattern) for pattern in sweep.exclude):
                add(values)
    for values in sweep.include:
        add(values)
    return points
