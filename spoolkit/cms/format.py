"""FORMAT: make an empty CMS minidisk on an extent, as CMS FORMAT does.

VM/370: every track gets the device's 800-byte keyless records of zeros
(count fields with minidisk-relative cylinders), block 3 the label
``CMS=`` + label, the QMSK its default X'F0' (blocks 1-4), then DMSAUD writes
the first directory: an empty FST block at block 5 and the MFD.  EDF: the
tracks get blocks of the chosen size (FBA: the extent is zeroed), then the
label, an empty directory at block 4 and the allocation map.
"""

from __future__ import annotations

import datetime as _dt
import struct
from typing import Any, Optional, Union

from ..dasd.base import DasdImage
from ..dasd.fba import FBAImage
from ..errors import ExistsError, FormatError, InvalidArgumentError, SpoolkitError
from .extent import CKDExtent, FBAExtent
from .layout import (
    EDF_BLOCKSIZES,
    VM370_BLOCK,
    VM370_DEVICES,
    VM370_MAX_BLOCKS,
    edf_ckd_layout,
    vm370_device,
    vm370_layout,
)
from .minidisk import _guarded, default_extent, open_minidisk

ZERO_CHUNK = 2048           # FBA blocks zeroed per write


def _label_text(label: str) -> str:
    text = label.upper()
    if not 1 <= len(text) <= 6 or not text.isascii() or not text.isalnum():
        raise InvalidArgumentError(f"label {label!r}: 1 to 6 letters or digits")
    return text


def _has_cms(dev: Union[DasdImage, FBAImage], first: int, last: int) -> Optional[str]:
    try:
        with open_minidisk(dev, first, last) as md:
            return f"{md.format} minidisk {md.label}"
    except SpoolkitError:
        return None


def format_minidisk(dev: Union[DasdImage, FBAImage], first: Optional[int] = None,
                    last: Optional[int] = None, label: str = "CMS191", *,
                    blocksize: Optional[int] = None, edf: Optional[bool] = None,
                    force: bool = False, date: Optional[_dt.datetime] = None) -> dict[str, Any]:
    """Format cylinders (CKD) or blocks (FBA) ``first..last`` of ``dev``
    (open ``"r+"``) as an empty CMS minidisk.  VM/370 format on a 2314, 3330,
    3340, 3350 or 3380 unless ``edf`` or a ``blocksize`` asks for EDF (always
    EDF on other devices and FBA; 4096-byte blocks by default).  An extent
    that holds a CMS minidisk is refused unless ``force``; writes into a
    CP-owned extent are refused.  Returns what was made."""
    lo, hi = default_extent(dev)
    first = lo if first is None else first
    last = hi if last is None else last
    text = _label_text(label)
    if edf is None:
        edf = (isinstance(dev, FBAImage) or blocksize is not None
               or dev.devtype not in VM370_DEVICES)
    if not edf:
        if isinstance(dev, FBAImage):
            raise InvalidArgumentError("VM/370 CMS disks are CKD: use EDF on FBA")
        if blocksize not in (None, VM370_BLOCK):
            raise InvalidArgumentError(f"VM/370 CMS blocks are 800 bytes, not {blocksize}")
        vm370_device(dev.devtype, path=dev.path)
    bs = blocksize or 4096
    if edf and bs not in EDF_BLOCKSIZES:
        raise InvalidArgumentError(f"EDF block size {bs}: 512, 1024, 2048 or 4096")
    old = _has_cms(dev, first, last)
    if old and not force:
        raise ExistsError(f"the extent {first}-{last} holds a {old}",
                          hint="force=True formats it anyway",
                          cli_hint="--force formats it anyway", path=dev.path)
    writer = _guarded(dev, first, last)
    when = date or _dt.datetime.now()
    ncyl = last - first + 1
    if not edf and not isinstance(dev, FBAImage):
        return _format_vm370(dev, first, last, text, writer)
    from .edf import format_edf

    ext: Union[CKDExtent, FBAExtent]
    if isinstance(dev, FBAImage):
        ext = FBAExtent(dev, first, last, bs, writer)
        zeros = bytes(ZERO_CHUNK * 512)
        blk = first
        while blk <= last:
            n = min(ZERO_CHUNK, last - blk + 1)
            writer.write_blocks(blk, zeros[:n * 512])
            blk += n
    else:
        ext = CKDExtent(dev, first, last, edf_ckd_layout(dev.device, ncyl, bs), writer)
        ext.format_tracks()
    format_edf(ext, text, 0 if isinstance(dev, FBAImage) else ncyl, when)
    dev.flush()
    with open_minidisk(dev, first, last) as md:
        return {"format": "edf", "label": md.label, "blocksize": bs,
                "first": first, "last": last, **md.stats()}


def _format_vm370(dev: DasdImage, first: int, last: int, label: str,
                  writer: Any) -> dict[str, Any]:
    from .vm370 import (
        COUNTERS,
        COUNTERS_AT,
        END,
        MFD_BLOCK,
        QMSK_AT,
        UNIT_AT,
    )

    ncyl = last - first + 1
    row = vm370_device(dev.devtype, path=dev.path)
    lay = vm370_layout(dev.device, ncyl, path=dev.path)
    ext = CKDExtent(dev, first, last, lay, writer)
    adtnum = min(lay.blocks, VM370_MAX_BLOCKS)
    if adtnum < 6:
        raise FormatError(f"{ncyl} cylinders hold {lay.blocks} blocks: too few for CMS",
                          path=dev.path)
    group0 = bytearray(lay.per_group * VM370_BLOCK)
    group0[2 * VM370_BLOCK:2 * VM370_BLOCK + 10] = ("CMS=" + label.ljust(6)).encode("cp037")
    ext.format_tracks({0: bytes(group0)})
    # DMSAUD on the empty directory: one FST block, first fit (block 5)
    mfd = bytearray(VM370_BLOCK)
    struct.pack_into(">HH", mfd, 0, 5, END)
    COUNTERS.pack_into(mfd, COUNTERS_AT, adtnum, 5, adtnum - 5, 0, ncyl)
    mfd[QMSK_AT] = 0xF8
    mfd[UNIT_AT] = row.unit_type
    ext.write([5], bytes(VM370_BLOCK))
    ext.flush()
    ext.write([MFD_BLOCK], bytes(mfd))
    ext.flush()
    return {"format": "vm370", "label": label, "blocksize": VM370_BLOCK, "first": first,
            "last": last, "blocks": adtnum, "used": 5, "left": adtnum - 5, "cylinders": ncyl}


__all__ = ["format_minidisk"]
