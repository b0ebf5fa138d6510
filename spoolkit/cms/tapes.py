"""CMS files on tape: VMFPLC2 (DUMP / LOAD / SCAN) and CMS TAPE DUMP.

    for f in read_vmfplc2("maint.aws"):
        print(f.name, f.recfm, f.lrecl, len(f.records))
    write_tapedump("out.aws", files)          # refuses out.aws unless force

A VMFPLC2 file is a PLCH block (X'02' "PLCH" and a 72-byte FST) and PLCD
blocks of up to 4000 bytes of its record stream; a TAPE DUMP file is "CMS "
blocks of 800 bytes and a CMSN block (X'02' "CMSN", 64 bytes of FST, the
name).  Files follow each other; two tapemarks end the tape.  The block
framing and record packing run in C (csrc/cmstape.c, csrc/cms.c); per file
Python decodes one header.  Layouts and sources: docs/formats.md "VMFPLC2
and TAPE DUMP tapes".
"""

from __future__ import annotations

import datetime as _dt
import os
import struct
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Optional, Union

from .._native import check, ffi, lib, new_err
from ..errors import FormatError, SpoolkitError, TruncatedError
from ..output import PathLike
from ..tape import open_tape
from ..tape.state import EWINDOW, FORMATS, MAXBLOCK
from ..tape.window import Window
from .fileset import CMSFile
from .fst import FileStatus, check_mode, check_name
from .records import CMSRecords, u32

Buffer = Union[bytes, bytearray, memoryview]
PLC = lib.SPK_CMSTAPE_PLC
DUMP = lib.SPK_CMSTAPE_DUMP
UNIT = lib.SPK_CMSTAPE_UNIT                 # 800
PLC_DATA = lib.SPK_CMSTAPE_PLC_DATA         # 4000

PLCH = bytes([0x02, 0xD7, 0xD3, 0xC3, 0xC8])    # X'02' "PLCH"
PLCD = bytes([0x02, 0xD7, 0xD3, 0xC3, 0xC4])    # X'02' "PLCD"
CMSD = bytes([0x02, 0xC3, 0xD4, 0xE2, 0x40])    # X'02' "CMS "
CMS0 = bytes([0x02, 0xC3, 0xD4, 0xE2, 0xF0])    # X'02' "CMS0": a null block
CMSN = bytes([0x02, 0xC3, 0xD4, 0xE2, 0xD5])    # X'02' "CMSN"
CENTURY = 0x08

#: the FST of a PLCH block: fn ft date(MMDDhhmm BCD) wp rp fm items fcl recfm
#: flags lrecl dbc year(EBCDIC) lastsz numblk afop adbc aic levels ptrsz
#: adate(YYMMDDhhmmss BCD) reserved
PLC_FST = struct.Struct(">8s8s4sHH2sHHBBIH2sIIIIIBB6s4s")
#: the first 24 bytes of a CMSN block's FST: wp rp fm items fcl recfm flags
#: lrecl dbc year date; then afop adbc aic (EDF CMS; VM/370 leaves other bytes)
N_FST = struct.Struct(">HH2sHHBBIH2s4s")
N_AIC = 0x20
N_NAME = 64
N_BLOCK = 805                               # VM/370 DMSTPE writes every block 805 bytes
assert PLC_FST.size == 72 and N_FST.size == 24


def _bcd(v: int) -> int:
    return (v // 10) << 4 | v % 10


def _unbcd(b: int) -> int:
    hi, lo = b >> 4, b & 15
    if hi > 9 or lo > 9:
        raise ValueError(b)
    return hi * 10 + lo


def _text(raw: bytes) -> str:
    return raw.decode("cp037").rstrip(" ")


@dataclass(frozen=True)
class TapeEntry:
    """One file's header as a tape holds it, and where it is."""

    status: FileStatus          #: the attributes (``cms list`` prints ``status.to_dict()``)
    block: int                  #: its header block's number (from 0; tapemarks count)
    offset: int                 #: that block's offset in the image
    kind: str                   #: "vmfplc2" or "tapedump"


# -- headers ------------------------------------------------------------------------

_BCD = bytes(_bcd(v) for v in range(100))
_YEARS = [f"{v:02d}".encode("cp037") for v in range(100)]


def _date_fields(when: _dt.datetime) -> tuple[bytes, bytes, bytes, int]:
    b = _BCD
    yy = when.year % 100
    md = bytes((b[when.month], b[when.day], b[when.hour], b[when.minute]))
    adt = bytes((b[yy], b[when.month], b[when.day], b[when.hour], b[when.minute],
                 b[when.second]))
    return md, _YEARS[yy], adt, CENTURY if when.year >= 2000 else 0


def _stream_len(f: CMSFile) -> int:
    return len(f.records.data) + (2 * len(f.records) if f.recfm == "V" else 0)


def _check_file(f: CMSFile) -> tuple[bytes, bytes, bytes, int]:
    fn, ft, fm = check_name(f.fname, "file name"), check_name(f.ftype, "file type"), \
        check_mode(f.fmode)
    if f.recfm not in ("F", "V"):
        raise FormatError(f"{f.name}: record format {f.recfm!r} (F or V)")
    # the records are checked against it in C (spk_cmstape_dump)
    lrecl = f.lrecl if f.recfm == "F" or f.lrecl >= 1 else max(f.records.longest, 1)
    if not 1 <= lrecl <= (0xFFFF if f.recfm == "V" else 0x7FFFFFFF):
        raise FormatError(f"{f.name}: LRECL {lrecl} is out of range")
    return fn, ft, fm, lrecl


def plch_block(f: CMSFile, when: _dt.datetime) -> bytes:
    """The PLCH header block (77 bytes) of a file for VMFPLC2."""
    fn, ft, fm, lrecl = _check_file(f)
    n = len(f.records)
    raw = _stream_len(f)
    md, year, adt, flags = _date_fields(when)
    numblk, rest = divmod(raw, PLC_DATA)
    lastsz = -(-rest // UNIT)
    dbc = -(-raw // UNIT)
    return PLCH + PLC_FST.pack(fn, ft, md, min(n + 1, 0xFFFF), 1, fm, min(n, 0xFFFF), 0,
                               0xC6 if f.recfm == "F" else 0xE5, flags, lrecl,
                               min(dbc, 0xFFFF), year, lastsz, numblk, 0, dbc, n, 0, 0, adt,
                               bytes(4))


def cmsn_block(f: CMSFile, when: _dt.datetime) -> bytes:
    """The CMSN block (805 bytes, as VM/370 DMSTPE writes it) of a file."""
    fn, ft, fm, lrecl = _check_file(f)
    n = len(f.records)
    md, year, _, flags = _date_fields(when)
    dbc = -(-_stream_len(f) // UNIT)
    body = bytearray(N_BLOCK - len(CMSN))
    N_FST.pack_into(body, 0, min(n + 1, 0xFFFF), 1, fm, min(n, 0xFFFF), 0,
                    0xC6 if f.recfm == "F" else 0xE5, flags, lrecl, min(dbc, 0xFFFF), year, md)
    struct.pack_into(">III", body, 0x18, 0, dbc, n)
    body[N_NAME:N_NAME + 18] = fn + ft + fm
    return CMSN + bytes(body)


def _recfm(b: int, where: str) -> str:
    if b == 0xC6:
        return "F"
    if b == 0xE5:
        return "V"
    raise FormatError(f"{where}: record format X'{b:02X}' is neither F nor V")


def _date(md: bytes, year: bytes, flags: int, adt: bytes) -> str:
    """The date as FileStatus keeps it: "YYYY-MM-DD HH:MM:SS" from the
    alternate date (with its century flag), else "YY-MM-DD HH:MM"."""
    try:
        if any(adt):
            v = [_unbcd(b) for b in adt]
            cc = 20 if flags & CENTURY else 19
            return f"{cc}{v[0]:02d}-{v[1]:02d}-{v[2]:02d} {v[3]:02d}:{v[4]:02d}:{v[5]:02d}"
        m = [_unbcd(b) for b in md]
        yy = year.decode("cp037")
        if flags & CENTURY and yy.isdigit():
            return f"20{yy}-{m[0]:02d}-{m[1]:02d} {m[2]:02d}:{m[3]:02d}:00"
        return f"{yy}-{m[0]:02d}-{m[1]:02d} {m[2]:02d}:{m[3]:02d}"
    except (ValueError, UnicodeDecodeError):
        return md.hex().upper()


def decode_plch(blk: bytes, where: str = "PLCH block") -> tuple[FileStatus, int]:
    """(attributes, data blocks announced) of a PLCH block."""
    if len(blk) < len(PLCH) + 40:
        raise TruncatedError(f"{where}: {len(blk)} bytes, a PLCH block has at least 45")
    body = blk[len(PLCH):len(PLCH) + PLC_FST.size].ljust(PLC_FST.size, b"\0")
    (fn, ft, md, wp, rp, fm, items, fcl, recfm, flags, lrecl, dbc, year, lastsz, numblk,
     _afop, adbc, aic, _lv, _ps, adt, _x) = PLC_FST.unpack(body)
    if len(blk) < len(PLCH) + 48:
        lastsz = numblk = 0
        adt = bytes(6)
        aic = 0
    records = aic or items
    st = FileStatus(_text(fn), _text(ft), _text(fm), _recfm(recfm, where), lrecl, records,
                    adbc or dbc, _date(md, year, flags, adt), wp, rp, flags, fcl=fcl,
                    raw=bytes(body))
    if lastsz > PLC_DATA // UNIT:
        raise FormatError(f"{where}: last block of {lastsz} 800-byte units (at most 5)")
    return st, numblk + (1 if lastsz else 0)


def decode_cmsn(blk: bytes, where: str = "CMSN block") -> FileStatus:
    """The attributes a CMSN block holds."""
    if len(blk) < len(CMSN) + N_NAME + 18:
        raise TruncatedError(f"{where}: {len(blk)} bytes, a CMSN block has at least 87")
    body = blk[len(CMSN):]
    wp, rp, _mode, items, fcl, recfm, flags, lrecl, dbc, year, md = N_FST.unpack_from(body)
    (aic,) = struct.unpack_from(">I", body, N_AIC)
    name = body[N_NAME:N_NAME + 18]
    records = aic if items == 0xFFFF and aic > items else items
    return FileStatus(_text(name[0:8]), _text(name[8:16]), _text(name[16:18]),
                      _recfm(recfm, where), lrecl, records, dbc,
                      _date(md, year, flags, bytes(6)), wp, rp, flags, fcl=fcl,
                      raw=bytes(body[:N_NAME + 18]))


# -- reading ------------------------------------------------------------------------

RUN_BYTES = 8 << 20          # data block bytes per C call (plus one largest block)
RUN_BLOCKS = 4096


class _Pending:
    """The data blocks of the file being read: runs of blocks as the C
    reader returns them (bytes, block ends, offsets, first block number)."""

    def __init__(self) -> None:
        self.runs: list[tuple[Buffer, array[int], list[int], int]] = []
        self.count = 0

    def add(self, data: Buffer, ends: array[int], offs: list[int], first: int) -> None:
        self.runs.append((data, ends, offs, first))
        self.count += len(ends)

    def keep(self) -> None:
        """Copy the last run out of the reader's buffer (more runs follow)."""
        if self.runs:
            data, ends, offs, first = self.runs[-1]
            self.runs[-1] = (bytes(data), ends, offs, first)

    def where(self, i: int) -> tuple[Optional[int], Optional[int]]:
        """(block number, offset) of data block i of the file."""
        for _data, ends, offs, first in self.runs:
            if i < len(ends):
                return first + i, offs[i]
            i -= len(ends)
        return None, None

    def last(self) -> tuple[Optional[int], Optional[int]]:
        return self.where(self.count - 1) if self.count else (None, None)


def _unpack(stream: Buffer, recfm: str, lrecl: int, n: int) -> CMSRecords:
    """``n`` records from a record stream, F and V alike in C (the record
    ends of an F file too: no Python object per record)."""
    var = recfm == "V"
    out = bytearray(max(len(stream) if var else min(n * lrecl, len(stream)), 1))
    ends = array("I", bytes(4 * n))
    err = new_err()
    k = check(lib.spk_cms_unpack(ffi.from_buffer(stream), len(stream), 1 if var else 0, lrecl,
                                 n, ffi.from_buffer(out), len(out), u32(ends), err), err)
    return CMSRecords(bytes(memoryview(out)[:k]), ends)


def _records(st: FileStatus, p: _Pending, path: str) -> CMSRecords:
    """The file's records from its data blocks' data, errors naming the
    file, the tape block and its offset."""
    if len(p.runs) == 1:
        stream, ends = p.runs[0][0], p.runs[0][1]
    else:
        stream = b"".join(bytes(r[0]) for r in p.runs)
        ends = array("I")
        base = 0
        for data, e, _, _ in p.runs:
            ends.extend(x + base for x in e)
            base += len(data)
    size = len(stream)
    if st.recfm == "F" and st.records * st.lrecl > size:
        blk, off = p.last()
        raise TruncatedError(f"{st.name}: {st.records} records of {st.lrecl} need "
                             f"{st.records * st.lrecl} bytes, its data blocks hold {size}",
                             path=path, block=blk, offset=off)
    try:
        return _unpack(stream, st.recfm, st.lrecl, st.records)
    except SpoolkitError as exc:
        pos = exc.offset if exc.offset is not None else size
        i = min(bisect_right(ends, pos), max(p.count - 1, 0))
        blk, off = p.where(i)
        raise type(exc)(f"{st.name}: {exc.message} (byte {pos} of its data)", path=path,
                        block=blk, offset=off) from None


class _Reader:
    """Runs of data blocks read by spk_cmstape_read through a tape window."""

    def __init__(self, path: str, kind: int) -> None:
        self.path, self.kind = path, kind
        self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self.out = bytearray(RUN_BYTES + MAXBLOCK + 5)
        self.cout = ffi.from_buffer(self.out)
        self.ends = array("I", bytes(4 * RUN_BLOCKS))
        self.offs = array("Q", bytes(8 * RUN_BLOCKS))
        self.cends = ffi.from_buffer("uint32_t[]", self.ends)
        self.coffs = ffi.from_buffer("uint64_t[]", self.offs)
        self.r = ffi.new("spk_cmstape_run *")
        self.err = new_err()

    def start(self, fmt: int) -> None:
        self.win = Window(self.fd, self.path, fmt, RUN_BYTES)

    def run(self) -> int:
        r, w, err = self.r, self.win, self.err
        r.n = r.pos = 0
        if not w.covers(int(r.off)) and int(r.off) < w.file_size():
            w.fill(int(r.off), RUN_BYTES)
        while True:
            rc = lib.spk_cmstape_read(w.src, r, self.kind, self.cout, len(self.out),
                                      self.cends, self.coffs, RUN_BLOCKS, err)
            if rc != EWINDOW:
                break
            w.refill_for(int(err.offset), int(err.index), RUN_BYTES)
        return check(rc, err, path=self.path, block=int(r.block), offset=int(r.off))

    def close(self) -> None:
        os.close(self.fd)


def _walk(path: PathLike, kind: int, data: bool
          ) -> Iterator[tuple[TapeEntry, Optional[CMSRecords]]]:
    """(entry, records or None) of every file on the tape, in order."""
    name = "vmfplc2" if kind == PLC else "tapedump"
    with open_tape(path) as tape:           # the shared lock and the format
        spath = str(tape.path)
        rd = _Reader(spath, kind)
        try:
            rd.start(FORMATS[tape.format])
            yield from _walk_runs(rd, kind, data, spath, name)
        finally:
            rd.close()


def _walk_runs(rd: _Reader, kind: int, data: bool, spath: str, name: str
               ) -> Iterator[tuple[TapeEntry, Optional[CMSRecords]]]:
    marks = 0
    cur: Optional[tuple[FileStatus, int, int, int]] = None    # PLC: st, announced, blk, off
    pend = _Pending()
    r = rd.r
    while True:
        first = int(r.block)
        try:
            n = rd.run()
        except SpoolkitError as exc:
            if kind == PLC and cur is not None:
                raise type(exc)(f"{cur[0].name}: {exc.message}", path=spath, block=exc.block,
                                offset=exc.offset) from None
            raise
        if n:
            marks = 0
            if kind == PLC and cur is None:
                blk, off = first, rd.offs[0]
                raise FormatError("a PLCD data block before any PLCH header block",
                                  path=spath, block=blk, offset=off)
            ends = array("I", rd.ends[:n])
            # a view of the reader's buffer, valid until its next run
            pend.add(memoryview(rd.out)[5:5 + r.pos] if data else b"", ends,
                     rd.offs[:n].tolist(), first)
        stop = int(r.stop)
        if stop == lib.SPK_CMSTAPE_STOP_FULL:
            pend.keep()
            continue
        if stop == lib.SPK_CMSTAPE_STOP_MARK:
            pend.keep()
            marks += 1
            if kind == DUMP and pend.count:
                raise TruncatedError(f"{pend.count} TAPE DUMP data blocks end at a "
                                     "tapemark without their CMSN block", path=spath,
                                     block=int(r.block) - 1)
            if marks >= 2:
                break
            continue
        if stop == lib.SPK_CMSTAPE_STOP_END:
            break
        # another block: a header, or no block of this format
        marks = 0
        k, boff = int(r.block) - 1, int(r.other_off)
        raw = bytes(rd.out[5 + r.pos:5 + r.pos + r.other_len])
        head = raw[:5]
        if kind == PLC and head == PLCH:
            if cur is not None:
                yield _finish_plc(cur, pend, spath, data, name)
            st, announced = decode_plch(raw, f"PLCH block {k}")
            cur, pend = (st, announced, k, boff), _Pending()
        elif kind == DUMP and head == CMSN:
            st = decode_cmsn(raw, f"CMSN block {k}")
            yield TapeEntry(st, k, boff, name), (_records(st, pend, spath) if data else None)
            pend = _Pending()
        else:
            what = ("a VMFPLC2 block (X'02' PLCH or PLCD)" if kind == PLC else
                    "a TAPE DUMP block (X'02' 'CMS ', 'CMS0' or 'CMSN')")
            inside = f" in {cur[0].name}" if kind == PLC and cur is not None else ""
            raise FormatError(f"block of {len(raw)} bytes starts {head.hex().upper()}: not "
                              f"{what}{inside}", path=spath, block=k, offset=boff)
    if kind == PLC and cur is not None:
        yield _finish_plc(cur, pend, spath, data, name)
    elif kind == DUMP and pend.count:
        blk_n, off_n = pend.last()
        raise TruncatedError(f"{pend.count} TAPE DUMP data blocks at the end of the "
                             "tape without their CMSN block", path=spath, block=blk_n,
                             offset=off_n)


def _finish_plc(cur: tuple[FileStatus, int, int, int], pend: _Pending, path: str, data: bool,
                name: str) -> tuple[TapeEntry, Optional[CMSRecords]]:
    st, announced, k, off = cur
    if pend.count < announced:
        blk, boff = pend.last()
        raise TruncatedError(f"{st.name}: its PLCH block announces {announced} data blocks, "
                             f"the tape has {pend.count}", path=path,
                             block=k if blk is None else blk,
                             offset=off if boff is None else boff)
    return TapeEntry(st, k, off, name), (_records(st, pend, path) if data else None)


def _when(st: FileStatus) -> Optional[_dt.datetime]:
    d = st.date
    if len(d) == 19:
        try:
            return _dt.datetime(int(d[0:4]), int(d[5:7]), int(d[8:10]), int(d[11:13]),
                                int(d[14:16]), int(d[17:19]))
        except ValueError:
            return None
    return st.datetime()


def _cmsfile(st: FileStatus, recs: CMSRecords) -> CMSFile:
    return CMSFile(st.fname, st.ftype, st.fmode, st.recfm, st.lrecl, _when(st), recs)


def scan_vmfplc2(path: PathLike) -> list[TapeEntry]:
    """The files of a VMFPLC2 tape from their PLCH blocks (VMFPLC2 SCAN)."""
    return [e for e, _ in _walk(path, PLC, False)]


def read_vmfplc2(path: PathLike) -> Iterator[CMSFile]:
    """The files of a VMFPLC2 tape with their records (VMFPLC2 LOAD)."""
    for e, recs in _walk(path, PLC, True):
        assert recs is not None
        yield _cmsfile(e.status, recs)


def scan_tapedump(path: PathLike) -> list[TapeEntry]:
    """The files of a CMS TAPE DUMP tape from their CMSN blocks (TAPE SCAN)."""
    return [e for e, _ in _walk(path, DUMP, False)]


def read_tapedump(path: PathLike) -> Iterator[CMSFile]:
    """The files of a CMS TAPE DUMP tape with their records (TAPE LOAD)."""
    for e, recs in _walk(path, DUMP, True):
        assert recs is not None
        yield _cmsfile(e.status, recs)


# -- writing ------------------------------------------------------------------------

def encode_file(f: CMSFile, kind: int = PLC,
                framing: tuple[int, int, int, int] = (lib.SPK_TAPE_AWS, 0, 4, 65535), *,
                path: Optional[str] = None) -> tuple[memoryview, int, int]:
    """A file's tape blocks framed as ``framing`` says (format, compression,
    level, chunk size: :meth:`TapeImage.block_framing`), its header block
    included: (framed bytes, blocks, last chunk length) for
    :meth:`TapeImage.write_framed`.  The first header's previous-length
    field is 0.  The date is now when the file has none."""
    when = f.date or _dt.datetime.now()
    hdr = plch_block(f, when) if kind == PLC else cmsn_block(f, when)
    fr = ffi.new("spk_archive_frame *")
    fr.format, fr.method, fr.level, fr.chunksize = framing
    fr.prev = 0
    out = bytearray(max(1, check(lib.spk_cmstape_bound(_stream_len(f), kind, len(hdr), fr))))
    err = new_err()
    recs = f.records
    rc = lib.spk_cmstape_dump(recs.data, len(recs.data), u32(recs.ends), len(recs),
                              1 if f.recfm == "V" else 0, _lrecl(hdr, kind), kind, hdr, len(hdr),
                              fr, ffi.from_buffer(out), len(out), err)
    if rc < 0:
        try:
            check(rc, err)
        except SpoolkitError as exc:
            raise type(exc)(f"{f.name}: {exc.message}", path=path) from None
    return memoryview(out)[:rc], int(fr.blocks), int(fr.prev)


def _lrecl(hdr: bytes, kind: int) -> int:
    """The LRECL a header block just made holds."""
    return int.from_bytes(hdr[37:41] if kind == PLC else hdr[17:21], "big")


class TapeWriter:
    """Writes CMS files one after another onto a new tape image (temporary
    name, renamed into place by :meth:`close`; :meth:`abort` leaves no file)."""

    def __init__(self, path: PathLike, kind: int, *, force: bool = False,
                 compress: Union[str, None] = "auto", level: int = 4) -> None:
        if compress == "auto":
            compress = "zlib" if str(path).lower().endswith(".het") else None
        self.kind = kind
        self.tape = open_tape(path, "w", compress=compress, level=level, overwrite=force)
        self.count = 0

    def add(self, f: CMSFile) -> None:
        """Append a file (its date, or now when it has none)."""
        framed, blocks, last = encode_file(f, self.kind, self.tape.block_framing(),
                                           path=str(self.tape.path))
        self.tape.write_framed(framed, blocks, last)
        self.count += 1

    def close(self) -> None:
        """End the tape with two tapemarks and put it in place."""
        self.tape.tapemark()
        self.tape.tapemark()
        self.tape.close()

    def abort(self) -> None:
        """Drop the tape being written."""
        self.tape.abort()

    def __enter__(self) -> TapeWriter:
        return self

    def __exit__(self, exc_type: Optional[type[BaseException]], *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_vmfplc2(path: PathLike, files: Iterable[CMSFile], *, force: bool = False,
                  compress: Union[str, None] = "auto") -> int:
    """Write files to a new VMFPLC2 tape (as VMFPLC2 DUMP); an existing
    ``path`` is refused unless ``force``.  ``compress``: "zlib", "bzip2",
    None, or "auto" (zlib for a .het name).  Returns the files written."""
    with TapeWriter(path, PLC, force=force, compress=compress) as w:
        for f in files:
            w.add(f)
        return w.count


def write_tapedump(path: PathLike, files: Iterable[CMSFile], *, force: bool = False,
                   compress: Union[str, None] = "auto") -> int:
    """Write files to a new CMS TAPE DUMP tape (as TAPE DUMP); as
    :func:`write_vmfplc2` otherwise."""
    with TapeWriter(path, DUMP, force=force, compress=compress) as w:
        for f in files:
            w.add(f)
        return w.count


__all__ = ["DUMP", "PLC", "TapeEntry", "TapeWriter", "cmsn_block", "decode_cmsn", "decode_plch",
           "encode_file", "plch_block", "read_tapedump", "read_vmfplc2", "scan_tapedump",
           "scan_vmfplc2", "write_tapedump", "write_vmfplc2"]
