"""File status table entries: the 40-byte VM/370 FST and the 64-byte EDF FST.

The EDF FST is the VM/370 one plus 24 bytes (vm-formats.md 2.1 and 2.2):

====  ====  ===============================================================
off   len   field
====  ====  ===============================================================
0     8     file name (EBCDIC)
8     8     file type
16    2     date last written, MMDD (BCD)
18    2     time, HHMM (BCD)
20    2     write pointer (item number; records + 1)
22    2     read pointer (1)
24    2     file mode, letter and number (EBCDIC)
26    2     item (record) count
28    2     first chain link (VM/370; 0 on EDF)
30    1     record format, EBCDIC ``F`` or ``V``
31    1     flags (EDF: X'08' the date is in the 21st century)
32    4     LRECL (V: the longest record)
36    2     data block count
38    2     year, two EBCDIC digits
40    4     EDF: first pointer block (or the data block when levels is 0)
44    4     EDF: data block count
48    4     EDF: record count
52    1     EDF: pointer block levels
53    1     EDF: pointer size (4 F, 12 V)
54    6     EDF: date and time YYMMDDHHMMSS (BCD)
60    4     reserved
====  ====  ===============================================================
"""

from __future__ import annotations

import datetime as _dt
import struct
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import InvalidArgumentError

FST_VM370 = 40
FST_EDF = 64
RECFM_F = 0xC6      # EBCDIC "F"
RECFM_V = 0xE5      # EBCDIC "V"
CENTURY = 0x08
_BASE = struct.Struct(">8s8s2s2sHH2sHHBBIH2s")
_EXT = struct.Struct(">IIIBB6s4x")
assert _BASE.size == FST_VM370 and _EXT.size == FST_EDF - FST_VM370

NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789#@$+-:_")


def _to_bcd(value: int) -> int:
    return (value // 10) << 4 | value % 10


@dataclass
class FileStatus:
    """One file of a minidisk, as its FST describes it."""

    fname: str
    ftype: str
    fmode: str
    recfm: str
    lrecl: int
    records: int
    blocks: int
    #: as stored: "YY-MM-DD HH:MM" (VM/370) or "YYYY-MM-DD HH:MM:SS" (EDF)
    date: str
    write_pointer: int = 0
    read_pointer: int = 0
    flags: int = 0
    fcl: int = 0                #: VM/370 first chain link
    fop: int = 0                #: EDF first pointer (or data) block
    levels: int = 0             #: EDF pointer block levels
    ptr_size: int = 0           #: EDF pointer size
    raw: bytes = field(default=b"", repr=False)
    #: where the FST is: (FST block, slot) on VM/370, directory record on EDF
    where: tuple[int, int] = (0, 0)

    @property
    def name(self) -> str:
        """``FNAME FTYPE FM`` as CMS shows it."""
        return f"{self.fname} {self.ftype} {self.fmode}"

    def datetime(self) -> Optional[_dt.datetime]:
        """The date as a :class:`datetime.datetime`, or None when the stored
        digits are no date.  VM/370 stores no century: 00-69 are taken as
        20YY, 70-99 as 19YY."""
        try:
            if len(self.date) == 14:            # YY-MM-DD HH:MM
                yy = int(self.date[0:2])
                year = 2000 + yy if yy < 70 else 1900 + yy
                return _dt.datetime(year, int(self.date[3:5]), int(self.date[6:8]),
                                    int(self.date[9:11]), int(self.date[12:14]))
            return _dt.datetime.strptime(self.date, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        """The fields ``spoolkit cms list --json`` prints."""
        return {"fname": self.fname, "ftype": self.ftype, "fmode": self.fmode,
                "recfm": self.recfm, "lrecl": self.lrecl, "records": self.records,
                "blocks": self.blocks, "date": self.date}


_RECFM = {RECFM_F: "F", RECFM_V: "V"}
_FULL = struct.Struct(_BASE.format + _EXT.format[1:])


def _text(raw: bytes) -> str:
    return raw.decode("cp037").rstrip(" ")


def _recfm(byte: int) -> str:
    return _RECFM.get(byte) or f"X'{byte:02X}'"


def is_empty(raw: bytes) -> bool:
    """An unused FST slot: no name (CMS clears freed slots)."""
    return raw[:8] == bytes(8)


def decode_vm370(raw: bytes, where: tuple[int, int] = (0, 0)) -> FileStatus:
    """A 40-byte VM/370 FST."""
    (_, _, _, _, wp, rp, _, items, fcl, recfm, flags, lrecl, blocks,
     _) = _BASE.unpack_from(raw)
    names = raw[:FST_VM370].decode("cp037")   # one decode: name, type, mode and year
    d = raw[16:20].hex().upper()              # BCD digits (a bad nibble shows as it is)
    date = f"{names[38:40]}-{d[:2]}-{d[2:4]} {d[4:6]}:{d[6:]}"
    return FileStatus(names[:8].rstrip(" "), names[8:16].rstrip(" "), names[24:26].rstrip(" "),
                      _recfm(recfm), lrecl, items, blocks, date, wp, rp, flags, fcl=fcl,
                      raw=bytes(raw[:FST_VM370]), where=where)


def decode_edf(raw: bytes, where: tuple[int, int] = (0, 0)) -> FileStatus:
    """A 64-byte EDF FST (the counts of the extension, not the halfwords)."""
    (_, _, _, _, wp, rp, _, _, fcl, recfm, flags, lrecl, _, _, fop, blocks, records, levels,
     ptr_size, adati) = _FULL.unpack_from(raw)
    names = raw[:26].decode("cp037")
    d = adati.hex().upper()
    century = "20" if flags & CENTURY else "19"
    date = f"{century}{d[0:2]}-{d[2:4]}-{d[4:6]} {d[6:8]}:{d[8:10]}:{d[10:12]}"
    return FileStatus(names[:8].rstrip(" "), names[8:16].rstrip(" "), names[24:].rstrip(" "),
                      _recfm(recfm), lrecl, records, blocks, date, wp, rp, flags, fcl=fcl,
                      fop=fop, levels=levels, ptr_size=ptr_size, raw=bytes(raw[:FST_EDF]),
                      where=where)


def check_name(text: str, what: str) -> bytes:
    """A file name or type: 1-8 CMS characters, as 8 EBCDIC bytes."""
    if not 1 <= len(text) <= 8 or not set(text) <= NAME_CHARS:
        raise InvalidArgumentError(f"{what} {text!r}: 1 to 8 of A-Z 0-9 # @ $ + - : _")
    return text.upper().ljust(8).encode("cp037")


def check_mode(text: str) -> bytes:
    """A file mode: a letter and a digit 0-6 (``A1``); a letter alone gets 1."""
    text = text.upper()
    if len(text) == 1:
        text += "1"
    if len(text) != 2 or not ("A" <= text[0] <= "Z") or not ("0" <= text[1] <= "6"):
        raise InvalidArgumentError(f"file mode {text!r}: a letter A-Z and a digit 0-6")
    return text.encode("cp037")


def encode_vm370(fname: str, ftype: str, fmode: str, recfm: str, lrecl: int, records: int,
                 blocks: int, when: _dt.datetime, fcl: int = 0, flags: int = 0) -> bytes:
    """A 40-byte FST as CMS writes it: write pointer records + 1, read pointer 1."""
    if recfm not in ("F", "V"):
        raise InvalidArgumentError(f"record format {recfm!r}: F or V")
    items = min(records, 0xFFFF)
    return _BASE.pack(check_name(fname, "file name"), check_name(ftype, "file type"),
                      bytes([_to_bcd(when.month), _to_bcd(when.day)]),
                      bytes([_to_bcd(when.hour), _to_bcd(when.minute)]),
                      min(records + 1, 0xFFFF), 1, check_mode(fmode), items, fcl,
                      RECFM_F if recfm == "F" else RECFM_V, flags, lrecl, min(blocks, 0xFFFF),
                      f"{when.year % 100:02d}".encode("cp037"))


def encode_edf(fname: str, ftype: str, fmode: str, recfm: str, lrecl: int, records: int,
               blocks: int, when: _dt.datetime, fop: int, levels: int) -> bytes:
    """A 64-byte EDF FST: the 40-byte part as VM/370 keeps it, then the
    fullword counts, pointer levels and the date with its century flag."""
    flags = CENTURY if when.year >= 2000 else 0
    base = encode_vm370(fname, ftype, fmode, recfm, lrecl, records, blocks, when, 0, flags)
    adati = bytes(_to_bcd(v) for v in (when.year % 100, when.month, when.day, when.hour,
                                       when.minute, when.second))
    return base + _EXT.pack(fop, blocks, records, levels, 4 if recfm == "F" else 12, adati)


__all__ = ["CENTURY", "FST_EDF", "FST_VM370", "FileStatus", "RECFM_F", "RECFM_V", "check_mode",
           "check_name", "decode_edf", "decode_vm370", "encode_edf", "encode_vm370",
           "is_empty"]
