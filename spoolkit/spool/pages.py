"""Spool file pages: the data page chain and the file header page
(design.md section 4; formats.md "Spool files" has the byte layout).

Data pages are VM/370 SPLINK pages chained both ways, holding z/VM DIAGNOSE
X'14' CCW entries; the C core packs a whole chain in one call and unpacks a
batch of pages per call.  The header page holds the 104-byte VM/370 SFBLOK
and spoolkit's SPKX extension.  A page address is a 32-bit integer
``(volume_index << 24) | slot`` (slot 1-based, 0 = none).
"""

from __future__ import annotations

import datetime as _dt
import struct
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Union

from .._native import ffi, lib, new_err, raise_error
from ..compress import Buffer
from ..crc import crc32c
from ..errors import (
    ChainLoopError,
    ChecksumError,
    FormatError,
    InvalidArgumentError,
    SpoolkitError,
    TruncatedError,
    Where,
)
from .file import TYPES, SpoolFile
from .records import Records

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

    from .._spoolkit import NullPtr, UInt32Array, spk_spool_chain

PAGE_SIZE = 4096
TAG_OFFSET = 176
SPKX_OFFSET = 128
SPKX_MAGIC = "SPKX".encode("cp037")
SPKX_VERSION = 1
OFF_CRC = 0xFD4
OFF_FILID = 0xFF8
OFF_TIME = 0xFFA
DATA_AREA = lib.SPK_SPOOL_DATACAP
MAX_ENTRIES = lib.SPK_SPOOL_MAXENTRIES
RAW_FLAG = lib.SPK_SPOOL_RAW                   # reader pages (spoolkit.spool.vmur)
RAW_DATA_AREA = lib.SPK_SPOOL_RAW_DATACAP      # reader pages as vmur reads them
RAW_MAX_ENTRIES = lib.SPK_SPOOL_RAW_MAXENTRIES

KIND_CODES = {name: i + 1 for i, name in enumerate(TYPES)}      # SPKX file kind
KIND_NAMES = {code: name for name, code in KIND_CODES.items()}
# SFBTYPE: the originating device class (spoolkit's codes, see formats.md)
SFBTYPE = {"RDR": 1, "PRT": 2, "PUN": 3, "CON": 4}

SFB_USER_HOLD = 0x20
SFB_DUMP = 0x10
SFB_SYSTEM_HOLD = 0x04
FLAG_KEEP = 0x01
FLAG_MSG = 0x02

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def page_address(volume_index: int, slot: int) -> int:
    """The 32-bit page address of a slot (1-based) on volume volume_index."""
    if not 0 <= volume_index <= 255 or not 1 <= slot <= 0xFFFFFF:
        raise InvalidArgumentError(f"page address: volume {volume_index}, slot {slot}")
    return (volume_index << 24) | slot


def split_address(address: int) -> tuple[int, int]:
    """(volume_index, slot) of a page address."""
    return address >> 24, address & 0xFFFFFF


def _e(text: str, width: int) -> bytes:
    return text.encode("cp037").ljust(width, b"\x40")[:width]


def _d(data: bytes) -> str:
    return bytes(data).decode("cp037").rstrip(" ")


def _sptime(sf: SpoolFile) -> bytes:
    """SPTIME: the creation time as six EBCDIC digits hhmmss (UTC)."""
    return sf.created.strftime("%H%M%S").encode("cp037")


def _trailer(sf: SpoolFile) -> bytes:
    """X'FD0'-X'FF7' of a first data page: SPCHAR, (CRC), SPFCB, SPCMOD, SPFLSHC."""
    t = bytearray(40)
    t[0:4] = _e(sf.chars[0] if sf.chars else "", 4)
    t[16:20] = _e(sf.fcb, 4)
    t[20:24] = _e(sf.modify, 4)
    t[36] = sf.flash_count
    return bytes(t)


def _chain(sf: SpoolFile, *, flags: int = 0, trailer: bytes | None = None) -> spk_spool_chain:
    ch = ffi.new("spk_spool_chain *")
    ch.spoolid = sf.spoolid or 0
    ch.time = _sptime(sf)
    ch.node = _e(sf.origin[1], 8)
    ch.user = _e(sf.origin[0], 8)
    ch.trailer = _trailer(sf) if trailer is None else trailer
    ch.flags = flags
    return ch


def count_pages(sf: SpoolFile) -> int:
    """Data pages the file's records (and tag) fill."""
    return sf.packed_records().measure()[0]


_raw_alloc = ffi.new_allocator(should_clear_after_alloc=False)


def _pack_into(sf: SpoolFile, addresses: Iterable[int] | None, out: WriteableBuffer, *,
               flags: int = 0,
               trailer: bytes | None = None) -> int:
    """Pack into the writable buffer out (len(addresses) pages); returns data_crc."""
    recs = sf.packed_records()
    if addresses is not None:
        addrs = array("I", addresses)
        npages = len(addrs)
        c_addrs: Union[UInt32Array, NullPtr] = ffi.from_buffer("uint32_t[]", addrs)
    else:
        npages = memoryview(out).nbytes // PAGE_SIZE
        c_addrs = ffi.NULL
    try:
        c_out = ffi.from_buffer(out, require_writable=True)
    except (TypeError, BufferError):
        raise InvalidArgumentError("out: a writable buffer is needed") from None
    ch = _chain(sf, flags=flags, trailer=trailer)
    err = new_err()
    rc = lib.spk_spool_pack(c_out, len(c_out), c_addrs,
                            npages, sf.tag_bytes(), ffi.from_buffer(recs.data), len(recs.data),
                            ffi.from_buffer(recs.ops), ffi.from_buffer("uint32_t[]", recs.ends),
                            len(recs), ch, err)
    if rc < 0:
        raise_error(rc, err)
    return int(ch.data_crc)


def _pack(sf: SpoolFile, addresses: Iterable[int] | None, *, flags: int = 0,
          trailer: bytes | None = None) -> tuple[bytes, int]:
    if addresses is not None:
        addresses = array("I", addresses)
        npages = len(addresses)
    else:
        npages = sf.packed_records().measure()[0]
    out = _raw_alloc("uint8_t[]", npages * PAGE_SIZE)   # every byte is written by C
    buf = ffi.buffer(out)
    crc = _pack_into(sf, addresses, buf, flags=flags, trailer=trailer)
    return buf[:], crc


def pack_into(sf: SpoolFile, addresses: Iterable[int], out: WriteableBuffer) -> int:
    """Pack the data pages straight into a writable buffer (e.g. a mapped
    volume region) of at least len(addresses) pages; returns the data CRC."""
    if sf.spoolid is None:
        raise InvalidArgumentError("spoolid: a spool file needs its spool ID to be packed")
    return _pack_into(sf, addresses, out)


def pack(sf: SpoolFile, addresses: Iterable[int]) -> bytes:
    """The file's data pages, the i-th linked as ``addresses[i]``; there must
    be exactly :func:`count_pages` addresses.  One C call for the chain."""
    if sf.spoolid is None:
        raise InvalidArgumentError("spoolid: a spool file needs its spool ID to be packed")
    return _pack(sf, addresses)[0]


def pack_chain(sf: SpoolFile, addresses: Iterable[int]) -> tuple[bytes, int]:
    """(pages, data_crc): :func:`pack` plus the CRC-32C of all the pages."""
    if sf.spoolid is None:
        raise InvalidArgumentError("spoolid: a spool file needs its spool ID to be packed")
    return _pack(sf, addresses)


def page_crc(page: Buffer) -> int:
    """CRC-32C of a page without its CRC field (X'FD4'-X'FD7')."""
    return lib.spk_spool_page_crc(ffi.from_buffer(page))


# -- header page -------------------------------------------------------------

def build_header_page(sf: SpoolFile, first: int, last: int, npages: int,
                      data_crc: int) -> bytes:
    """The file header page: SFBLOK (bytes 0-103), SPKX extension (from 128),
    CRC-32C at X'FD4', spool ID and SPTIME as on data pages."""
    if sf.spoolid is None:
        raise InvalidArgumentError("spoolid: a spool file needs its spool ID for its header")
    page = bytearray(PAGE_SIZE)
    flag = (SFB_USER_HOLD if sf.hold in ("user", "both") else 0) | \
           (SFB_SYSTEM_HOLD if sf.hold in ("system", "both") else 0) | \
           (SFB_DUMP if sf.dump else 0)
    struct.pack_into(">I", page, 0x04, first)                    # SFBSTART
    page[0x08:0x10] = _e(sf.owner, 8)
    page[0x10:0x18] = _e(sf.origin[0], 8)
    struct.pack_into(">IHHBB", page, 0x18, sf.record_count, sf.lrecl, sf.spoolid, flag,
                     SFBTYPE.get(sf.type, 0))
    page[0x28:0x34] = _e(sf.fname, 12)
    page[0x34:0x40] = _e(sf.ftype, 12)
    page[0x40:0x48] = _e(sf.created.strftime("%m/%d/%y"), 8)
    page[0x48:0x50] = _e(sf.created.strftime("%H:%M:%S"), 8)
    struct.pack_into(">IH", page, 0x50, last, sf.copies)
    page[0x56:0x57] = _e(sf.class_, 1)
    page[0x58:0x60] = _e(sf.dist, 8)
    page[0x60:0x64] = _e(sf.flash, 4)
    # SPKX extension
    micros = (sf.created - _EPOCH) // _dt.timedelta(microseconds=1)
    xflags = (FLAG_KEEP if sf.keep else 0) | (FLAG_MSG if sf.msg else 0)
    struct.pack_into(">4sHBB8s8s8sqII", page, SPKX_OFFSET, SPKX_MAGIC, SPKX_VERSION,
                     KIND_CODES[sf.type], xflags,
                     _e(sf.form, 8), _e(sf.dest, 8), _e(sf.origin[1], 8), micros, npages,
                     data_crc)
    page[TAG_OFFSET:TAG_OFFSET + 136] = sf.tag_bytes()
    page[312:328] = b"".join(_e(c, 4) for c in sf.chars).ljust(16, b"\x40")
    page[328:332] = _e(sf.fcb, 4)
    page[332:336] = _e(sf.modify, 4)
    page[336] = sf.modify_trc
    page[337] = sf.flash_count
    struct.pack_into(">H6s", page, OFF_FILID, sf.spoolid, _sptime(sf))
    struct.pack_into(">I", page, OFF_CRC, page_crc(page))
    return bytes(page)


@dataclass(frozen=True)
class HeaderInfo:
    """What a header page holds: the chain and a metadata-only spool file."""

    spoolfile: SpoolFile
    first: int
    last: int
    npages: int
    data_crc: int
    address: int | None = None

    @property
    def spoolid(self) -> int:
        """The file's spool ID (every header page names one, 1-9999)."""
        return self.spoolfile.spoolid or 0


def is_header_page(page: bytes) -> bool:
    """True for a whole, CRC-valid spoolkit header page (used by recover scans)."""
    return (len(page) == PAGE_SIZE and page[SPKX_OFFSET:SPKX_OFFSET + 4] == SPKX_MAGIC
            and struct.unpack_from(">I", page, OFF_CRC)[0] == page_crc(page))


def parse_header_page(page: bytes, *, path: str | None = None,
                      address: int | None = None) -> HeaderInfo:
    """Read a header page; ChecksumError / FormatError name the page."""
    where: Where = {"path": path, "page": address}
    if len(page) != PAGE_SIZE:
        raise TruncatedError(f"header page of {len(page)} bytes, not {PAGE_SIZE}", **where)
    page = bytes(page)
    if page[SPKX_OFFSET:SPKX_OFFSET + 4] != SPKX_MAGIC:
        raise FormatError("not a spool file header page (no SPKX at byte 128)", **where)
    stored, got = struct.unpack_from(">I", page, OFF_CRC)[0], page_crc(page)
    if stored != got:
        raise ChecksumError(f"header page CRC-32C {got:08X}, stored {stored:08X}",
                            path=path, page=address, offset=OFF_CRC)
    (_, version, kind, xflags, form, dest, node, micros, npages,
     data_crc) = struct.unpack_from(">4sHBB8s8s8sqII", page, SPKX_OFFSET)
    if version != SPKX_VERSION:
        raise FormatError(f"header page version {version}, this spoolkit reads 1", **where)
    if kind not in KIND_NAMES:
        raise FormatError(f"unknown file kind code {kind}", path=path, page=address,
                          offset=SPKX_OFFSET + 6)
    first, = struct.unpack_from(">I", page, 4)
    recno, lrecl, spoolid, flag, _ = struct.unpack_from(">IHHBB", page, 0x18)
    last, copies = struct.unpack_from(">IH", page, 0x50)
    if struct.unpack_from(">H", page, OFF_FILID)[0] != spoolid:
        raise FormatError("SPFILID differs from SFBFILID", path=path, page=address,
                          offset=OFF_FILID)
    if npages < 1 or first == 0 or last == 0:
        raise FormatError(f"chain of {npages} pages from {first:08X} to {last:08X}", **where)
    user, system = bool(flag & SFB_USER_HOLD), bool(flag & SFB_SYSTEM_HOLD)
    hold = ("both" if system else "user") if user else ("system" if system else "none")
    try:
        created = _EPOCH + _dt.timedelta(microseconds=micros)
        chars = [_d(page[o:o + 4]) for o in range(312, 328, 4)]
        sf = SpoolFile(
            spoolid=spoolid, type=KIND_NAMES[kind], owner=_d(page[0x08:0x10]),
            origin=(_d(page[0x10:0x18]), _d(node)), class_=_d(page[0x56:0x57]),
            form=_d(form), dest=_d(dest), dist=_d(page[0x58:0x60]),
            fname=_d(page[0x28:0x34]), ftype=_d(page[0x34:0x40]), records=None, record_count=recno,
            lrecl=lrecl, copies=copies, hold=hold, keep=bool(xflags & FLAG_KEEP),
            msg=bool(xflags & FLAG_MSG), dump=bool(flag & SFB_DUMP), created=created,
            tag=_d(page[TAG_OFFSET:TAG_OFFSET + 136]), chars=[c for c in chars if c],
            fcb=_d(page[328:332]), modify=_d(page[332:336]), modify_trc=page[336],
            flash=_d(page[0x60:0x64]), flash_count=page[337])
    except (SpoolkitError, ValueError, OverflowError) as exc:
        raise FormatError(f"header page holds an invalid attribute: {exc}", **where) from None
    return HeaderInfo(sf, first, last, npages, data_crc, address)


# -- unpacking ---------------------------------------------------------------

@dataclass
class Unpacked:
    """Records of a chain with its tag (EBCDIC, 136 bytes) and page CRC."""

    records: Records
    tag: bytes | None
    data_crc: int
    npages: int


def _unpack_batch(ch: spk_spool_chain, buf: bytes, addrs: list[int] | None, npages: int,
                  path: str | None) -> Records:
    raw = ch.flags & lib.SPK_SPOOL_RAW
    datacap = npages * (RAW_DATA_AREA if raw else DATA_AREA)
    maxrec = npages * (RAW_MAX_ENTRIES if raw else MAX_ENTRIES)
    data = _raw_alloc("uint8_t[]", datacap)
    ops = _raw_alloc("uint8_t[]", maxrec)
    ends = _raw_alloc("uint32_t[]", maxrec)
    dlen = ffi.new("uint64_t *")
    err = new_err()
    c_addrs = ffi.from_buffer("uint32_t[]", array("I", addrs)) if addrs else ffi.NULL
    rc = lib.spk_spool_unpack(ffi.from_buffer(buf), len(buf), c_addrs, npages, ch,
                              data, datacap, ops, ends, maxrec, dlen, err)
    if rc < 0:
        index = err.index if err.code == rc and 0 <= err.index < npages else 0
        page = addrs[index] if addrs else index
        raise_error(rc, err, base_offset=-index * PAGE_SIZE, path=path, page=page)
    n = rc
    out_ends = array("I")
    out_ends.frombytes(ffi.buffer(ends, 4 * n))
    return Records(ffi.buffer(data, dlen[0])[:], ffi.buffer(ops, n)[:], out_ends)


def unpack_chain(pages: bytes, *, spoolid: int | None = None,
                 addresses: Iterable[int] | None = None, check_crc: bool = True,
                 raw: bool = False, strip: bool = False, path: str | None = None) -> Unpacked:
    """Unpack a contiguous chain (all its pages back to back) in one C call;
    ``strip`` removes the records' trailing blanks as CP does."""
    if len(pages) % PAGE_SIZE or not pages:
        raise TruncatedError(f"{len(pages)} bytes are not whole 4096-byte pages", path=path)
    npages = len(pages) // PAGE_SIZE
    ch = ffi.new("spk_spool_chain *")
    ch.spoolid = spoolid or 0
    ch.flags = ((0 if spoolid is not None else lib.SPK_SPOOL_ANYID)
                | (0 if check_crc else lib.SPK_SPOOL_NOCRC) | (lib.SPK_SPOOL_RAW if raw else 0)
                | (lib.SPK_SPOOL_STRIP if strip else 0))
    ch.npages = 0 if raw else npages
    ch.prev = -1
    addrs = list(addresses) if addresses is not None else None
    recs = _unpack_batch(ch, pages, addrs, npages, path)
    tag = bytes(ch.tag) if ch.have_tag else None
    return Unpacked(recs, tag, ch.data_crc, npages)


def unpack(pages: bytes, *, spoolid: int | None = None,
           addresses: Iterable[int] | None = None, check_crc: bool = True, raw: bool = False,
           path: str | None = None) -> Records:
    """The records of a contiguous chain (see :func:`unpack_chain`)."""
    return unpack_chain(pages, spoolid=spoolid, addresses=addresses, check_crc=check_crc,
                        raw=raw, path=path).records


def iter_blocks(read_page: Callable[[int], bytes], first: int, npages: int, spoolid: int, *,
                batch: int = 64, check_crc: bool = True, path: str | None = None,
                expect_crc: int | None = None,
                created: _dt.datetime | None = None) -> Iterator[Records]:
    """Walk a chain lazily, ``batch`` pages per C call.  ``read_page(address)``
    returns one 4096-byte page.  Checks links both ways, sequence numbers,
    CRCs, spool IDs, entry lengths and loops (ChainLoopError); every error
    names the page address.  With ``expect_crc`` the CRC-32C of all pages is
    compared at the end (the header's data CRC); with ``created`` each page's
    SPTIME must match it (a page of an older file with the same spool ID)."""
    ch = ffi.new("spk_spool_chain *")
    ch.spoolid = spoolid
    ch.npages = npages
    ch.prev = -1
    ch.flags = 0 if check_crc else lib.SPK_SPOOL_NOCRC
    if created is not None:
        ch.time = created.astimezone(_dt.timezone.utc).strftime("%H%M%S").encode("cp037")
        ch.flags |= lib.SPK_SPOOL_CHKTIME
    seen: set[int] = set()
    address, walked = first, 0
    while walked < npages:
        addrs: list[int] = []
        bufs: list[bytes] = []
        while len(addrs) < batch and walked + len(addrs) < npages:
            try:
                if address == 0:
                    raise TruncatedError(f"chain ends after {walked + len(addrs)} of "
                                         f"{npages} pages", path=path,
                                         page=addrs[-1] if addrs else None)
                if address in seen:
                    raise ChainLoopError(f"chain of spool file {spoolid} returns to a page "
                                         "it already passed", path=path, page=address)
                seen.add(address)
                page = read_page(address)
                if len(page) != PAGE_SIZE:
                    raise TruncatedError(f"page of {len(page)} bytes", path=path, page=address)
            except Exception:
                # the link came from a page not checked yet: a fault there comes first
                if addrs:
                    _unpack_batch(ch, b"".join(bufs), addrs, len(addrs), path)
                raise
            addrs.append(address)
            bufs.append(page)
            address = int.from_bytes(page[0:4], "big")
        yield _unpack_batch(ch, b"".join(bufs), addrs, len(addrs), path)
        walked += len(addrs)
    if expect_crc is not None and ch.data_crc != expect_crc:
        raise ChecksumError(f"data pages CRC-32C {ch.data_crc:08X}, header says "
                            f"{expect_crc:08X}", path=path, page=first)


def iter_records(read_page: Callable[[int], bytes], first: int, npages: int, spoolid: int,
                 *, batch: int = 64, check_crc: bool = True, path: str | None = None,
                 expect_crc: int | None = None, created: _dt.datetime | None = None
                 ) -> Iterator[tuple[int, bytes]]:
    """:func:`iter_blocks` flattened to ``(ccw_opcode, data)`` pairs."""
    for block in iter_blocks(read_page, first, npages, spoolid, batch=batch,
                             check_crc=check_crc, path=path, expect_crc=expect_crc,
                             created=created):
        yield from block


def chain_loader(read_page: Callable[[int], bytes], info: HeaderInfo, *,
                 path: str | None = None) -> Callable[[], Iterator[Records]]:
    """A SpoolFile ``loader`` that walks the chain a header page describes."""
    def load() -> Iterator[Records]:
        return iter_blocks(read_page, info.first, info.npages, info.spoolid,
                           path=path, expect_crc=info.data_crc,
                           created=info.spoolfile.created)
    return load


__all__ = [
    "PAGE_SIZE", "HeaderInfo", "Unpacked", "build_header_page", "chain_loader", "count_pages",
    "pack_into",
    "crc32c", "is_header_page", "iter_blocks", "iter_records", "pack", "pack_chain",
    "page_address", "page_crc", "parse_header_page", "split_address", "unpack", "unpack_chain",
]
