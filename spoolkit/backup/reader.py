"""Reading one archived spool file: seek to its header block, then its
checked page blocks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Optional, Union

from ..errors import FormatError, SpoolkitError, TruncatedError, Where
from ..tape.medium import TAPEMARK, Tapemark, TapeMedium, read_next
from .blocks import PAGE_SIZE, CatalogEntry, FileHeader, block_kind, decode_pages


def _read_page_blocks(tape: TapeMedium, fh: FileHeader, path: str, blockno: int
                      ) -> Iterator[memoryview]:
    done = 0
    while done < fh.pages:
        where: Where = {"path": path, "block": blockno}
        block = read_next(tape)
        if block is None or block is TAPEMARK:
            raise TruncatedError(f"spool file {fh.owner} {fh.spoolid} ends after {done} of "
                                 f"{fh.pages} pages", **where)
        seq, first, pages = decode_pages(block, **where)
        if seq != fh.fileseq or first != done:
            raise FormatError(f"page block of file {seq} at page {first} where file "
                              f"{fh.fileseq} page {done} was expected", **where)
        done += len(pages) // PAGE_SIZE
        if done > fh.pages:
            raise FormatError(f"spool file {fh.owner} {fh.spoolid} has more than its "
                              f"{fh.pages} pages", **where)
        blockno += 1
        yield pages


def read_file(tape: TapeMedium, entry: CatalogEntry, path: str = "", *, start: Optional[int] = None
              ) -> tuple[FileHeader, Iterator[memoryview]]:
    """Seek to ``entry``'s header block; return its header and an iterator of
    its checked page blocks (views of whole pages).

    If the seek offset does not lead to the file (a tape copied to another
    format), the file is found by block number from the run's ``start``."""
    where: Where = {"path": path, "block": entry.block}
    if entry.is_ref:
        raise FormatError(f"spool file {entry.owner} {entry.spoolid} is a reference to an "
                          f"earlier archive, not data", **where)
    block: Union[bytes, Tapemark, None] = None
    try:
        tape.seek(entry.offset)
        block = read_next(tape)
    except SpoolkitError:
        if start is None:
            raise
    if (block is None or block is TAPEMARK or block_kind(block) != "SPKF") and start is not None:
        tape.seek(start)
        for _ in range(entry.block):
            if read_next(tape) in (None, TAPEMARK):
                break
        block = read_next(tape)
    if block is None or block is TAPEMARK:
        raise TruncatedError(f"spool file {entry.owner} {entry.spoolid}: no header block at "
                             f"offset {entry.offset}", **where)
    fh = FileHeader.decode(block, **where)
    if (fh.fileseq, fh.spoolid, fh.owner, fh.crc) != (entry.fileseq, entry.spoolid,
                                                      entry.owner, entry.crc):
        raise FormatError(f"header block holds {fh.owner} {fh.spoolid}, the catalog says "
                          f"{entry.owner} {entry.spoolid}", **where)
    if (fh.pages, fh.records, fh.created) != (entry.pages, entry.records, entry.created):
        raise FormatError(f"header block of {fh.owner} {fh.spoolid} says {fh.pages} pages, "
                          f"{fh.records} records, created {fh.created}; the catalog says "
                          f"{entry.pages}, {entry.records}, {entry.created}", **where)
    return fh, _read_page_blocks(tape, fh, path, entry.block + 1)


__all__ = ["read_file"]
