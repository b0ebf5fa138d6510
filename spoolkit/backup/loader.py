"""LOAD: files from an archive (or a chain of archives) back onto a spool
volume, the latest state of the chain or every version."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Callable, Optional, Union

from ..compress import Buffer
from ..crc import crc32c
from ..errors import ChecksumError, InvalidArgumentError, NoSpaceError, SpoolkitError
from .blocks import CatalogEntry, FileHeader
from .catalog import Run
from .media import OpenedArchive
from .protocols import ArchiveTarget, Identity
from .reader import read_file
from .runlog import LogLine, RunLog, damage_lines, problem_line, write_logs
from .scanner import Archives, scan
from .selection import SelectArg, as_selector, selected
from .source import PathLike
from .target import SpoolSink, VolumeTarget, open_target_volume

#: where LOAD restores to: a spool volume image path, an open volume, or an ArchiveTarget
LoadTarget = Union[PathLike, ArchiveTarget, SpoolSink]


def load(archives: Archives, target: LoadTarget, *, select: SelectArg = None,
         spoolid: str = "keep", state: str = "latest", log: Optional[PathLike] = None,
         json_log: Optional[PathLike] = None, on_error: str = "continue",
         progress: Optional[Callable[[int], None]] = None) -> RunLog:
    """LOAD files from an archive (or a chain of archives) into ``target``.

    ``state="latest"``: the files of the newest run, references resolved
    through the chain (the latest state); ``"all"``: every file of every run.
    ``spoolid``: ``"keep"`` the archived spool IDs or give ``"new"`` ones.
    A damaged file is logged as ERROR (with its archive block) and the load
    goes on with the next file (``on_error="raise"`` stops instead); a full
    target stops the load with :class:`~spoolkit.errors.NoSpaceError`, the
    files loaded so far stay and the volume is consistent.
    """
    predicate = as_selector(select)
    if spoolid not in ("keep", "new"):
        raise InvalidArgumentError(f"spoolid must be 'keep' or 'new', not {spoolid!r}")
    if state not in ("latest", "all"):
        raise InvalidArgumentError(f"state must be 'latest' or 'all', not {state!r}")
    res = scan(archives)
    if state == "latest":
        entries = res.latest()
    else:
        seen: set[Identity] = set()
        entries = []
        for e in res.entries:
            if not e.is_ref and e.identity not in seen:
                seen.add(e.identity)
                entries.append(e)
    entries = [e for e in entries if selected(predicate, e)]
    owned: Optional[VolumeTarget] = None
    tgt: ArchiveTarget
    if isinstance(target, (str, os.PathLike)):
        tgt = owned = open_target_volume(os.fspath(target))
    elif isinstance(target, ArchiveTarget):
        tgt = target
    else:
        tgt = VolumeTarget(target)
    runlog = RunLog("LOAD", res.log.source if res.log else "", tgt.name)
    runlog.lines += _torn_run_lines(res.runs, entries)
    starts = {(r.archive, r.header.run_id): r.start for r in res.runs}
    by_archive: dict[str, list[CatalogEntry]] = {}
    for e in entries:
        by_archive.setdefault(e.archive, []).append(e)
    try:
        for name, group in by_archive.items():
            with OpenedArchive(res.refs[name], "r") as tape:
                for e in sorted(group, key=lambda x: (x.run_id, x.block)):
                    try:
                        fh, pages = read_file(tape, e, name, start=starts.get((name, e.run_id)))
                        new = tgt.restore(fh, _checked(pages, fh, name), spoolid)
                    except SpoolkitError as exc:
                        runlog.add(e, "ERROR", str(exc))
                        if isinstance(exc, NoSpaceError) or on_error == "raise":
                            raise
                        continue
                    runlog.add(e, "LOADED", new_spoolid=new)
                    if progress:
                        progress(e.pages)
    finally:
        runlog.finish()
        write_logs(runlog, log, json_log)
        if owned is not None:
            owned.close()
    return runlog


def _torn_run_lines(runs: list[Run], entries: list[CatalogEntry]) -> list[LogLine]:
    """Log lines for the runs that are not whole: a run cut short whose files
    are loaded is an ERROR with each block its recovery passed over; one left
    out of the latest state is SKIPPED; a sealed run is noted."""
    used = {(e.archive, e.run_id) for e in entries}
    lines = []
    for run in runs:
        if run.whole:
            continue
        if (run.archive, run.header.run_id) not in used:
            lines.append(problem_line(run, "SKIPPED"))
        elif not run.complete:
            lines.append(problem_line(run))
            lines += damage_lines(run)
        else:
            lines.append(problem_line(run, "SEALED"))
            lines += damage_lines(run)
    return lines


def _checked(pages: Iterator[memoryview], fh: FileHeader, path: str) -> Iterator[Buffer]:
    """Pass the page blocks through, then check the file's CRC over all pages."""
    crc = 0
    for p in pages:
        crc = crc32c(p, crc)
        yield p
    if crc != fh.crc:
        raise ChecksumError(f"spool file {fh.owner} {fh.spoolid}: CRC-32C of its pages is "
                            f"{crc:08X}, the archive says {fh.crc:08X}", path=path)


__all__ = ["LoadTarget", "load"]
