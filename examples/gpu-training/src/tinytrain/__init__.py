"""A tiny model: y = w*x + b fitted by gradient descent, in plain Python (or PyTorch on a
GPU when it is installed), so the example runs anywhere in a second."""

from __future__ import annotations

import random


def dataset(n: int = 256, seed: int = 0) -> list[tuple[float, float]]:
    rng = random.Random(seed)
    return [(x, 3.0 * x + 0.5 + rng.gauss(0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(n))]


def epoch(params: dict[str, float], data: list[tuple[float, float]], lr: float) -> float:
    """One pass of gradient descent; returns the mean squared error before the step."""
    w, b = params["w"], params["b"]
    grad_w = grad_b = loss = 0.0
    for x, y in data:
        error = w * x + b - y
        loss += error * error
        grad_w += 2 * error * x
        grad_b += 2 * error
    n = len(data)
    params["w"] = w - lr * grad_w / n
    params["b"] = b - lr * grad_b / n
    return loss / n
