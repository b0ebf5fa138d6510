"""VM/370's CP volume layout: the VOL1 owner ``CP370``, the allocation record
and the system records of cylinder 0 head 0, as VM/370's FORMAT/ALLOCATE
program (DMKFMT, Release 6) writes them.

Cylinder 0 head 0 (every device; docs/formats.md "VM/370 CP volumes"):

====  =====  ====  =========================================================
 R    key    data  content
====  =====  ====  =========================================================
R0    -      8     byte 0 marks the system records' pages in use (X'F0' on
                   a 3350, X'E0' on the others); the rest zero
R1    -      24    IPL record: a wait-state PSW (code X'00C') and two CCWs
R2    -      4096  checkpoint record, zeros
R3    VOL1   80    label: volser, VTOC pointer 0/0/5, owner ``CP370``
R4    -      1024  allocation record: one byte per cylinder, X'FF' after the last
R5    44     96    Format-4 DSCB (a fixed image, the same on every device)
R6    44     96    Format-5 DSCB: no free space
R243  -      4096  spare page (not on a 3340; on a 2314 it is on head 1)
====  =====  ====  =========================================================

Allocation codes: X'00' TEMP (paging and spooling), X'01' PERM (minidisks),
X'02' TDSK (temporary minidisks), X'04' DRCT (directory; X'08' is set in it
once the directory program has used the cylinder, giving X'0C').  FORMAT of
cylinder 0 makes every cylinder TEMP; ALLOCATE then sets ranges.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Union

from ..dasd.ckd import check_volser
from ..dasd.track import Record, Track
from ..errors import FormatError, InvalidArgumentError
from .allocation import Extent
from .pagelayout import PAGE_SIZE, PageLayout

BytesLike = Union[bytes, bytearray, memoryview]
_E = "cp037"
OWNER = "CP370"
ALLOC_LENGTH = 1024
END = 0xFF
#: the most cylinders an allocation record can map (its X'FF' must fit)
MAX_CYLINDERS = ALLOC_LENGTH - 1
KINDS = ("TEMP", "PERM", "TDSK", "DRCT")
KIND_CODES = {"TEMP": 0x00, "PERM": 0x01, "TDSK": 0x02, "DRCT": 0x04}
#: the codes DMKFMT lists by name; a code with bits outside X'0C' it calls BAD
CODE_KINDS = {0x00: "TEMP", 0x01: "PERM", 0x02: "TDSK", 0x04: "DRCT", 0x08: "DRCT",
              0x0C: "DRCT"}
BAD = "BAD"
#: record number of the spare page FORMAT writes on cylinder 0 (X'F3')
RF3 = 0xF3

# R1: a PSW that puts the machine into a wait with code X'00C', then 8 zero bytes
IPL_RECORD = bytes.fromhex("000200000000000C" "03000000" "20000000") + bytes(8)
FMT4_KEY = b"\x04" * 44
# The Format-4 DSCB FORMAT writes on every device: DS4IDFMT X'F4', DS4NOEXT 1,
# device constants of a 2314 (DS4DEVSZ 20/20, DS4DEVTK 7294, ...), no VTOC extent.
FMT4_DATA = (b"\xF4" + bytes(14) + bytes.fromhex("01003C00140014" "1C7E922D2D" "0102160202")
             + bytes(64))
FMT5_KEY = b"\x05" * 4 + bytes.fromhex("0001000000") + bytes(35)
FMT5_DATA = b"\xF5" + bytes(95)


@dataclass(frozen=True)
class AllocFinding:
    """Something wrong with a VM/370 allocation record (``offset``: its byte)."""

    code: str            # length, no-end, after-end, bad-code, size, missing
    message: str
    offset: Optional[int] = None

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "offset": self.offset}


@dataclass(frozen=True)
class Run:
    """Cylinders ``first``..``last`` with one allocation code."""

    first: int
    last: int
    code: int

    @property
    def kind(self) -> str:
        return CODE_KINDS.get(self.code, BAD)

    @property
    def in_use(self) -> bool:
        """A DRCT cylinder the directory program has written (X'08' set)."""
        return self.kind == "DRCT" and bool(self.code & 0x08)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.kind, "first": self.first, "last": self.last,
                "code": f"{self.code:02X}"}


@dataclass(frozen=True)
class VM370Allocation:
    """A parsed allocation record.

    ``mapped`` is the number of cylinders it maps (the offset of its X'FF'),
    None when it has no end; ``runs`` cover the mapped cylinders (those of the
    volume, at most); ``findings`` say what is wrong with it.
    """

    runs: tuple[Run, ...]
    mapped: Optional[int]
    length: int
    findings: tuple[AllocFinding, ...] = ()

    @property
    def extents(self) -> tuple[Extent, ...]:
        """The runs as CP extents (kind TEMP, PERM, TDSK, DRCT or BAD)."""
        return tuple(Extent(r.first, r.last, r.kind) for r in self.runs)


def _finding(findings: list[AllocFinding], strict: bool, path: Optional[str], code: str,
             message: str, offset: Optional[int] = None) -> None:
    if strict:
        raise FormatError(f"VM/370 allocation record: {message}", path=path, track=(0, 0),
                          record=4, offset=offset)
    findings.append(AllocFinding(code, message, offset))


def parse_allocation(data: BytesLike, cylinders: Optional[int] = None, *,
                     path: Optional[str] = None, strict: bool = False) -> VM370Allocation:
    """Parse a VM/370 allocation record (cylinder 0 head 0 R4).

    A record that is not 1024 bytes, has no X'FF' end, has non-zero bytes
    after the end, a code VM/370 does not know, or maps more cylinders than
    the volume has (``cylinders``) gives findings; with ``strict=True`` the
    first of them is raised as a FormatError instead."""
    data = bytes(data)
    findings: list[AllocFinding] = []
    if len(data) != ALLOC_LENGTH:
        _finding(findings, strict, path, "length",
                 f"the record is {len(data)} bytes, VM/370 writes {ALLOC_LENGTH}")
    end = data.find(bytes([END]))
    if end < 0:
        mapped: Optional[int] = None
        codes = data
        _finding(findings, strict, path, "no-end",
                 f"no X'FF' end in its {len(data)} bytes")
    else:
        mapped = end
        codes = data[:end]
        tail = data[end + 1:]
        if tail.strip(b"\0"):
            first = end + 1 + next(i for i, b in enumerate(tail) if b)
            _finding(findings, strict, path, "after-end",
                     f"non-zero bytes after the X'FF' end at byte {end}", first)
    if cylinders is not None:
        if mapped is not None and mapped > cylinders:
            _finding(findings, strict, path, "size",
                     f"the record maps {mapped} cylinders, the volume has {cylinders}", end)
        codes = codes[:cylinders]
    runs: list[Run] = []
    for m in re.finditer(rb"(.)\1*", codes, re.S):
        run = Run(m.start(), m.end() - 1, m.group()[0])
        if run.kind == BAD:
            span = f"{run.first}-{run.last}" if run.last > run.first else str(run.first)
            _finding(findings, strict, path, "bad-code",
                     f"cylinders {span} have code X'{run.code:02X}', which is not TEMP "
                     "(00), PERM (01), TDSK (02) or DRCT (04, 0C)", run.first)
        runs.append(run)
    return VM370Allocation(tuple(runs), mapped, len(data), tuple(findings))


def build_allocation(cylinders: int, extents: Iterable[tuple[str, int, int]] = ()) -> bytes:
    """The 1024-byte record ALLOCATE writes for a volume of ``cylinders``
    (every cylinder TEMP unless an extent says otherwise; later extents win,
    as with ALLOCATE's statements)."""
    if not 1 <= cylinders <= MAX_CYLINDERS:
        raise InvalidArgumentError(f"{cylinders} cylinders: a VM/370 allocation record maps "
                                   f"1 to {MAX_CYLINDERS}")
    table = bytearray(ALLOC_LENGTH)
    for kind, first, last in extents:
        code = KIND_CODES.get(str(kind).upper())
        if code is None:
            raise InvalidArgumentError(f"allocation type {kind!r} is not one of "
                                       f"{', '.join(KINDS)}")
        if not 0 <= first <= last < cylinders:
            raise InvalidArgumentError(f"{kind} {first}-{last}: the volume has cylinders "
                                       f"0-{cylinders - 1}")
        table[first:last + 1] = bytes([code]) * (last - first + 1)
    table[cylinders] = END
    return bytes(table)


def vol1(volser: str) -> bytes:
    """The VOL1 label FORMAT writes (volser, VTOC pointer 0/0/5, owner CP370)."""
    v = check_volser(volser).ljust(6).encode(_E)
    return ("VOL1".encode(_E) + v + b"\xF0" + bytes([0, 0, 0, 0, 5]) + bytes(5)
            + b"\x40" * 20 + bytes(5) + OWNER.encode(_E) + b"\x40" * 29)


def is_vm370_label(vol1_data: BytesLike) -> bool:
    """Whether a VOL1 label names VM/370's CP as owner (bytes 46-50 ``CP370``)."""
    return bytes(vol1_data[:4]) == "VOL1".encode(_E) and \
        bytes(vol1_data[46:51]) == OWNER.encode(_E)


def cylinder0_tracks(layout: PageLayout, volser: str, allocation: bytes) -> dict[int, Track]:
    """The tracks of cylinder 0 that hold system records (head 0; on a 2314
    also head 1), by head; the other heads are page-formatted as any cylinder."""
    records: list[tuple[int, bytes, bytes]] = [
        (1, b"", IPL_RECORD),
        (2, b"", bytes(PAGE_SIZE)),
        (3, "VOL1".encode(_E), vol1(volser)),
        (4, b"", allocation),
        (5, FMT4_KEY, FMT4_DATA),
        (6, FMT5_KEY, FMT5_DATA),
    ]
    if layout.rf3_head == 0:
        records.append((RF3, b"", bytes(PAGE_SIZE)))
    out = {0: Track.from_records(0, 0, records, r0=bytes([layout.in_use]) + bytes(7))}
    if layout.rf3_head == 1:
        # the 2314: R243 and a 1624-byte R244 on head 1, then the first
        # segment of page 4, whose rest begins head 2 as on any cylinder
        out[1] = Track.from_records(0, 1, [
            Record(0, 1, RF3, memoryview(b""), memoryview(bytes(PAGE_SIZE))),
            Record(0, 1, RF3 + 1, memoryview(b""), memoryview(bytes(1624))),
            Record(0, 1, 4, memoryview(b""), memoryview(bytes(824)), overflow=True),
        ])
    return out


__all__ = ["ALLOC_LENGTH", "AllocFinding", "BAD", "CODE_KINDS", "KINDS", "KIND_CODES",
           "MAX_CYLINDERS", "OWNER", "Run", "VM370Allocation", "build_allocation",
           "cylinder0_tracks", "is_vm370_label", "parse_allocation", "vol1"]
