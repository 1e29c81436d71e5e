"""The benchmark's measuring helpers: sides alternate, ratios are pairwise medians."""

from __future__ import annotations

from collections.abc import Callable

from bench.timing import Samples, alternate


def test_sides_run_alternating() -> None:
    order: list[str] = []

    def side(name: str, value: float) -> Callable[[], float]:
        def measure() -> float:
            order.append(name)
            return value

        return measure

    samples = alternate({"a": side("a", 2.0), "b": side("b", 1.0)}, 3)
    assert order == ["a", "b", "a", "b", "a", "b"]
    assert samples.values == {"a": [2.0, 2.0, 2.0], "b": [1.0, 1.0, 1.0]}


def test_ratio_is_the_median_of_pairwise_ratios() -> None:
    # pairwise: 10/5=2, 3/1=3, 8/2=4 -> median 3; the ratio of the medians would be 8/2=4
    samples = Samples({"a": [10.0, 3.0, 8.0], "b": [5.0, 1.0, 2.0]})
    assert samples.ratio("a", "b") == 3.0
    assert samples.median("a") == 8.0
    assert samples.difference("a", "b") == 5.0  # 5, 2, 6
