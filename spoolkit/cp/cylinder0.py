"""Track 0 of a CP volume as spoolkit formats it: R1 IPL1, R2 IPL2 (as
``dasdinit``), R3 VOL1 with ``CPVOL`` at bytes 46-50 and the VTOC pointer
0/0/5, R4 the SPKALLOC map, R5 a Format-4 and R6 a Format-5 DSCB showing no
free space."""

from __future__ import annotations

import struct

from ..dasd.base import DasdImage
from ..dasd.ckd import IPL1_DATA, vol1_data
from ..dasd.track import Track
from .allocation import Allocation

_E = "cp037"


def vol1(volser: str) -> bytes:
    label = bytearray(vol1_data(volser, owner=""))
    label[11:16] = bytes([0, 0, 0, 0, 5])      # VTOC at cylinder 0 head 0 record 5
    label[46:51] = "CPVOL".encode(_E)
    return bytes(label)


def dscb4(dev: DasdImage, recs_per_track: int) -> tuple[bytes, bytes]:
    """Format-4 DSCB (VTOC of one track: track 0, no free DSCBs)."""
    d = bytearray(96)
    d[0] = 0xF4                                           # DS4IDFMT
    d[1:6] = bytes([0, 0, 0, 0, 5])                       # DS4HPCHR: highest DSCB
    struct.pack_into(">H", d, 6, 0)                       # DS4DSREC: no free DSCBs
    d[15] = 1                                             # DS4NOEXT
    struct.pack_into(">HHH", d, 18, min(dev.cylinders, 0xFFFF), dev.heads,
                     dev.track_size & 0xFFFF)             # DS4DEVSZ, DS4DEVTK
    d[30] = recs_per_track & 0xFF                         # DS4DEVDT: DSCBs per track
    d[61:71] = bytes([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])      # DS4VTOCE: track 0
    return b"\x04" * 44, bytes(d)


def dscb5() -> tuple[bytes, bytes]:
    """Format-5 DSCB with no free extents: the volume is full."""
    key = b"\x05" * 4 + bytes(40)
    data = bytearray(96)
    data[0] = 0xF5
    return key, bytes(data)


def track0(dev: DasdImage, volser: str, alloc: Allocation) -> Track:
    k4, d4 = dscb4(dev, 1)
    k5, d5 = dscb5()
    return Track.from_records(0, 0, [
        (1, "IPL1".encode(_E), IPL1_DATA),
        (2, "IPL2".encode(_E), bytes(144)),
        (3, "VOL1".encode(_E), vol1(volser)),
        (4, b"", alloc.build()),
        (5, k4, d4),
        (6, k5, d5),
    ])


__all__ = ["dscb4", "dscb5", "track0", "vol1"]
