"""Allocation bitmaps (the VM/370 QMSK, the EDF ALLOCMAP): bit 7 of byte 0
is block 1; blocks are taken first fit, lowest first, as CMS's DMSTRKA does."""

from __future__ import annotations

from array import array
from typing import Optional, Sequence, Union

from .._native import check, ffi, lib, new_err
from ..errors import NoSpaceError

Blocks = Union[Sequence[int], "array[int]"]


def take(bitmap: bytearray, nbits: int, count: int, path: Optional[str] = None,
         reserved: int = 4) -> array[int]:
    """Mark the ``count`` lowest free blocks used and return their numbers.
    Blocks ``1..reserved`` (IPL, label, directory origin) are never given out."""
    out = array("I", [0]) * count
    if not count:
        return out
    for b in range(min(reserved, nbits)):
        bitmap[b >> 3] |= 0x80 >> (b & 7)
    err = new_err()
    rc = lib.spk_cms_bitmap_alloc(ffi.from_buffer(bitmap), len(bitmap), nbits, count,
                                  ffi.from_buffer("uint32_t[]", out), err)
    if rc < 0:
        free = nbits - count_used(bitmap, nbits)
        raise NoSpaceError(f"the minidisk is full: {count} blocks needed, {free} free",
                           path=path)
    return out


def release(bitmap: bytearray, nbits: int, blocks: Blocks, path: Optional[str] = None) -> int:
    """Mark blocks free; returns how many were in use (one already free is
    left as it is, as CMS's ERASE goes on past a bad block)."""
    arr = blocks if isinstance(blocks, array) and blocks.typecode == "I" else array("I", blocks)
    if not len(arr):
        return 0
    err = new_err()
    return int(check(lib.spk_cms_bitmap_set(ffi.from_buffer(bitmap), len(bitmap), nbits,
                                            ffi.from_buffer("uint32_t[]", arr), len(arr), 0,
                                            ffi.NULL, err), err, path=path))


def count_used(bitmap: Union[bytes, bytearray], nbits: int) -> int:
    """Blocks marked used among blocks 1..nbits."""
    return int(check(lib.spk_cms_bitmap_count(bytes(bitmap), len(bitmap), nbits)))


count = count_used


def last_byte(bitmap: Union[bytes, bytearray]) -> int:
    """Index of the last byte with a block in use (ADTLAST)."""
    return max(len(bytes(bitmap).rstrip(b"\0")) - 1, 0)


__all__ = ["count", "count_used", "last_byte", "release", "take"]
