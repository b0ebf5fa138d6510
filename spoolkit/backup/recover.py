"""Recovering a run cut short (a dump killed before its catalog was
written): its whole, intact files, found by reading the data file, and the
catalog that seals it so that an append can follow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional

from ..errors import FormatError, SpoolkitError, Where
from ..spool.pages import parse_header_page
from ..tape.medium import TAPEMARK, TapeMedium, goto, read_next
from .blocks import (
    PAGE_SIZE,
    CatalogEntry,
    FileHeader,
    RunHeader,
    block_kind,
    decode_pages,
    encode_catalog,
)
from .source import catalog_entry


@dataclass
class Damage:
    """A block a reader had to pass over (or stop at)."""

    block: int                        # block number in the run's data file (SPKR = 0)
    offset: int                       # the tape's seek offset of the block
    file: str                         # "OWNER SPOOLID" of the file it belongs to, or ""
    message: str

    def text(self) -> str:
        of = f" of spool file {self.file}" if self.file else ""
        return f"block {self.block} at offset {self.offset}{of}: {self.message}"


class _Partial:
    __slots__ = ("fh", "block", "offset", "done", "bad")

    def __init__(self, fh: FileHeader, block: int, offset: int) -> None:
        self.fh, self.block, self.offset, self.done, self.bad = fh, block, offset, 0, False

    @property
    def name(self) -> str:
        return f"{self.fh.owner} {self.fh.spoolid}"


class Recovered(NamedTuple):
    """What :func:`recover_files` found in a run's data file."""

    entries: list[CatalogEntry]       # the whole, intact files
    damage: list[Damage]              # the blocks it passed over
    end: int                          # seek offset after the last whole file
    blocks: int                       # blocks of the data file up to there (SPKR included)


def recover_files(tape: TapeMedium, start: int, path: str) -> Recovered:
    """The whole, intact files of the data file starting at ``start`` (read
    sequentially; damaged blocks are passed over while the tape's framing
    holds).  A block that cannot be read (torn framing) ends it."""
    tape.seek(start)
    read_next(tape)                         # SPKR
    entries: list[CatalogEntry] = []
    damage: list[Damage] = []
    blockno = 1
    end, end_blocks = tape.tell(), 1
    cur: Optional[_Partial] = None
    while True:
        offset = tape.tell()
        where: Where = {"path": path, "block": blockno, "offset": offset}
        try:
            block = read_next(tape)
        except SpoolkitError as exc:
            damage.append(Damage(blockno, offset, cur.name if cur else "", str(exc)))
            break
        if block is None or block is TAPEMARK:
            if cur is not None and not cur.bad:
                damage.append(Damage(blockno, offset, cur.name,
                                     f"the file ends after {cur.done} of its {cur.fh.pages} "
                                     f"pages"))
            break
        kind = block_kind(block)
        try:
            if kind == "SPKF":
                if cur is not None and not cur.bad:
                    damage.append(Damage(blockno, offset, cur.name,
                                         f"a new file starts after {cur.done} of its "
                                         f"{cur.fh.pages} pages"))
                cur = None
                cur = _Partial(FileHeader.decode(block, **where), blockno, offset)
            elif kind == "SPKP" and cur is not None and cur.bad:
                pass                          # the rest of a damaged file
            else:
                seq, first, pages = decode_pages(block, **where)
                if cur is None or seq != cur.fh.fileseq or first != cur.done:
                    raise FormatError(f"page block of file {seq} at page {first} without "
                                      f"its header block", **where)
                cur.done += len(pages) // PAGE_SIZE
                if cur.done > cur.fh.pages:
                    raise FormatError(f"more than the file's {cur.fh.pages} pages", **where)
        except SpoolkitError as exc:
            damage.append(Damage(blockno, offset, cur.name if cur else "", str(exc)))
            if cur is not None:
                cur.bad = True
        blockno += 1
        if cur is not None and not cur.bad and cur.done == cur.fh.pages:
            fh = cur.fh
            entries.append(_recovered_entry(fh, cur.block, cur.offset, fh.fileseq))
            end, end_blocks = tape.tell(), blockno
            cur = None
    return Recovered(entries, damage, end, end_blocks)


def _recovered_entry(fh: FileHeader, block: int, offset: int, seq: int) -> CatalogEntry:
    """A catalog entry from a file's header block (its attributes from the
    header page where it parses)."""
    e = CatalogEntry(seq, fh.spoolid, fh.owner, "?", "?", fh.pages, fh.records, fh.created,
                     fh.crc, block, offset)
    try:
        info = parse_header_page(fh.header_page)
        full = catalog_entry(info.spoolfile, fh.pages, fh.crc)
    except Exception:  # noqa: BLE001 - a header page of another layout: keep the basics
        return e
    full.fileseq, full.block, full.offset = e.fileseq, block, offset
    full.spoolid, full.owner, full.created = fh.spoolid, fh.owner, fh.created
    full.records = fh.records
    return full


def seal_torn_run(tape: TapeMedium, header: RunHeader, start: int,
                  catalog_at: Optional[int] = None, path: str = "") -> int:
    """Finish a run cut short so that what follows on the tape stays
    reachable: its whole, intact files get a catalog flagged
    :data:`~.blocks.CATALOG_SEALED` (the rest of the data file is cut off).
    ``catalog_at``: where a torn catalog file starts (the data file itself is
    whole).  Returns the number of files kept; the tape is left after the
    catalog's tapemark."""
    entries, _, end, blocks = recover_files(tape, start, path)
    if catalog_at is not None:
        goto(tape, catalog_at, start)
    else:
        goto(tape, end, start)
        tape.tapemark()
    for block in encode_catalog(header.run_id, blocks, entries, sealed=True):
        tape.write_block(block)
    tape.tapemark()
    return len(entries)


__all__ = ["Damage", "Recovered", "recover_files", "seal_torn_run"]
