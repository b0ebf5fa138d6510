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
from .fileset import CMSFile
from .fst import FileStatus, check_mode, check_name
from .records import CMSRecords, pack, unpack

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

def _date_fields(when: _dt.datetime) -> tuple[bytes, bytes, bytes, int]:
    md = bytes([_bcd(when.month), _bcd(when.day), _bcd(when.hour), _bcd(when.minute)])
    year = f"{when.year % 100:02d}".encode("cp037")
    adt = bytes(_bcd(v) for v in (when.year % 100, when.month, when.day, when.hour,
                                  when.minute, when.second))
    return md, year, adt, CENTURY if when.year >= 2000 else 0


def _stream_len(f: CMSFile) -> int:
    return len(f.records.data) + (2 * len(f.records) if f.recfm == "V" else 0)


def _check_file(f: CMSFile) -> tuple[bytes, bytes, bytes, int]:
    fn, ft, fm = check_name(f.fname, "file name"), check_name(f.ftype, "file type"), \
        check_mode(f.fmode)
    if f.recfm not in ("F", "V"):
        raise FormatError(f"{f.name}: record format {f.recfm!r} (F or V)")
    if f.recfm == "F":
        lens = _lengths(f.records)
        if any(n != f.lrecl for n in set(lens)):
            raise FormatError(f"{f.name}: F records must all be LRECL {f.lrecl} bytes")
    lrecl = f.lrecl if f.recfm == "F" else max(f.lrecl, f.records.longest)
    if not 1 <= lrecl <= (0xFFFF if f.recfm == "V" else 0x7FFFFFFF):
        raise FormatError(f"{f.name}: LRECL {lrecl} is out of range")
    return fn, ft, fm, lrecl


def _lengths(records: CMSRecords) -> array[int]:
    ends = records.ends
    out = array("I", ends)
    if len(out) > 1:
        out[1:] = array("I", map(int.__sub__, ends[1:], ends[:-1]))
    return out


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

class _Pending:
    """The blocks of the file being read."""

    def __init__(self) -> None:
        self.data: list[bytes] = []
        self.numbers: list[int] = []
        self.offsets: list[int] = []

    def add(self, data: bytes, number: int, offset: int) -> None:
        self.data.append(data)
        self.numbers.append(number)
        self.offsets.append(offset)


def _records(kind: int, st: FileStatus, p: _Pending, path: str) -> CMSRecords:
    """The file's records from its data blocks, errors naming the file, the
    tape block and its offset."""
    ends = array("I")
    total = 0
    for d in p.data:
        total += len(d)
        ends.append(total)
    blob = b"".join(p.data)
    out = bytearray(max(total, 1))
    err = new_err()
    rc = lib.spk_cmstape_gather(blob, len(blob), ffi.from_buffer("uint32_t[]", ends)
                                if len(ends) else ffi.NULL, len(ends), kind,
                                ffi.from_buffer(out), len(out), err)
    if rc < 0:
        i = int(err.index)
        blk = p.numbers[i] if 0 <= i < len(p.numbers) else None
        off = p.offsets[i] if 0 <= i < len(p.offsets) else None
        _raise(rc, err, st, path, blk, off)
    stream = memoryview(out)[:rc]
    if st.recfm == "F" and st.records * st.lrecl > rc:
        last = len(p.numbers) - 1
        raise TruncatedError(f"{st.name}: {st.records} records of {st.lrecl} need "
                             f"{st.records * st.lrecl} bytes, its data blocks hold {rc}",
                             path=path, block=p.numbers[last] if p.numbers else None,
                             offset=p.offsets[last] if p.offsets else None)
    try:
        return unpack(stream, st.recfm, st.lrecl, st.records)
    except SpoolkitError as exc:
        pos = exc.offset if exc.offset is not None else rc
        plen = [0] + [int(e) for e in ends]
        i = min(max(bisect_right(plen, pos) - 1, 0), max(len(p.numbers) - 1, 0))
        blk = p.numbers[i] if p.numbers else None
        off = p.offsets[i] + 5 + (pos - plen[i]) if p.offsets else None
        raise type(exc)(f"{st.name}: {exc.message} (byte {pos} of its data)", path=path,
                        block=blk, offset=off) from None


def _raise(rc: int, err: object, st: FileStatus, path: str, blk: Optional[int],
           off: Optional[int]) -> None:
    try:
        check(rc, err)  # type: ignore[arg-type]
    except SpoolkitError as exc:
        raise type(exc)(f"{st.name}: {exc.message}", path=path, block=blk,
                        offset=off) from None


def _walk(path: PathLike, kind: int, data: bool
          ) -> Iterator[tuple[TapeEntry, Optional[CMSRecords]]]:
    """(entry, records or None) of every file on the tape, in order."""
    name = "vmfplc2" if kind == PLC else "tapedump"
    with open_tape(path) as tape:
        spath = str(tape.path)
        marks = 0
        k = -1
        cur: Optional[tuple[FileStatus, int, int, int]] = None    # PLC: st, announced, blk, off
        pend = _Pending()
        for blk in tape:
            k += 1
            if blk.is_tapemark:
                marks += 1
                if kind == DUMP and pend.data:
                    raise TruncatedError(f"{len(pend.data)} TAPE DUMP data blocks end at a "
                                         "tapemark without their CMSN block", path=spath,
                                         block=k, offset=blk.offset)
                if marks >= 2:
                    break
                continue
            marks = 0
            head = blk.data[:5]
            if kind == PLC:
                if head == PLCH:
                    if cur is not None:
                        yield _finish_plc(cur, pend, spath, data, name)
                    st, announced = decode_plch(blk.data, f"PLCH block {k}")
                    cur, pend = (st, announced, k, blk.offset), _Pending()
                elif head == PLCD:
                    if cur is None:
                        raise FormatError("a PLCD data block before any PLCH header block",
                                          path=spath, block=k, offset=blk.offset)
                    if data:
                        pend.add(blk.data, k, blk.offset)
                    else:
                        pend.numbers.append(k)
                else:
                    raise FormatError(f"block of {len(blk.data)} bytes starts "
                                      f"{head.hex().upper()}: not a VMFPLC2 block (X'02' "
                                      "PLCH or PLCD)" + ("" if cur is None else
                                                         f" in {cur[0].name}"),
                                      path=spath, block=k, offset=blk.offset)
            else:
                if head == CMSN:
                    st = decode_cmsn(blk.data, f"CMSN block {k}")
                    entry = TapeEntry(st, k, blk.offset, name)
                    yield entry, (_records(DUMP, st, pend, spath) if data else None)
                    pend = _Pending()
                elif head in (CMSD, CMS0):
                    pend.add(blk.data if data else b"", k, blk.offset)
                else:
                    raise FormatError(f"block of {len(blk.data)} bytes starts "
                                      f"{head.hex().upper()}: not a TAPE DUMP block (X'02' "
                                      "'CMS ', 'CMS0' or 'CMSN')", path=spath, block=k,
                                      offset=blk.offset)
        if kind == PLC and cur is not None:
            yield _finish_plc(cur, pend, spath, data, name)
        elif kind == DUMP and pend.data:
            raise TruncatedError(f"{len(pend.data)} TAPE DUMP data blocks at the end of the "
                                 "tape without their CMSN block", path=spath,
                                 block=pend.numbers[-1], offset=pend.offsets[-1])


def _finish_plc(cur: tuple[FileStatus, int, int, int], pend: _Pending, path: str, data: bool,
                name: str) -> tuple[TapeEntry, Optional[CMSRecords]]:
    st, announced, k, off = cur
    have = len(pend.numbers)
    if have < announced:
        last = pend.numbers[-1] if pend.numbers else k
        raise TruncatedError(f"{st.name}: its PLCH block announces {announced} data blocks, "
                             f"the tape has {have}", path=path, block=last,
                             offset=pend.offsets[-1] if pend.offsets else off)
    return TapeEntry(st, k, off, name), (_records(PLC, st, pend, path) if data else None)


def _cmsfile(st: FileStatus, recs: CMSRecords) -> CMSFile:
    return CMSFile(st.fname, st.ftype, st.fmode, st.recfm, st.lrecl, st.datetime(), recs)


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
        when = f.date or _dt.datetime.now()
        hdr = plch_block(f, when) if self.kind == PLC else cmsn_block(f, when)
        size = _stream_len(f)
        if size:
            stream, _, _ = pack(f.records, f.recfm, f.lrecl, UNIT)
            stream = stream[:-(-size // UNIT) * UNIT]
        else:
            stream = b""
        fr = ffi.new("spk_archive_frame *")
        fr.format, fr.method, fr.level, fr.chunksize = self.tape.block_framing()
        fr.prev = 0
        bound = lib.spk_cmstape_bound(len(stream), self.kind, len(hdr), fr)
        out = bytearray(max(1, check(bound)))
        err = new_err()
        n = check(lib.spk_cmstape_encode(stream, len(stream), self.kind, hdr, len(hdr), fr,
                                         ffi.from_buffer(out), len(out), err), err,
                  path=str(self.tape.path))
        self.tape.write_framed(memoryview(out)[:n], int(fr.blocks), int(fr.prev))
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


__all__ = ["TapeEntry", "TapeWriter", "cmsn_block", "decode_cmsn", "decode_plch",
           "plch_block", "read_tapedump", "read_vmfplc2", "scan_tapedump", "scan_vmfplc2",
           "write_tapedump", "write_vmfplc2"]
