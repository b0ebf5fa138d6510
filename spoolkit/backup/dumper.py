"""DUMP: the selected spool files of a volume (or a System of volumes) to a
tape image, a minidisk extent, or straight into another spool volume."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Sequence
from typing import Callable, Optional, Union

from ..errors import ExistsError
from .blocks import FileHeader
from .media import ArchiveLike, OpenedArchive, as_ref, exists, is_volume
from .protocols import ArchiveSource, Identity, Selector
from .runlog import RunLog, write_logs
from .scanner import Archives, scan
from .selection import SelectArg, as_selector
from .source import PathLike, SpoolFiles, VolumeSource, open_source
from .target import SpoolSink, VolumeTarget, open_target_volume
from .writer import RunWriter

#: what DUMP reads: volume image path(s), an open volume or System, or an ArchiveSource
Source = Union[PathLike, Sequence[PathLike], SpoolFiles, ArchiveSource]
#: where DUMP writes: an archive (tape image, minidisk extent, open tape), a
#: spool volume image path, or an open volume
DumpTarget = Union[ArchiveLike, SpoolSink]
Progress = Optional[Callable[[int], None]]


def _known_identities(incremental: Optional[Archives]) -> set[Identity]:
    if not incremental:
        return set()
    res = scan(incremental)
    return {e.identity for e in res.entries}


def dump(source: Source, target: DumpTarget, *, select: SelectArg = None,
         incremental: Optional[Archives] = None, log: Optional[PathLike] = None,
         json_log: Optional[PathLike] = None, append: Optional[bool] = None,
         format: Optional[str] = None, compress: Optional[str] = None,
         level: Optional[int] = None, progress: Progress = None,
         on_block: Optional[Callable[[int], None]] = None,
         stop: Optional[threading.Event] = None, overwrite: bool = False) -> RunLog:
    """DUMP the selected spool files of ``source`` to ``target``.

    ``source``: a spool volume or system (anything with ``files()``) or an
    :class:`~.protocols.ArchiveSource`.  ``target``: a tape image path (new,
    or appended to when it exists and ``append`` is not False), a minidisk
    extent (``"vol.3390@A-B"`` or ``(path, (A, B))``), a SPOL volume image path
    or an open volume (files are added to it).  ``incremental``: earlier
    archive(s); files whose identity (owner, spool ID, created, CRC) they hold
    are listed by reference only, so a chain of runs restores the latest
    state.  A failed or interrupted dump leaves the target as it was.
    ``append=False`` replaces an existing archive only with ``overwrite=True``.
    ``format`` ("aws", "het", "faketape"): of a new tape image (default: by
    its name); ``compress``/``level``: HET compression of its blocks.
    """
    predicate = as_selector(select)
    if isinstance(source, (str, os.PathLike, list)):
        opened = open_source(source)
        try:
            return dump(opened, target, select=predicate, incremental=incremental, log=log,
                        json_log=json_log, append=append, format=format, compress=compress,
                        level=level, progress=progress, on_block=on_block, stop=stop,
                        overwrite=overwrite)
        finally:
            opened.close()
    if isinstance(source, ArchiveSource):
        src: ArchiveSource = source
    elif isinstance(source, SpoolFiles):
        src = VolumeSource(source)
    else:
        raise TypeError(f"cannot dump from {type(source).__name__}: not a spool volume")
    if isinstance(target, SpoolSink):
        return _dump_to_volume(src, VolumeTarget(target), predicate, log, json_log, progress)
    ref = as_ref(target)
    if ref.extent is None and is_volume(ref.path):
        return _dump_to_volume(src, open_target_volume(ref.path), predicate, log, json_log,
                               progress, close=True)
    known = _known_identities(incremental)
    there = exists(ref)
    mode = "a" if (append is not False and there) else "w"
    if mode == "w" and there and not overwrite:
        raise ExistsError("holds an archive already",
                          hint="append to it, or replace it with overwrite=True",
                          cli_hint="append to it (no --new), or replace it with --force",
                          path=ref.name)
    if mode == "w" and format is not None and ref.extent is None and ref.tape is None:
        ref = dataclasses.replace(ref, format=format)   # an append keeps the tape's format
    runlog = RunLog("DUMP", src.name, ref.name)
    opened_archive = OpenedArchive(ref, mode) if ref.extent is not None else OpenedArchive(
        ref, mode, compress=compress, level=level, overwrite=overwrite)
    with opened_archive as tape:
        writer = RunWriter(tape, str(src.name)[:64], on_block=on_block)
        try:
            for f in src.archive_files(predicate):
                if stop is not None and stop.is_set():
                    raise KeyboardInterrupt("dump interrupted")
                if f.entry.identity in known:
                    writer.add_ref(f.entry)
                    runlog.add(f.entry, "REFERENCED")
                    continue
                writer.add(f)
                runlog.add(f.entry, "DUMPED")
                if progress:
                    progress(f.entry.pages)
            writer.finish()
        except BaseException:
            writer.abort()                    # no block is written after the tape is closed
            raise
        tape.tapemark()                       # with the catalog's: the closing double tapemark
    runlog.finish()
    write_logs(runlog, log, json_log)
    return runlog


def _dump_to_volume(src: ArchiveSource, tgt: VolumeTarget, select: Selector,
                    log: Optional[PathLike], json_log: Optional[PathLike], progress: Progress,
                    close: bool = False) -> RunLog:
    """DUMP straight into another spool volume: each file is restored there."""
    runlog = RunLog("DUMP", src.name, tgt.name)
    try:
        for f in src.archive_files(select):
            fh = FileHeader(0, f.entry.pages, f.entry.records, f.entry.spoolid, f.entry.owner,
                            f.entry.created, f.entry.crc, f.header_page)
            new = tgt.restore(fh, f.pages(), "keep")
            runlog.add(f.entry, "DUMPED", new_spoolid=new)
            if progress:
                progress(f.entry.pages)
    finally:
        if close:
            tgt.close()
    runlog.finish()
    write_logs(runlog, log, json_log)
    return runlog


__all__ = ["DumpTarget", "Source", "dump"]
