"""Find the CMS minidisks on a volume by their labels.

A CKD minidisk starts on a cylinder boundary with its label in record 3 of
the cylinder's first track (``CMS=`` VM/370, ``CMS1`` EDF); its MFD or label
says how many cylinders it has, and the scan goes on after them.  An FBA
minidisk has ``CMS1`` at its byte 512, so each 512-byte block of the volume
that starts with it marks one beginning a block earlier.
"""

from __future__ import annotations

import struct
from dataclasses import asdict, dataclass
from typing import Any, Union

from ..dasd.base import DasdImage
from ..dasd.fba import FBAImage
from ..errors import SpoolkitError
from .layout import VM370_BLOCK
from .minidisk import EDF_ID, is_fba, sniff_ckd

SCAN_CHUNK = 2048          # FBA blocks read at a time


@dataclass
class Found:
    """One minidisk a label marks."""

    first: int
    last: int
    unit: str               #: "cylinders" or "blocks"
    label: str
    format: str
    blocksize: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _edf_label(raw: bytes) -> tuple[str, int, int, int]:
    """(label, block size, cylinders, total blocks) of an EDF label."""
    label = raw[4:10].decode("cp037").rstrip()
    bs, _dop, cyl, _mcyl, num = struct.unpack_from(">IIIII", raw, 12)
    return label, bs, cyl, num


def _vm370_cylinders(dev: DasdImage, cyl: int) -> int:
    trk = dev.read_track(cyl, 0)
    for rec in trk.records:
        if rec.r == 4 and rec.dl >= VM370_BLOCK:
            return int(struct.unpack_from(">I", rec.data, 380)[0])
    return 0


def find_minidisks(dev: Union[DasdImage, FBAImage]) -> list[Found]:
    """Every CMS minidisk whose label is on ``dev``, in volume order."""
    if is_fba(dev):
        return _find_fba(dev)  # type: ignore[arg-type]
    out: list[Found] = []
    cyl = 0
    ncyl = dev.cylinders  # type: ignore[union-attr]
    while cyl < ncyl:
        try:
            kind, dl, data = sniff_ckd(dev, cyl)  # type: ignore[arg-type]
        except SpoolkitError:
            kind = None
        size = 0
        if kind == "vm370":
            size = _vm370_cylinders(dev, cyl)  # type: ignore[arg-type]
            label = data[4:10].decode("cp037").rstrip()
            if 1 <= size <= ncyl - cyl:
                out.append(Found(cyl, cyl + size - 1, "cylinders", label, "vm370", VM370_BLOCK))
        elif kind == "edf":
            label, bs, size, _ = _edf_label(data)
            if 1 <= size <= ncyl - cyl and bs == dl:
                out.append(Found(cyl, cyl + size - 1, "cylinders", label, "edf", bs))
        cyl += size if 1 <= size <= ncyl - cyl else 1
    return out


def _find_fba(dev: FBAImage) -> list[Found]:
    out: list[Found] = []
    blk = 1
    while blk < dev.blocks:
        n = min(SCAN_CHUNK, dev.blocks - blk)
        data = dev.read_blocks(blk, n)
        nxt = blk + n
        pos = data.find(EDF_ID)
        while pos >= 0:
            if pos % 512 == 0:
                label, bs, _, num = _edf_label(data[pos:pos + 512])
                start = blk + pos // 512 - 1
                size = num * (bs // 512) if bs in (512, 1024, 2048, 4096) else 0
                if size and start + size <= dev.blocks:
                    out.append(Found(start, start + size - 1, "blocks", label, "edf", bs))
                    nxt = start + size + 1
                    break
            pos = data.find(EDF_ID, pos + 1)
        blk = nxt
    return out


__all__ = ["Found", "find_minidisks"]
