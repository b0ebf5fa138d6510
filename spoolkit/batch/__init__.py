"""Batch work over many images, resumable: ``convert``, ``check``,
``inventory`` and ``verify`` jobs over files, directories and manifests,
with a SQLite journal in the output directory (docs/batch.md), on local
cores or a Dask cluster.

>>> summary = run("convert", ["images/"], to="out/")     # doctest: +SKIP
"""

from __future__ import annotations

from ..jsonvalue import JSONValue
from .jobs import JOBS, JobOptions
from .journal import Journal, Outcome
from .scheduler import LARGE, Summary, run
from .sources import Source, discover


def report(directory: str) -> list[dict[str, JSONValue]]:
    """Every image entry of the journal in ``directory``."""
    with Journal(directory, create=False) as j:
        return list(j.rows())


__all__ = ["JOBS", "JobOptions", "Journal", "LARGE", "Outcome", "Source", "Summary",
           "discover", "report", "run"]
