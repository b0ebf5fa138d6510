"""The timing loop the benchmarks' summary tables share (pytest-benchmark
does the timing of the benchmark tests themselves)."""

from __future__ import annotations

import time
from typing import Callable


def best_of(fn: Callable[..., object], *args: object, rounds: int = 3) -> float:
    """The shortest wall time in seconds of ``rounds`` calls ``fn(*args)``:
    the least disturbed by the other work of a shared machine."""
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best
