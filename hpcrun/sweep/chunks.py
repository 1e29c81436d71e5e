"""Split a sweep's points into Slurm job arrays ("chunks"), each with a name Slurm keeps.

Slurm's ``MaxArraySize`` bounds the array INDEX: indices must be below it (the default
1001 allows 0..1000). Every chunk is indexed from 0, so a chunk holds at most
``MaxArraySize`` points; ``SchedulerParameters=max_array_tasks`` (or a submit limit) can
cap the number of tasks further (``max_tasks``).

A chunk's identity is a hash of the sweep's name and of its points' identities, in order:
chunking the same pending points again gives the same chunks, so a tick that died after
sbatch can find its array in squeue/sacct by job name (or ``--comment``) instead of
submitting it twice. Pure standard library.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

from hpcrun.sweep.points import Point

CHUNK_ID_CHARS = 12
JOB_NAME_PREFIX = "hpcrun-sweep"
_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class ChunkingError(ValueError):
    """The cluster does not allow job arrays (MaxArraySize=0) or a limit is not positive."""


@dataclass(frozen=True)
class Chunk:
    """One job array: ``points[i]`` runs as array task ``i``."""

    sweep: str
    id: str
    points: tuple[Point, ...]

    @property
    def size(self) -> int:
        return len(self.points)

    @property
    def job_name(self) -> str:
        """``--job-name`` of the array: unique per chunk, found again by ``squeue --name``."""
        return f"{JOB_NAME_PREFIX}.{_NAME_UNSAFE.sub('_', self.sweep)}.{self.id}"[:200]

    @property
    def comment(self) -> str:
        """``--comment``: the same facts, for people reading squeue/sacct."""
        return f"hpcrun sweep={self.sweep} chunk={self.id} points={self.size}"

    def array_spec(self, max_parallel: int | None = None) -> str:
        """``--array``: indices ``0-(n-1)``, throttled with ``%N`` when that limits anything."""
        spec = f"0-{self.size - 1}"
        if max_parallel is not None and max_parallel < self.size:
            spec += f"%{max_parallel}"
        return spec

    def sbatch_options(self, max_parallel: int | None = None) -> tuple[str, ...]:
        """The options the tick passes to sbatch for this chunk (they override the script's
        own ``#SBATCH --job-name``)."""
        return (
            f"--array={self.array_spec(max_parallel)}",
            f"--job-name={self.job_name}",
            f"--comment={self.comment}",
        )


def chunk_id(sweep: str, point_ids: Sequence[str]) -> str:
    canonical = json.dumps([sweep, list(point_ids)], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:CHUNK_ID_CHARS]


def chunk_capacity(max_array_size: int, max_tasks: int | None = None) -> int:
    """How many points one array may hold: indices 0..MaxArraySize-1, at most max_tasks."""
    if max_array_size < 1:
        raise ChunkingError(
            f"MaxArraySize={max_array_size}: this cluster does not allow job arrays"
        )
    if max_tasks is not None and max_tasks < 1:
        raise ChunkingError(f"the per-chunk task limit must be at least 1, got {max_tasks}")
    return max_array_size if max_tasks is None else min(max_array_size, max_tasks)


def split(
    sweep: str, points: Sequence[Point], max_array_size: int, max_tasks: int | None = None
) -> list[Chunk]:
    """``points`` (in order) in consecutive chunks of at most ``chunk_capacity`` points.

    ``sweep`` names the sweep uniquely for its user (the tick chooses it): two sweeps with
    the same name and the same points would have the same chunk names."""
    capacity = chunk_capacity(max_array_size, max_tasks)
    chunks = []
    for start in range(0, len(points), capacity):
        members = tuple(points[start : start + capacity])
        chunks.append(Chunk(sweep, chunk_id(sweep, [p.id for p in members]), members))
    return chunks
