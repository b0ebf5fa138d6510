"""spoolkit v1 spool archive blocks (SPXTAPE-like DUMP / LOAD / SCAN).

One DUMP run is two tape files::

    data file:     SPKR run header, then per spool file: SPKF header block,
                   SPKP page blocks (up to 15 pages each) ... tapemark
    catalog file:  SPKC catalog blocks (the last one flagged) ... tapemark

The catalog names, per file, its identity (owner, spool ID, created, CRC),
its selection attributes and where its header block is (block number in the
data file and the tape's seek offset), so SCAN reads only the catalog and a
selective LOAD seeks straight to the files it wants.  Every block ends with a
CRC-32C of everything before it.  All numbers are big-endian; magics and
names are EBCDIC.  ``docs/formats.md`` ("Archives") has the byte layouts.

This module only encodes and decodes blocks; :mod:`.writer` and
:mod:`.catalog` do the I/O.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Union

from .. import crc, ebcdic
from ..compress import Buffer
from ..crc import crc32c, seal
from ..errors import FormatError, Where

if TYPE_CHECKING:
    from typing_extensions import Unpack

VERSION = 1
PAGE_SIZE = 4096
#: pages per SPKP block: 15 keeps every block under 65535 bytes, the largest
#: block FakeTape (and real 3480/3490 drives) can hold
PAGES_PER_BLOCK = 15
#: catalog entries per SPKC block (48 + 480 * 128 + 4 = 61492 bytes)
ENTRIES_PER_BLOCK = 480


def _ebc(text: str) -> bytes:
    return ebcdic.encode(text, what="archive text field")


MAGIC_RUN = _ebc("SPKR")
MAGIC_FILE = _ebc("SPKF")
MAGIC_PAGES = _ebc("SPKP")
MAGIC_CATALOG = _ebc("SPKC")
MAGICS = {MAGIC_RUN: "SPKR", MAGIC_FILE: "SPKF", MAGIC_PAGES: "SPKP", MAGIC_CATALOG: "SPKC"}

# flags of a catalog entry
ENTRY_REF = 0x01      # file was live at dump time, its data is in an earlier archive
# flags of a catalog block
CATALOG_LAST = 0x01
#: the catalog was written by a later append for a run cut short (a killed
#: dump): it lists the run's whole files; the rest of its data file is cut off
CATALOG_SEALED = 0x02

_RUN = struct.Struct(">4sBBHQQ64s")                 # 88 bytes + CRC
_FILE = struct.Struct(">4sBBHIIII8sQII")            # 48 bytes, header page, CRC
_PAGES = struct.Struct(">4sBBHII")                   # 16 bytes, pages, CRC
_CATALOG = struct.Struct(">4sBBHIIQQQQ")             # 48 bytes, entries, CRC
_ENTRY = struct.Struct(">IIQ8sIIQI8scBH8s8s8s8s8sIB8s3xI12x")  # 128 bytes

assert _ENTRY.size == 128 and _CATALOG.size == 48 and _FILE.size == 48


# -- helpers ------------------------------------------------------------------
def _name(raw: bytes) -> str:
    return raw.decode("cp037").rstrip(" \0")


@functools.lru_cache(maxsize=1024)
def _pad(text: Optional[str], n: int = 8) -> bytes:
    # cached: a run's catalog repeats a few owners, forms and destinations
    return _ebc((text or "")[:n].upper().ljust(n))


def check_block(raw: Buffer, kind: str, *, minimum: int, where: Where,
                magics: Optional[Mapping[bytes, str]] = None) -> memoryview:
    """Check length, magic (EBCDIC ``kind``), version and trailing CRC-32C of an
    archive block; return it as a view."""
    return crc.check_block(raw, kind, minimum=minimum, where=where, magics=magics or MAGICS,
                           version=VERSION)


def block_kind(block: Buffer) -> Optional[str]:
    """``"SPKR"``, ``"SPKF"``, ``"SPKP"``, ``"SPKC"`` or None for a foreign block."""
    return MAGICS.get(bytes(memoryview(block)[:4]))


# -- SPKR: run header -----------------------------------------------------------
@dataclass
class RunHeader:
    """First block of a run's data file."""

    run_id: int           # microseconds since the epoch when the run started (unique)
    created: int          # same clock, kept separately for future "as of" runs
    source: str = ""      # what was dumped (volume serial or path), UTF-8, at most 64 bytes
    flags: int = 0

    def encode(self) -> bytearray:
        src = self.source.encode("utf-8")[:64]
        return seal(bytearray(_RUN.pack(MAGIC_RUN, VERSION, self.flags, 0, self.run_id,
                                          self.created, src)))

    @classmethod
    def decode(cls, raw: Buffer, **where: Unpack[Where]) -> RunHeader:
        mv = check_block(raw, "SPKR", minimum=_RUN.size + 4, where=where)
        _, _, flags, _, run_id, created, src = _RUN.unpack_from(mv)
        return cls(run_id, created, src.rstrip(b"\0").decode("utf-8", "replace"), flags)


# -- SPKF: spool file header ------------------------------------------------------
@dataclass
class FileHeader:
    """The header block of one spool file: identity plus its header page."""

    fileseq: int          # 0-based position of the file in the run
    pages: int            # data pages that follow
    records: int
    spoolid: int
    owner: str
    created: int          # microseconds since the epoch (UTC)
    crc: int              # CRC-32C of all data pages in order (as in the header page)
    header_page: bytes    # the file's 4096-byte header page (SFBLOK + SPKX) verbatim

    @property
    def identity(self) -> tuple[str, int, int, int]:
        return (self.owner, self.spoolid, self.created, self.crc)

    def encode(self) -> bytearray:
        if len(self.header_page) != PAGE_SIZE:
            raise FormatError(f"header page of {len(self.header_page)} bytes, not {PAGE_SIZE}")
        buf = bytearray(_FILE.pack(MAGIC_FILE, VERSION, 0, PAGE_SIZE, self.fileseq, self.pages,
                                   self.records, self.spoolid, _pad(self.owner),
                                   self.created, self.crc, 0))
        buf += self.header_page
        return seal(buf)

    @classmethod
    def decode(cls, raw: Buffer, **where: Unpack[Where]) -> FileHeader:
        mv = check_block(raw, "SPKF", minimum=_FILE.size + 4, where=where)
        (_, _, _, hlen, seq, pages, records, spoolid, owner, created, crc,
         _) = _FILE.unpack_from(mv)
        if hlen != PAGE_SIZE or len(mv) != _FILE.size + hlen + 4:
            raise FormatError(f"SPKF block of {len(mv)} bytes with a header page of {hlen}",
                              **where)
        return cls(seq, pages, records, spoolid, _name(owner), created, crc,
                   bytes(mv[_FILE.size:_FILE.size + hlen]))


# -- SPKP: page blocks ------------------------------------------------------------
def encode_pages(fileseq: int, first: int, pages: Buffer) -> bytearray:
    """A page block: ``pages`` (n * 4096 bytes, 1 <= n <= 15) of file ``fileseq``
    starting at 0-based page ``first``."""
    mv = memoryview(pages).cast("B")
    n, rest = divmod(len(mv), PAGE_SIZE)
    if rest or not 1 <= n <= PAGES_PER_BLOCK:
        raise FormatError(f"a page block holds 1..{PAGES_PER_BLOCK} whole pages, "
                          f"not {len(mv)} bytes")
    buf = bytearray(_PAGES.size + len(mv))
    _PAGES.pack_into(buf, 0, MAGIC_PAGES, VERSION, 0, n, fileseq, first)
    buf[_PAGES.size:] = mv
    return seal(buf)


def decode_pages(raw: Buffer, **where: Unpack[Where]) -> tuple[int, int, memoryview]:
    """-> (fileseq, first page index, pages view) of a checked SPKP block."""
    mv = check_block(raw, "SPKP", minimum=_PAGES.size + 4, where=where)
    _, _, _, n, seq, first = _PAGES.unpack_from(mv)
    if len(mv) != _PAGES.size + n * PAGE_SIZE + 4 or not 1 <= n <= PAGES_PER_BLOCK:
        raise FormatError(f"SPKP block of {len(mv)} bytes announces {n} pages", **where)
    return seq, first, mv[_PAGES.size:-4]


# -- SPKC: catalog ----------------------------------------------------------------
@dataclass
class CatalogEntry:
    """One file of a run as the catalog lists it (enough to select and seek)."""

    fileseq: int
    spoolid: int
    owner: str
    kind: str             # RDR/PRT/PUN/CON or an SDF kind (NSS, DCSS, ...)
    klass: str = "A"
    pages: int = 0
    records: int = 0
    created: int = 0
    crc: int = 0
    block: int = 0        # block number of the SPKF block in the data file (SPKR = 0)
    offset: int = 0       # the tape's seek offset of that block (a hint; block wins)
    flags: int = 0        # ENTRY_REF: data lives in an earlier archive
    hold: int = 0         # 0x80 user hold, 0x40 system hold
    copies: int = 1
    fname: str = ""
    ftype: str = ""
    form: str = ""
    dest: str = ""
    dist: str = ""
    node: str = ""
    record_length: int = 0
    run_id: int = 0       # filled in when read: which run the entry came from
    archive: str = ""     # filled in when read: which archive image

    @property
    def identity(self) -> tuple[str, int, int, int]:
        return (self.owner, self.spoolid, self.created, self.crc)

    @property
    def is_ref(self) -> bool:
        return bool(self.flags & ENTRY_REF)

    def encode(self) -> bytes:
        return _ENTRY.pack(self.fileseq, self.spoolid, self.offset, _pad(self.owner),
                           self.pages, self.records, self.created, self.crc, _pad(self.kind),
                           _ebc((self.klass or "A")[:1]), self.flags, self.copies & 0xFFFF,
                           _pad(self.fname), _pad(self.ftype), _pad(self.form),
                           _pad(self.dest), _pad(self.dist), self.block, self.hold & 0xFF,
                           _pad(self.node), self.record_length)

    @classmethod
    def decode(cls, raw: Buffer) -> CatalogEntry:
        (seq, spoolid, offset, owner, pages, records, created, crc, kind, klass, flags, copies,
         fname, ftype, form, dest, dist, block, hold, node, reclen) = _ENTRY.unpack(raw)
        return cls(seq, spoolid, _name(owner), _name(kind), _name(klass), pages, records,
                   created, crc, block, offset, flags, hold, copies, _name(fname),
                   _name(ftype), _name(form), _name(dest), _name(dist), _name(node), reclen)

    def to_dict(self) -> dict[str, Union[int, str]]:
        d: dict[str, Union[int, str]] = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["class"] = d.pop("klass")
        return d


@dataclass
class Catalog:
    """The decoded catalog file of one run."""

    run_id: int
    data_blocks: int                  # blocks in the data file, SPKR included
    total_pages: int
    entries: list[CatalogEntry] = field(default_factory=list)


def encode_catalog(run_id: int, data_blocks: int, entries: Sequence[CatalogEntry],
                   *, sealed: bool = False) -> list[bytearray]:
    """The SPKC blocks of a catalog (at least one, the last flagged); ``sealed``
    marks the catalog of a run cut short (:data:`CATALOG_SEALED`)."""
    total_pages = sum(e.pages for e in entries if not e.is_ref)
    chunks = [entries[i:i + ENTRIES_PER_BLOCK]
              for i in range(0, len(entries), ENTRIES_PER_BLOCK)] or [[]]
    blocks = []
    for n, chunk in enumerate(chunks):
        flags = (CATALOG_LAST if n == len(chunks) - 1 else 0) | (CATALOG_SEALED if sealed else 0)
        buf = bytearray(_CATALOG.pack(MAGIC_CATALOG, VERSION, flags, len(chunk), n,
                                      len(entries), run_id, data_blocks, total_pages, 0))
        for e in chunk:
            buf += e.encode()
        blocks.append(seal(buf))
    return blocks


def decode_catalog_block(raw: Buffer, **where: Unpack[Where]
                         ) -> tuple[dict[str, int], list[CatalogEntry]]:
    """-> (block fields, entries) of one checked SPKC block."""
    mv = check_block(raw, "SPKC", minimum=_CATALOG.size + 4, where=where)
    _, _, flags, n, seq, total, run_id, data_blocks, pages, _ = _CATALOG.unpack_from(mv)
    if len(mv) != _CATALOG.size + n * _ENTRY.size + 4 or n > ENTRIES_PER_BLOCK:
        raise FormatError(f"SPKC block of {len(mv)} bytes announces {n} entries", **where)
    entries = [CatalogEntry.decode(mv[_CATALOG.size + i * _ENTRY.size:
                                      _CATALOG.size + (i + 1) * _ENTRY.size])
               for i in range(n)]
    info = {"last": flags & CATALOG_LAST, "sealed": flags & CATALOG_SEALED, "seq": seq,
            "total": total, "run_id": run_id,
            "data_blocks": data_blocks, "pages": pages}
    return info, entries


__all__ = [
    "VERSION", "PAGE_SIZE", "PAGES_PER_BLOCK", "ENTRIES_PER_BLOCK", "ENTRY_REF",
    "CATALOG_LAST", "CATALOG_SEALED", "RunHeader",
    "FileHeader", "CatalogEntry", "Catalog", "encode_pages", "decode_pages", "encode_catalog",
    "decode_catalog_block", "block_kind", "crc32c", "seal", "check_block",
]
