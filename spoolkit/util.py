"""Small helpers shared by the modules: thread fan-out, loggers (atomic
output files are in :mod:`spoolkit.output`, re-exported here)."""

from __future__ import annotations

import os

from .output import atomic_output, atomic_outputs

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable
    from typing import Callable, Optional, TypeVar

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


#: how the ``spoolkit`` command configures logging when no module had
#: imported it before the verb ran (the command imports logging only for the
#: verbs that log): the first :func:`logger` applies it
log_setup: Optional[Callable[[], None]] = None


def logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)``, after the ``spoolkit`` command's
    configuration of logging where it is pending (:data:`log_setup`)."""
    import logging

    global log_setup
    setup, log_setup = log_setup, None
    if setup is not None:
        setup()
    return logging.getLogger(name)


__all__ = ["atomic_output", "atomic_outputs", "default_workers", "logger", "map_threads"]
