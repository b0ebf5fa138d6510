"""Small helpers shared by the modules: thread fan-out (atomic output files
are in :mod:`spoolkit.output`, re-exported here)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Callable, Optional, TypeVar

from .output import atomic_output, atomic_outputs

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Threads for C work that releases the GIL: one per available core."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def map_threads(fn: Callable[[T], R], items: Iterable[T],
                workers: Optional[int] = None) -> list[R]:
    """``list(map(fn, items))`` on a thread pool, in order; the first
    exception propagates.  Worth it only when ``fn`` spends its time in C
    calls that release the GIL."""
    items = list(items)
    n = min(workers or default_workers(), len(items))
    if n <= 1:
        return [fn(i) for i in items]
    from concurrent.futures import ThreadPoolExecutor  # not at import: costs every command

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, items))


__all__ = ["atomic_output", "atomic_outputs", "default_workers", "map_threads"]
