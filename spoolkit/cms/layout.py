"""Where CMS blocks lie on a device: the physical layouts of CMS FORMAT.

VM/370 (pre-EDF) disks have 800-byte blocks, formatted per device type as
``DMSFOR`` and ``DMSDIO`` do (vm-formats.md 2.1): the 2314/2319 holds 15
blocks per two heads (the 8th split by track overflow), the others a fixed
number per track.  EDF disks have 512/1K/2K/4K blocks: as many per CKD track
as fit, or back to back on FBA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from .._native import ffi
from ..errors import UnsupportedError
from ..geometry import CKDDevice, capacity

VM370_BLOCK = 800
EDF_BLOCKSIZES = (512, 1024, 2048, 4096)
#: FST block numbers end here: X'FFFB' is the last a QMSK can name
VM370_MAX_BLOCKS = 65531


@dataclass(frozen=True)
class VM370Device:
    """One device type VM/370 CMS formats (DMSDIO's tables)."""

    devtype: str
    per_group: int          #: blocks per track (per track pair on the 2314)
    group_tracks: int       #: 1, or 2 for the 2314
    heads: int
    unit_type: int          #: the MFD's unit-type byte (DMSDIO TYPxxxx)
    split_rec: int = 0      #: 2314: the record track overflow splits

    @property
    def per_cylinder(self) -> int:
        return self.per_group * self.heads // self.group_tracks


#: DMSFOR prolog l. 170-185, DMSDIO tables and TYPxxxx EQUs; the 3380 row is
#: the HRC004DS community mod (36 x 15), its unit-type byte is inferred
VM370_DEVICES: dict[str, VM370Device] = {
    "2314": VM370Device("2314", 15, 2, 20, 0x08, split_rec=8),
    "3330": VM370Device("3330", 14, 1, 19, 0x09),
    "3340": VM370Device("3340", 8, 1, 12, 0x07),
    "3350": VM370Device("3350", 19, 1, 30, 0x0B),
    "3380": VM370Device("3380", 36, 1, 15, 0x0E),
}
UNIT_TYPES = {d.unit_type: d.devtype for d in VM370_DEVICES.values()}


def vm370_device(devtype: Optional[str], *, path: Optional[str] = None) -> VM370Device:
    """The VM/370 layout of a device type, or UnsupportedError."""
    row = VM370_DEVICES.get(devtype or "")
    if row is None:
        raise UnsupportedError(f"VM/370 CMS does not format a {devtype or 'FBA'} device "
                               f"(it knows {', '.join(sorted(VM370_DEVICES))})", path=path)
    return row


@dataclass(frozen=True)
class Layout:
    """Block placement on an extent (the C core's ``spk_cms_layout``)."""

    blksize: int
    per_group: int
    group_tracks: int
    split_rec: int
    split_len: int
    tracks: int
    heads: int

    @property
    def blocks(self) -> int:
        """Blocks the extent holds."""
        return self.tracks // self.group_tracks * self.per_group

    def group_of_block(self, block: int) -> int:
        return (block - 1) // self.per_group

    def cdata(self, first_cyl: int = 0, check_ha: bool = False) -> Any:
        """The C struct; with ``check_ha`` every track's home address must be
        its own (cylinder ``first_cyl`` + extent cylinder, head)."""
        c = ffi.new("spk_cms_layout *")
        c.blksize, c.per_group, c.group_tracks = self.blksize, self.per_group, self.group_tracks
        c.split_rec, c.split_len, c.tracks, c.heads = (self.split_rec, self.split_len,
                                                       self.tracks, self.heads)
        c.first_cyl, c.check_ha = first_cyl, 1 if check_ha else 0
        return c


def _split_len(dev: CKDDevice, row: VM370Device) -> int:
    """Bytes of the split record that fit the first track of a 2314 pair
    after the records before it."""
    used = 0
    for _ in range(row.split_rec - 1):
        used = capacity(dev, 0, VM370_BLOCK, used).new_used
    lo, hi = 1, VM370_BLOCK - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if capacity(dev, 0, mid, used).fits:
            lo = mid
        else:
            hi = mid - 1
    return lo


def vm370_layout(dev: CKDDevice, cylinders: int, *, path: Optional[str] = None) -> Layout:
    """The layout of a VM/370 CMS minidisk of ``cylinders`` on ``dev``."""
    row = vm370_device(dev.devtype, path=path)
    split = _split_len(dev, row) if row.group_tracks == 2 else 0
    return Layout(VM370_BLOCK, row.per_group, row.group_tracks, row.split_rec, split,
                  cylinders * dev.heads, dev.heads)


def edf_ckd_layout(dev: CKDDevice, cylinders: int, blksize: int) -> Layout:
    """An EDF minidisk on CKD: as many blocks per track as fit."""
    return Layout(blksize, dev.records_per_track(blksize), 1, 0, 0, cylinders * dev.heads,
                  dev.heads)


__all__ = ["EDF_BLOCKSIZES", "Layout", "UNIT_TYPES", "VM370Device", "VM370_BLOCK",
           "VM370_DEVICES", "VM370_MAX_BLOCKS", "edf_ckd_layout", "vm370_device",
           "vm370_layout"]
