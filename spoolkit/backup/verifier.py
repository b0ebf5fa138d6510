"""VERIFY: every block of an archive read and checked (block CRCs, each
file's page CRC, each catalog entry against its header block, nothing in a
data file the catalog does not know about)."""

from __future__ import annotations

import os
from typing import Optional

from ..crc import crc32c
from ..errors import ChecksumError, SpoolkitError
from ..tape.medium import TAPEMARK, TapeMedium, read_next
from .blocks import FileHeader, block_kind
from .catalog import Run, read_runs
from .media import ArchiveLike, OpenedArchive, as_ref, no_archive
from .reader import read_file
from .runlog import LogLine, RunLog, damage_lines, problem_line
from .source import PathLike


def verify(archive: ArchiveLike, *, log: Optional[PathLike] = None) -> RunLog:
    """Read every block of the archive: each block CRC, each file's page CRC,
    and each catalog entry against the header block it points to.  Problems
    are ERROR lines in the returned log (``log.errors``)."""
    ref = as_ref(archive)
    runlog = RunLog("VERIFY", ref.name)
    with OpenedArchive(ref, "r") as tape:
        runs = read_runs(tape, ref.name, recover=True)
        if not runs:
            raise no_archive(ref, tape)
        for run in runs:
            if not run.whole:
                runlog.lines.append(problem_line(run, "ERROR" if not run.complete
                                                 else "SEALED"))
            runlog.lines += damage_lines(run)
            for e in run.entries:
                if e.is_ref:
                    runlog.add(e, "REFERENCED")
                    continue
                try:
                    fh, pages = read_file(tape, e, ref.name, start=run.start)
                    crc = 0
                    for p in pages:
                        crc = crc32c(p, crc)
                    if crc != e.crc:
                        raise ChecksumError(f"CRC-32C of the pages is {crc:08X}, the catalog "
                                            f"says {e.crc:08X}", path=ref.name, block=e.block)
                except SpoolkitError as exc:
                    runlog.add(e, "ERROR", str(exc))
                    continue
                runlog.add(e, "VERIFIED")
        _verify_data_blocks(tape, [r for r in runs if r.complete], ref.name, runlog)
    runlog.finish()
    if log:
        runlog.write(os.fspath(log))
    return runlog


def _block_error(message: str) -> LogLine:
    return LogLine("*BLOCK*", 0, "-", "-", 0, 0, "ERROR", message)


def _verify_data_blocks(tape: TapeMedium, runs: list[Run], path: str, runlog: RunLog) -> None:
    """Every block of each data file is a known, intact archive block and each
    SPKF block is in the catalog (nothing the catalog does not know about)."""
    for run in runs:
        listed = {e.block for e in run.entries if not e.is_ref}
        tape.seek(run.start)
        read_next(tape)
        blockno = 1
        while True:
            try:
                b = read_next(tape)
            except SpoolkitError as exc:
                runlog.lines.append(_block_error(str(exc)))
                break
            if b is None or b is TAPEMARK:
                break
            if block_kind(b) == "SPKF":
                try:
                    fh = FileHeader.decode(b, path=path, block=blockno)
                except SpoolkitError as exc:
                    runlog.lines.append(_block_error(str(exc)))
                else:
                    if blockno not in listed:
                        runlog.lines.append(LogLine(
                            fh.owner, fh.spoolid, "-", "-", fh.records, fh.pages, "ERROR",
                            f"block {blockno}: file not in the catalog"))
            elif block_kind(b) != "SPKP":
                runlog.lines.append(_block_error(f"{path}: block {blockno}: not an archive "
                                                 f"block"))
            blockno += 1


__all__ = ["verify"]
