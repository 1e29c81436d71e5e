"""Shared measuring helpers: sides run ALTERNATING (A B A B ...), figures are medians.

A single timing on a shared 2-core machine says little; alternating the sides spreads the
noise over both, and the median of the pairwise ratios A_i/B_i compares each A with the B
measured right next to it.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field


@dataclass
class Samples:
    """Repeated measurements of several sides, taken alternating."""

    values: dict[str, list[float]] = field(default_factory=dict)

    def median(self, side: str) -> float:
        return statistics.median(self.values[side])

    def ratio(self, a: str, b: str) -> float:
        """Median of the pairwise ratios a_i / b_i (the i-th A against the i-th B)."""
        pairs = [x / y for x, y in zip(self.values[a], self.values[b], strict=False) if y > 0]
        return statistics.median(pairs) if pairs else float("nan")

    def difference(self, a: str, b: str) -> float:
        """Median of the pairwise differences a_i - b_i."""
        return statistics.median(
            x - y for x, y in zip(self.values[a], self.values[b], strict=False)
        )


def alternate(sides: Mapping[str, Callable[[], float]], repeat: int) -> Samples:
    """Call every side once per round, in order, ``repeat`` rounds: A B C A B C ...
    Each callable returns its own measurement (seconds, bytes, RPCs...)."""
    samples = Samples({name: [] for name in sides})
    for _ in range(repeat):
        for name, measure in sides.items():
            samples.values[name].append(float(measure()))
    return samples


def per_call(action: Callable[[], object], calls: int) -> Callable[[], float]:
    """A measurement: seconds per call, averaged over a batch of ``calls`` calls (a single
    call of a few microseconds is below the clock's resolution)."""

    def measure() -> float:
        start = time.perf_counter()
        for _ in range(calls):
            action()
        return (time.perf_counter() - start) / calls

    return measure


@dataclass(frozen=True)
class ProcessTime:
    wall: float
    cpu: float  # user + sys of the process and its children
    returncode: int
    stdout: bytes


def run_process(
    argv: Sequence[str], env: Mapping[str, str] | None = None, cwd: str | None = None
) -> ProcessTime:
    """Run ``argv`` to its end; its wall time and CPU time (os.wait4's rusage)."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL, env=dict(env) if env is not None else None, cwd=cwd,
    )  # fmt: skip
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ProcessTime(wall, usage.ru_utime + usage.ru_stime, proc.returncode, out)


def wall_of(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Callable[[], float]:
    """A measurement: the wall time of a process that must succeed."""

    def measure() -> float:
        result = run_process(argv, env)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}")
        return result.wall

    return measure


def cpu_of(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Callable[[], float]:
    """A measurement: the user+sys time of a process that must succeed."""

    def measure() -> float:
        result = run_process(argv, env)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {result.returncode}")
        return result.cpu

    return measure
