"""Device types as a DDR tape names them.

A VHR names no device type: only the most records per track (VHRMREC), the
last cylinder (VHRCYLA) and the last head (VHRMTCK).  VM/370's DMKDDR takes
them from its device table (:data:`DDR_TABLE`, the ``TABLE2`` entries of
DMKDDR R6); for the device types that table does not list spoolkit writes
the records of one data byte that fit a track, from the capacity formula.
(heads, VHRMREC) then tells every device type Hercules knows apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..dasd.base import model_for
from ..errors import NotFoundError
from ..geometry import CKDDevice, ckd_devices, lookup_ckd
from .records import VolumeHeader


@dataclass(frozen=True)
class DdrDevice:
    """One DASD row of DMKDDR's device table."""

    name: str           # DDR's name: "3350", "3330-11"
    devt: int           # 0x3350
    max_records: int    # VHRMREC
    last_cyl: int       # VHRCYLA (alternate cylinders included)
    last_head: int      # VHRMTCK


DDR_TABLE: tuple[DdrDevice, ...] = (
    DdrDevice("2305-1", 0x2305, 34, 47, 7),
    DdrDevice("2305-2", 0x2305, 75, 95, 7),
    DdrDevice("2311", 0x2311, 62, 202, 9),
    DdrDevice("2314", 0x2314, 75, 202, 19),
    DdrDevice("2319", 0x2314, 75, 202, 19),
    DdrDevice("3330", 0x3330, 100, 410, 18),
    DdrDevice("3330-11", 0x3330, 100, 814, 18),
    DdrDevice("3350", 0x3350, 110, 559, 29),
    DdrDevice("3340-35", 0x3340, 55, 348, 11),
    DdrDevice("3340-70", 0x3340, 55, 697, 11),
)

#: device types whose DDR writes the home address and R0 count of a
#: restored track itself (the others keep the target track's)
WRITES_HA = frozenset({0x2305, 0x2311, 0x2314})


def max_records(dev: CKDDevice) -> int:
    """VHRMREC for a volume of ``dev``: DMKDDR's table value, else the
    one-byte records that fit a track."""
    for row in DDR_TABLE:
        if row.devt == dev.devt and row.last_head == dev.heads - 1:
            return row.max_records
    return min(0xFFFF, dev.records_per_track(1))


def _types() -> dict[tuple[int, int], int]:
    """(heads, VHRMREC) -> device type, for every type Hercules knows."""
    out: dict[tuple[int, int], int] = {}
    for row in DDR_TABLE:
        out[(row.last_head + 1, row.max_records)] = row.devt
    for dev in ckd_devices():
        out.setdefault((dev.heads, max_records(dev)), dev.devt)
    return out


def device_type(hdr: VolumeHeader) -> Optional[int]:
    """The device type (0x3350) the header's geometry names, or None."""
    return _types().get((hdr.heads, hdr.max_records))


def identify(hdr: VolumeHeader) -> Optional[CKDDevice]:
    """The Hercules model for a new volume of the dumped size, or None when
    the header names no device type spoolkit knows."""
    devt = device_type(hdr)
    if devt is None:
        return None
    try:
        return model_for(devt, hdr.cylinders)
    except NotFoundError:
        return None


def mismatch(hdr: VolumeHeader, dev: CKDDevice) -> Optional[str]:
    """Why a volume of ``dev`` cannot take this dump (None: it can)."""
    if hdr.heads != dev.heads:
        return (f"the dump is of a device with {hdr.heads} heads, the volume is a "
                f"{dev.name} with {dev.heads}")
    devt = device_type(hdr)
    if devt is not None and devt != dev.devt:
        name = lookup_ckd(devt=devt).devtype
        return f"the dump is of a {name}, the volume is a {dev.devtype}"
    return None


__all__ = ["DdrDevice", "DDR_TABLE", "WRITES_HA", "max_records", "device_type", "identify",
           "mismatch"]
