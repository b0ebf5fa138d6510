"""VMARC archives: CMS files packed by the VMARC command (LZW, S2 or STORE).

An archive is a file of fixed-length records (80 bytes, or whatever the
BLOCK option of VMARC PACK chose), its host form the records back to back.
Each member is a 38-byte ``:CFF`` header and the compressed stream of the
file, which runs on across records and is zero-padded to the end of its last
record; the next member starts on a record boundary.  The layout and how the
streams work are in ``docs/formats.md`` ("VMARC"); the byte work is in the C
core (``csrc/vmarc.c``).

Reading: :func:`list_vmarc` (headers, record counts and where each member
is), :func:`read_vmarc` (the files as :class:`~spoolkit.cms.fileset.CMSFile`);
``*_bytes`` and ``*_records`` forms read an archive that is already in
memory, or that is itself a CMS file (its records).  Writing:
:func:`write_vmarc` (a host file), :func:`pack_vmarc` (the bytes),
:func:`vmarc_records` (the archive as the records of an F file).
"""

from __future__ import annotations

import bisect
import datetime as _dt
import os
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Optional, Union

from .._native import check, ffi, lib, new_err, raise_error
from ..errors import FormatError, InvalidArgumentError, TruncatedError
from ..output import check_destination, write_file
from .fileset import CMSFile
from .records import CMSRecords, u32

PathLike = Union[str, "os.PathLike[str]"]
Buffer = Union[bytes, bytearray, memoryview]

HDRLEN = 38
MAGIC = b"\x7a\xc3\xc6\xc6\x40\x40\x40\x40"      # ':CFF    ' in EBCDIC
RECLEN = 80
FLAG_S2 = 0x80
FLAG_STORE = 0x40
FLAG_Y2K = 0x20          # HDRFY2K (VMARC 1.2.21): the date's year is 20xx
METHODS = {"LZW": 0, "S2": 1, "STORE": 2}
#: the newest header version VMARC 1.2 reads (256 * version + release)
MAX_VERSION = 0x0102
#: first guess of the decoded size, as a multiple of the stream (retried exactly when short)
_GUESS = 8

_ENC = "cp037"   # names and record formats: letters, digits and $#@ are alike in 037 and 1047


@dataclass(frozen=True)
class VMARCMember:
    """One member's header, where it is and what it holds."""

    fname: str
    ftype: str
    fmode: str
    recfm: str                       #: "F" or "V"
    lrecl: int                       #: F: the record length; V: the longest record
    date: Optional[_dt.datetime]     #: None when the header's date is no valid date
    date_raw: bytes                  #: the 6 header bytes YYMMDDHHMMSS (packed decimal)
    method: str                      #: "LZW", "S2" or "STORE"
    version: int                     #: 256 * version + release (X'0100', X'0101')
    flags: int                       #: the header's flag byte (method bits, X'20' year 20xx)
    offset: int                      #: of the header in the archive
    length: int                      #: archive bytes of the member, padding included
    records: int                     #: records of the file
    size: int                        #: bytes of those records

    @property
    def name(self) -> str:
        """``FNAME FTYPE FM`` as CMS shows it."""
        return f"{self.fname} {self.ftype} {self.fmode}"

    def to_dict(self) -> dict[str, Union[str, int, None]]:
        """A JSON-ready form."""
        return {"fname": self.fname, "ftype": self.ftype, "fmode": self.fmode,
                "recfm": self.recfm, "lrecl": self.lrecl,
                "date": self.date.isoformat(sep=" ") if self.date else None,
                "date_raw": self.date_raw.hex(), "method": self.method,
                "version": self.version, "flags": self.flags, "offset": self.offset,
                "length": self.length, "records": self.records, "size": self.size}


# -- header --------------------------------------------------------------------------

def _bcd(b: int) -> Optional[int]:
    hi, lo = b >> 4, b & 15
    return hi * 10 + lo if hi < 10 and lo < 10 else None


def decode_date(raw: bytes, flags: int = FLAG_Y2K) -> Optional[_dt.datetime]:
    """YYMMDDHHMMSS in packed decimal, in the 2000s when the header flag
    X'20' says so (VMARC 1.2.21 on), else the 1900s; anything that is no
    date gives None."""
    parts = [_bcd(b) for b in raw]
    if len(raw) != 6 or any(p is None for p in parts):
        return None
    yy, mo, dd, hh, mi, ss = (int(p) for p in parts if p is not None)
    try:
        return _dt.datetime((2000 if flags & FLAG_Y2K else 1900) + yy, mo, dd, hh, mi, ss)
    except ValueError:
        return None


def encode_date(date: Optional[_dt.datetime]) -> tuple[bytes, int]:
    """The header bytes for ``date`` (None: zeros) and the flag bit it needs
    (X'20' for a year 2000..2099)."""
    if date is None:
        return bytes(6), 0
    if not 1900 <= date.year <= 2099:
        raise InvalidArgumentError(f"date {date}: VMARC keeps years 1900..2099")
    return (bytes(int(f"{v % 100:02d}", 16) for v in
                  (date.year, date.month, date.day, date.hour, date.minute, date.second)),
            FLAG_Y2K if date.year >= 2000 else 0)


def _name_field(value: str, width: int, what: str) -> bytes:
    try:
        raw = value.upper().encode(_ENC)
    except UnicodeEncodeError:
        raise InvalidArgumentError(f"{what} {value!r} is not EBCDIC text") from None
    if not raw or len(raw) > width or b"\x40" in raw:
        raise InvalidArgumentError(f"{what} {value!r}: 1..{width} characters, no blanks")
    return raw.ljust(width, b"\x40")


def make_header(f: CMSFile, method: str) -> bytes:
    """The 38-byte header VMARC PACK writes for ``f``."""
    m = method.upper()
    if m not in METHODS:
        raise InvalidArgumentError(f"method {method!r}: lzw, s2 or store")
    if f.recfm not in ("F", "V"):
        raise InvalidArgumentError(f"{f.name}: RECFM {f.recfm!r} (F or V)")
    if not 0 <= f.lrecl <= 65535 or (f.recfm == "F" and f.lrecl == 0):
        raise InvalidArgumentError(f"{f.name}: LRECL {f.lrecl} (1..65535)")
    version = 0x0101 if m == "STORE" else 0x0100
    date, y2k = encode_date(f.date)
    flags = {"LZW": 0, "S2": FLAG_S2, "STORE": FLAG_STORE}[m] | y2k
    return (MAGIC + version.to_bytes(2, "big")
            + _name_field(f.fname, 8, "file name") + _name_field(f.ftype, 8, "file type")
            + _name_field(f.fmode, 2, "file mode") + f.lrecl.to_bytes(2, "big")
            + date + f.recfm.encode(_ENC) + bytes([flags]))


def _text(raw: bytes) -> str:
    return raw.decode(_ENC).rstrip(" ")


def _method(flags: int) -> str:
    # VMARC tests S2 before STORE, so both bits set mean S2
    return "S2" if flags & FLAG_S2 else "STORE" if flags & FLAG_STORE else "LZW"


# -- reading ---------------------------------------------------------------------------

def _where(path: Optional[str]) -> str:
    return f" in {path}" if path else ""


def _parse_header(data: memoryview, pos: int, path: Optional[str]) -> tuple[str, str, str, int,
                                                                            str, bytes, int, int]:
    if len(data) - pos < HDRLEN:
        raise TruncatedError(f"archive ends inside a member header ({len(data) - pos} of "
                             f"{HDRLEN} bytes)", path=path, offset=pos)
    h = bytes(data[pos:pos + HDRLEN])
    if h[:8] != MAGIC:
        raise FormatError(f"no VMARC member header (':CFF') but {h[:8].hex().upper()}",
                          path=path, offset=pos)
    version = int.from_bytes(h[8:10], "big")
    name = f"{_text(h[10:18])} {_text(h[18:26])} {_text(h[26:28])}"
    if version >> 8 != 1 or version > MAX_VERSION:
        raise FormatError(f"member {name}: header version {version:04X} (VMARC 1.2 reads up to "
                          f"0102)", path=path, offset=pos + 8)
    recfm = h[36:37].decode(_ENC)
    if recfm not in ("F", "V"):
        raise FormatError(f"member {name}: RECFM {h[36]:02X} (F or V)", path=path,
                          offset=pos + 36)
    return (_text(h[10:18]), _text(h[18:26]), _text(h[26:28]), int.from_bytes(h[28:30], "big"),
            recfm, h[30:36], h[37], version)


def _next_header(raw: Union[bytes, bytearray], start: int, reclen: int) -> int:
    """Where the next member header may start (the end when none): a bound
    of this member's stream for the first guess of its size."""
    pos = start
    while True:
        pos = raw.find(MAGIC, pos)
        if pos < 0:
            return len(raw)
        if pos % reclen == 0:
            return pos
        pos += 1


def _decode(raw: Union[bytes, bytearray], start: int, method: str, recfm: str, lrecl: int,
            name: str, path: Optional[str], want: bool,
            reclen: int) -> tuple[int, int, int, Optional[CMSRecords]]:
    """Decode one stream: (records, bytes, end offset, the records when wanted)."""
    fixed = 1 if recfm == "F" else 0
    datalen = ffi.new("uint64_t *")
    endpos = ffi.new("uint64_t *")
    buf = ffi.from_buffer(raw)
    m = METHODS[method]

    def run(out: Optional[bytearray], ends: Optional[array[int]]) -> int:
        err = new_err()
        rc = lib.spk_vmarc_decode(buf, len(raw), start, m, fixed, lrecl,
                                  ffi.from_buffer(out) if out is not None else ffi.NULL,
                                  len(out) if out is not None else 0, u32(ends),
                                  len(ends) if ends is not None else 0, datalen, endpos, err)
        if rc < 0 and rc != lib.SPK_EBUFSIZE:
            try:
                raise_error(rc, err, path=path)
            except (FormatError, InvalidArgumentError) as exc:
                exc.message = f"member {name}: {exc.message}"
                exc.args = (exc.message,)
                raise
        return int(rc)

    if want:
        cap = _next_header(raw, start, reclen) - start
        cap = cap * _GUESS + 4096
        out = bytearray(cap)
        ends = array("I", [0]) * (cap // max(lrecl, 1) + 1 if fixed else cap // 8 + 64)
        n = run(out, ends)
        if n == lib.SPK_EBUFSIZE:
            # the exact sizes from a counting pass, so that only what the
            # stream really holds is allocated
            n = run(None, None)
            out = bytearray(max(int(datalen[0]), 1))
            ends = array("I", [0]) * max(n, 1)
            n = run(out, ends)
        del ends[n:]
        size = int(datalen[0])
        recs = CMSRecords(bytes(memoryview(out)[:size]), ends)
        return n, size, int(endpos[0]), recs
    n = run(None, None)
    return n, int(datalen[0]), int(endpos[0]), None


def _members(data: Buffer, reclen: int, path: Optional[str], want: bool,
             ends: Optional[array[int]] = None
             ) -> Iterator[tuple[VMARCMember, Optional[CMSRecords]]]:
    """Members of records of ``reclen`` bytes, or (``ends``) of the records
    ending at those offsets (an archive kept as a V file: VMARC 1.2.27 reads
    its records back to back as well)."""
    if ends is None and not HDRLEN <= reclen <= 32760:
        raise InvalidArgumentError(f"archive record length {reclen}: {HDRLEN}..32760")
    raw = data if isinstance(data, (bytes, bytearray)) else bytes(data)
    view = memoryview(raw)
    size = len(view)

    def boundary(at: int) -> int:
        """The first record boundary at or after ``at``."""
        if ends is None:
            return min(-(-at // reclen) * reclen, size)
        i = bisect.bisect_left(ends, at)
        return ends[i] if i < len(ends) else size

    pos = 0
    while pos < size:
        # records of zeros between and after members are padding (VMARC's
        # STORE writes one when its 3 closing zeros spill into a new record)
        rec_end = boundary(pos + 1)
        if not any(view[pos:rec_end]):
            pos = rec_end
            continue
        fn, ft, fm, lrecl, recfm, date, flags, version = _parse_header(view, pos, path)
        method = _method(flags)
        name = f"{fn} {ft} {fm}"
        n, nbytes, end, recs = _decode(raw, pos + HDRLEN, method, recfm, lrecl, name, path,
                                       want, reclen if ends is None else 1)
        nxt = boundary(end)
        yield VMARCMember(fn, ft, fm, recfm, lrecl, decode_date(date, flags), date, method,
                          version, flags, pos, nxt - pos, n, nbytes), recs
        pos = nxt


def _file(m: VMARCMember, recs: CMSRecords) -> CMSFile:
    return CMSFile(m.fname, m.ftype, m.fmode, m.recfm, m.lrecl, m.date, recs)


def list_vmarc_bytes(data: Buffer, *, reclen: int = RECLEN,
                     path: Optional[str] = None) -> list[VMARCMember]:
    """The members of an archive held in ``data`` (records of ``reclen``
    bytes back to back).  Each stream is decoded to find where it ends (a
    header tells no length) but nothing is kept."""
    return [m for m, _ in _members(data, reclen, path, False)]


def read_vmarc_bytes(data: Buffer, *, reclen: int = RECLEN,
                     path: Optional[str] = None) -> Iterator[CMSFile]:
    """The files of an archive held in ``data``."""
    for m, recs in _members(data, reclen, path, True):
        assert recs is not None
        yield _file(m, recs)


def _load(path: PathLike) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def list_vmarc(path: PathLike, *, reclen: int = RECLEN) -> list[VMARCMember]:
    """The members of the archive file ``path`` (its records of ``reclen``
    bytes back to back: 80, or the BLOCK size it was packed with)."""
    return list_vmarc_bytes(_load(path), reclen=reclen, path=os.fspath(path))


def read_vmarc(path: PathLike, *, reclen: int = RECLEN) -> Iterator[CMSFile]:
    """The files of the archive file ``path``, in archive order."""
    return read_vmarc_bytes(_load(path), reclen=reclen, path=os.fspath(path))


def read_vmarc_member(path: PathLike, fname: str, ftype: str, fmode: Optional[str] = None, *,
                      reclen: int = RECLEN) -> CMSFile:
    """One file of the archive (the first with that name; any mode when
    ``fmode`` is None)."""
    want = (fname.upper(), ftype.upper(), None if fmode is None else fmode.upper())
    for f in read_vmarc(path, reclen=reclen):
        if (f.fname, f.ftype) == want[:2] and (want[2] is None or f.fmode == want[2]):
            return f
    from ..errors import NotFoundError
    raise NotFoundError(f"no member {' '.join(w for w in want if w)}", path=os.fspath(path))


def _archive_records(archive: Union[CMSRecords, CMSFile]) -> tuple[CMSRecords,
                                                                   Optional[array[int]]]:
    """The records of an archive file, and their end offsets when they are
    not all of one length."""
    records = archive.records if isinstance(archive, CMSFile) else archive
    if not len(records):
        raise FormatError("the archive file has no records")
    first = records.ends[0]
    uniform = records.ends[-1] == first * len(records) and all(
        b - a == first for a, b in zip(records.ends, records.ends[1:]))
    if uniform and HDRLEN <= first <= 32760:
        return records, None
    if first < HDRLEN:
        raise FormatError(f"the archive's first record is {first} bytes, shorter than a "
                          f"member header")
    return records, records.ends


def list_vmarc_records(archive: Union[CMSRecords, CMSFile], *,
                       path: Optional[str] = None) -> list[VMARCMember]:
    """The members of an archive that is a CMS file (F records of any
    length, or V records), given as the file or its records."""
    records, ends = _archive_records(archive)
    reclen = records.ends[0]
    return [m for m, _ in _members(records.data, reclen, path, False, ends)]


def read_vmarc_records(archive: Union[CMSRecords, CMSFile], *,
                       path: Optional[str] = None) -> Iterator[CMSFile]:
    """The files of an archive that is a CMS file (e.g. ``X VMARC`` on a
    minidisk or a tape), given as the file or its records."""
    records, ends = _archive_records(archive)
    reclen = records.ends[0]
    for m, recs in _members(records.data, reclen, path, True, ends):
        assert recs is not None
        yield _file(m, recs)


# -- writing ---------------------------------------------------------------------------

def _reclen(blocked: Optional[int]) -> int:
    if blocked is None:
        return RECLEN
    if not HDRLEN <= blocked <= 32700:
        raise InvalidArgumentError(f"blocked={blocked}: VMARC's BLOCK takes {HDRLEN}..32700")
    return blocked


def pack_member(f: CMSFile, *, method: str = "lzw", blocked: Optional[int] = None) -> bytes:
    """One member (header and stream) in whole records."""
    reclen = _reclen(blocked)
    header = make_header(f, method)
    m = METHODS[method.upper()]
    recs = f.records
    fixed = 1 if f.recfm == "F" else 0
    if recs.longest > f.lrecl:
        raise InvalidArgumentError(f"{f.name}: a record of {recs.longest} bytes is longer "
                                   f"than LRECL {f.lrecl}")
    cap = int(lib.spk_vmarc_bound(len(recs.data), len(recs), m, reclen))
    out = bytearray(cap)
    err = new_err()
    n = check(lib.spk_vmarc_encode(recs.data, len(recs.data), u32(recs.ends), len(recs), fixed,
                                   f.lrecl, m, header, reclen, ffi.from_buffer(out), cap, err),
              err, hint=f"member {f.name}")
    return bytes(memoryview(out)[:n])


def pack_vmarc(files: Iterable[CMSFile], *, method: str = "lzw",
               blocked: Optional[int] = None) -> bytes:
    """An archive of ``files`` as bytes (records of 80 bytes, or ``blocked``)."""
    return b"".join(pack_member(f, method=method, blocked=blocked) for f in files)


def vmarc_records(files: Iterable[CMSFile], *, method: str = "lzw",
                  blocked: Optional[int] = None) -> CMSRecords:
    """The archive as the records of an F file (LRECL 80, or ``blocked``)."""
    reclen = _reclen(blocked)
    data = pack_vmarc(files, method=method, blocked=blocked)
    return CMSRecords(data, array("I", range(reclen, len(data) + 1, reclen)))


def write_vmarc(path: PathLike, files: Iterable[CMSFile], *, method: str = "lzw",
                force: bool = False, blocked: Optional[int] = None) -> list[VMARCMember]:
    """Write an archive of ``files`` to ``path`` (80-byte records, or
    ``blocked`` bytes as VMARC's BLOCK option makes them).  An existing file
    is refused unless ``force``; the archive appears complete or not at all.
    Returns what was written, as :func:`list_vmarc` would list it."""
    spath = os.fspath(path)
    reclen = _reclen(blocked)
    check_destination(spath, overwrite=force)      # before the work of packing
    data = b"".join(pack_member(f, method=method, blocked=blocked) for f in files)
    write_file(spath, data, overwrite=force)
    return list_vmarc_bytes(data, reclen=reclen, path=spath)


__all__ = ["VMARCMember", "list_vmarc", "read_vmarc", "read_vmarc_member", "list_vmarc_bytes",
           "read_vmarc_bytes", "list_vmarc_records", "read_vmarc_records", "write_vmarc",
           "pack_vmarc", "pack_member", "vmarc_records", "make_header", "decode_date",
           "encode_date"]
