"""The spool index of a spool volume: a chain of DRCT pages (SPKI) listing
spool ID, owner and header slot of every live file, with the generation and
file count SPKALLOC names (formats.md "CP volumes and SPOL volumes")."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ..cp import CPVolume
from ..crc import crc32c
from ..errors import ChainLoopError, ChecksumError, FormatError, Where
from .pages import PAGE_SIZE

INDEX_MAGIC = "SPKI".encode("cp037")
INDEX_VERSION = 2
INDEX_HEAD = 16
INDEX_ENTRY = 16
INDEX_PER_PAGE = (PAGE_SIZE - 4 - INDEX_HEAD) // INDEX_ENTRY     # 254
INDEX_GEN = INDEX_HEAD + INDEX_PER_PAGE * INDEX_ENTRY    # 4080: generation (8), files (4)
INDEX_CRC = PAGE_SIZE - 4


@dataclass(frozen=True)
class IndexEntry:
    spoolid: int
    owner: str
    header: int          # slot of the header page


def build_index_pages(entries: list[IndexEntry], slots: list[int],
                      generation: int = 0) -> list[bytes]:
    """The index chain: page i links to slots[i+1]; every page carries the
    generation and the total number of entries; CRC-32C in the last 4 bytes."""
    pages = []
    for i in range(len(slots)):
        chunk = entries[i * INDEX_PER_PAGE:(i + 1) * INDEX_PER_PAGE]
        page = bytearray(PAGE_SIZE)
        nxt = slots[i + 1] if i + 1 < len(slots) else 0
        struct.pack_into(">I4sHHI", page, 0, nxt, INDEX_MAGIC, INDEX_VERSION, len(chunk), i + 1)
        for j, e in enumerate(chunk):
            struct.pack_into(">HH8sI", page, INDEX_HEAD + j * INDEX_ENTRY, e.spoolid, 0,
                             e.owner.encode("cp037").ljust(8, b"\x40"), e.header)
        struct.pack_into(">QI", page, INDEX_GEN, generation, len(entries))
        struct.pack_into(">I", page, INDEX_CRC, crc32c(bytes(page[:INDEX_CRC])))
        pages.append(bytes(page))
    return pages


def index_pages_needed(n: int) -> int:
    return -(-n // INDEX_PER_PAGE)


def read_index(cp: CPVolume, path: str) -> tuple[dict[int, IndexEntry], list[int]]:
    """The entries of the volume's index and the slots of its pages, every
    page checked (magic, CRC-32C, sequence, generation against SPKALLOC,
    each entry's spool ID and header slot)."""
    alloc = cp.allocation
    slot = alloc.index_slot
    v2 = alloc.version >= 2
    entries: dict[int, IndexEntry] = {}
    seen: list[int] = []
    seq = 0
    while slot:
        where: Where = {"path": path, "page": slot}
        if slot in seen:
            raise ChainLoopError("spool index chain returns to a page it passed", **where)
        if cp.slot_kind(slot) != "DRCT":
            raise FormatError(f"spool index page slot {slot} is not in a DRCT extent",
                              **where)
        if v2 and len(seen) >= alloc.index_pages:
            raise FormatError(f"spool index runs on past the {alloc.index_pages} pages "
                              "SPKALLOC names", **where)
        seen.append(slot)
        page = cp.read_slot(slot)
        nxt, magic, version, count, pseq = struct.unpack_from(">I4sHHI", page, 0)
        if magic != INDEX_MAGIC:
            raise FormatError("not a spool index page (no SPKI)", **where)
        stored = struct.unpack_from(">I", page, INDEX_CRC)[0]
        if stored != crc32c(page[:INDEX_CRC]):
            raise ChecksumError("spool index page CRC-32C mismatch", path=path,
                                page=slot, offset=INDEX_CRC)
        seq += 1
        if version not in (1, INDEX_VERSION) or (v2 and version != INDEX_VERSION) \
                or count > INDEX_PER_PAGE or pseq != seq:
            raise FormatError(f"spool index page version {version}, {count} entries, "
                              f"sequence {pseq} (expected {seq})", **where)
        if v2:
            gen, total = struct.unpack_from(">QI", page, INDEX_GEN)
            if gen != alloc.generation or total != alloc.entries:
                raise FormatError(
                    f"spool index page of generation {gen} listing {total} files; "
                    f"SPKALLOC names generation {alloc.generation} with {alloc.entries} "
                    "(an older index)", path=path, page=slot, offset=INDEX_GEN)
        for j in range(count):
            sid, _, owner, hdr = struct.unpack_from(">HH8sI", page,
                                                    INDEX_HEAD + j * INDEX_ENTRY)
            if not 1 <= sid <= 9999 or sid in entries:
                raise FormatError(f"spool index entry {j}: bad or repeated spool ID {sid}",
                                  **where)
            if cp.slot_kind(hdr) != "SPOL":
                raise FormatError(f"spool index entry {j}: header page slot {hdr} of "
                                  f"spool file {sid} is not in a SPOL extent", **where)
            entries[sid] = IndexEntry(sid, owner.decode("cp037").rstrip(), hdr)
        slot = nxt
    if v2 and (len(seen) != alloc.index_pages or len(entries) != alloc.entries):
        raise FormatError(f"spool index of {len(seen)} pages listing {len(entries)} files; "
                          f"SPKALLOC names {alloc.index_pages} pages and {alloc.entries} "
                          "files", path=path, page=seen[-1] if seen else None)
    return entries, seen


__all__ = ["INDEX_CRC", "INDEX_GEN", "INDEX_PER_PAGE", "IndexEntry", "build_index_pages",
           "index_pages_needed", "read_index"]
