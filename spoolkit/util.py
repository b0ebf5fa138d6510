"""Small helpers shared by the modules: atomic output files, thread fan-out."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str]) -> Iterator[list[str]]:
    """Yield temporary files next to ``paths``; rename them into place only
    when the block completes, delete them when it raises.

    Readers never see a half-written output: either the old files (or none)
    or the complete new ones.
    """
    tmps: list[str] = []
    try:
        for p in paths:
            d = os.path.dirname(os.path.abspath(p))
            fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(p) + ".", suffix=".tmp",
                                       dir=d)
            os.close(fd)
            tmps.append(tmp)
        yield tmps
        for tmp, p in zip(tmps, paths):
            os.chmod(tmp, 0o644 & ~_umask())
            os.replace(tmp, p)
        tmps = []
    finally:
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """One-file form of :func:`atomic_outputs`."""
    with atomic_outputs([path]) as tmps:
        yield tmps[0]


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
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(fn, items))
