"""The 80-byte DDR header records: VHR (volume header), EOV and EOJ trailers.

Layout (DMKDDR's VHR DSECT, docs/formats.md "DDR tapes")::

    0   4  id            EBCDIC "VHR " / "EOV " / "EOJ "
    4   6  VHRCYLNO      BBCCHH: VHR/EOV the first track of this / the next reel,
                         EOJ the last track of the dump
    10  6  (not used)    EBCDIC blanks
    16  8  VHRCLOCK      TOD clock of the dump (every reel's VHR carries it)
    24  2  VHRMREC       most records per track of the device
    26  2  VHRCYLA       last cylinder of the dumped volume
    28  2  VHRMTCK       last head
    30  6  VHRVSER       volume serial (EBCDIC)
    36 44  (blanks)
"""

from __future__ import annotations

import struct
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Union

from ..errors import FormatError, InvalidArgumentError, Where

if TYPE_CHECKING:
    from typing_extensions import Unpack

LENGTH = 80
#: EBCDIC record ids
VHR = b"\xe5\xc8\xd9\x40"
EOV = b"\xc5\xd6\xe5\x40"
EOJ = b"\xc5\xd6\xd1\x40"
THR = b"\xe3\xc8\xd9\x40"
KINDS = {VHR: "VHR", EOV: "EOV", EOJ: "EOJ"}
_IDS = {name: ident for ident, name in KINDS.items()}
_BLANK = 0x40
_LAYOUT = struct.Struct(">4sHHH6sQHHH6s44s")

#: seconds from the TOD clock's epoch (1900-01-01 UTC) to the Unix epoch
TOD_EPOCH = 2208988800
Buffer = Union[bytes, bytearray, memoryview]


def tod_from_unix(seconds: float) -> int:
    """The S/370 TOD clock value (bit 51 = one microsecond) for a Unix time."""
    return int(round((seconds + TOD_EPOCH) * 1_000_000)) << 12


def unix_from_tod(tod: int) -> float:
    """Unix time (seconds) of a TOD clock value."""
    return (tod >> 12) / 1_000_000 - TOD_EPOCH


@dataclass(frozen=True)
class VolumeHeader:
    """A VHR, EOV or EOJ record."""

    kind: str            # "VHR", "EOV" or "EOJ"
    cyl: int             # VHRCYLNO's CC
    head: int            # and HH
    clock: int           # VHRCLOCK (TOD)
    max_records: int     # VHRMREC
    last_cyl: int        # VHRCYLA
    last_head: int       # VHRMTCK
    volser: str          # VHRVSER, trailing blanks dropped
    bb: int = 0          # VHRCYLNO's BB

    @property
    def heads(self) -> int:
        return self.last_head + 1

    @property
    def cylinders(self) -> int:
        """Cylinders of the dumped volume as the header gives them."""
        return self.last_cyl + 1

    @property
    def time(self) -> float:
        """The dump's time (Unix seconds) from the TOD clock."""
        return unix_from_tod(self.clock)

    def with_kind(self, kind: str, cyl: int, head: int) -> VolumeHeader:
        """The same header as a ``kind`` record naming track cyl/head."""
        return VolumeHeader(kind, cyl, head, self.clock, self.max_records, self.last_cyl,
                            self.last_head, self.volser, self.bb)

    def encode(self) -> bytes:
        """The 80 bytes as DMKDDR writes them (unused bytes EBCDIC blanks)."""
        ident = _IDS.get(self.kind)
        if ident is None:
            raise InvalidArgumentError(f"DDR header kind {self.kind!r}: VHR, EOV or EOJ")
        for name, value in (("cylinder", self.cyl), ("head", self.head), ("BB", self.bb),
                            ("records per track", self.max_records),
                            ("last cylinder", self.last_cyl), ("last head", self.last_head)):
            if not 0 <= value <= 0xFFFF:
                raise InvalidArgumentError(f"DDR header {name} {value} outside 0..65535")
        if not 0 <= self.clock < 1 << 64:
            raise InvalidArgumentError(f"DDR header clock {self.clock} outside 64 bits")
        vol = self.volser.encode("cp037")
        if len(vol) > 6:
            raise InvalidArgumentError(f"volume serial {self.volser!r} longer than 6")
        return _LAYOUT.pack(ident, self.bb, self.cyl, self.head, bytes([_BLANK]) * 6,
                            self.clock, self.max_records, self.last_cyl, self.last_head,
                            vol.ljust(6, bytes([_BLANK])), bytes([_BLANK]) * 44)

    @classmethod
    def decode(cls, raw: Buffer, **where: Unpack[Where]) -> VolumeHeader:
        """Decode an 80-byte VHR/EOV/EOJ record; FormatError names ``where``."""
        data = bytes(raw)
        kind = KINDS.get(data[:4])
        if kind is None:
            raise FormatError(f"block of {len(data)} bytes is no DDR volume header (VHR)", **where)
        if len(data) != LENGTH:
            raise FormatError(f"{kind} record of {len(data)} bytes, expected {LENGTH}", **where)
        (_, bb, cyl, head, _, clock, mrec, cyla, mtck, vol, _) = _LAYOUT.unpack(data)
        return cls(kind, cyl, head, clock, mrec, cyla, mtck, vol.decode("cp037").rstrip(), bb)

    def to_dict(self) -> dict[str, Union[str, int, float]]:
        out: dict[str, Union[str, int, float]] = dict(asdict(self))
        out["time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.time)) \
            if self.clock else ""
        return out


def is_header(block: Buffer) -> bool:
    """True for a block that is a VHR record (80 bytes, id "VHR ")."""
    return len(block) == LENGTH and bytes(block[:4]) == VHR


__all__ = ["VolumeHeader", "LENGTH", "VHR", "EOV", "EOJ", "THR", "tod_from_unix",
           "unix_from_tod", "is_header"]
