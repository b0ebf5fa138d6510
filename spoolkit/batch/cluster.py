"""Running a batch's images on a Dask distributed cluster (the optional
``spoolkit[dask]`` extra).  The coordinator keeps the journal: the results
are the same as a local run's."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

from ..errors import InvalidArgumentError
from .jobs import JobOptions, run_one
from .journal import Outcome
from .task import Task


def _distributed() -> Any:
    # imported by name: the extra is optional and ships no type information
    try:
        return importlib.import_module("distributed")
    except ImportError:
        raise InvalidArgumentError("--dask needs Dask: pip install 'spoolkit[dask]'") from None


def connect(address: str, timeout: float = 30.0) -> Any:
    """A ``dask.distributed.Client`` of the scheduler at ``address``
    (``tcp://HOST:PORT``), waiting at most ``timeout`` seconds for it."""
    distributed = _distributed()
    try:
        return distributed.Client(address, timeout=timeout)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot reach the Dask scheduler at {address}: "
                                   f"{exc}") from None


class DaskRunner:
    """Every image a task of the cluster (large ones with all of a worker's
    cores)."""

    name = "dask"

    def __init__(self, client: Any) -> None:
        self.client = client
        self.workers = sum(int(n) for n in client.nthreads().values())

    def run(self, job: str, tasks: list[Task], to: str,
            opts: JobOptions) -> Iterator[tuple[Task, Outcome]]:
        as_completed = _distributed().as_completed
        futures = {}
        for t in tasks:
            fut = self.client.submit(run_one, job, t.source, to, opts, t.threads, t.overwrite,
                                     key=f"spoolkit-batch-{job}-{t.source.path}", pure=False)
            futures[fut.key] = (fut, t)
        try:
            for fut in as_completed([f for f, _ in futures.values()]):
                yield futures[fut.key][1], fut.result()
        except BaseException:
            self.client.cancel([f for f, _ in futures.values()])
            raise


__all__ = ["DaskRunner", "connect"]
