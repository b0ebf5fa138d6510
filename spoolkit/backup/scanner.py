"""SCAN: the catalogs of one archive or a chain of them, without reading
any file's data."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Optional, Union, cast

from .blocks import CatalogEntry
from .catalog import Run, read_runs, resolve_latest
from .media import ArchiveLike, ArchiveRef, OpenedArchive, as_ref, is_extent_pair, no_archive
from .runlog import RunLog
from .selection import SelectArg, as_selector, selected

PathLike = Union[str, "os.PathLike[str]"]
#: one archive or a chain of them (oldest first)
Archives = Union[ArchiveLike, Sequence[ArchiveLike]]


@dataclass
class ScanResult:
    """What a SCAN of one or more archives found."""

    runs: list[Run] = field(default_factory=list)
    log: Optional[RunLog] = None
    refs: dict[str, ArchiveRef] = field(default_factory=dict)

    @property
    def entries(self) -> list[CatalogEntry]:
        return [e for r in self.runs for e in r.entries]

    def latest(self) -> list[CatalogEntry]:
        return resolve_latest(self.runs)

    def to_dict(self) -> dict[str, object]:
        return {"runs": [r.to_dict() for r in self.runs],
                "summary": self.log.to_dict() if self.log else None}


def archive_list(archives: Archives) -> list[ArchiveRef]:
    """The references of one archive or a list of them (a chain)."""
    # a (path, (first, last)) pair is one archive, a list or another tuple a chain
    if isinstance(archives, (list, tuple)) and not is_extent_pair(archives):
        return [as_ref(a) for a in cast("Sequence[ArchiveLike]", archives)]
    return [as_ref(cast("ArchiveLike", archives))]


def scan(archives: Archives, *, select: SelectArg = None, log: Optional[PathLike] = None
         ) -> ScanResult:
    """Read the catalogs of one archive or a list of them (a chain)."""
    predicate = as_selector(select)
    refs = archive_list(archives)
    runlog = RunLog("SCAN", ", ".join(r.name for r in refs))
    out = ScanResult(log=runlog)
    for ref in refs:
        out.refs[ref.name] = ref
        with OpenedArchive(ref, "r") as tape:
            runs = read_runs(tape, ref.name)
            if not runs:
                raise no_archive(ref, tape)
        out.runs += runs
        for run in runs:
            for e in run.entries:
                if selected(predicate, e):
                    runlog.add(e, "REFERENCED" if e.is_ref else "SCANNED",
                               "" if run.whole else "(recovered: " + run.problem + ")")
    runlog.finish()
    if log:
        runlog.write(os.fspath(log))
    return out


__all__ = ["Archives", "ScanResult", "archive_list", "scan"]
