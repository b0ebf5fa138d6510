"""Track images <-> THR buffers and their 4096-byte blocks (in C, csrc/ddr.c).

DMKDDR writes a track as one buffer: the 32-byte THR fixed part (id,
THRNDRD count fields, THRNDRT 4096-byte blocks, THRDRL short-block length,
THRFLAG, the home address, R0), the count fields, then the key and data of
every record.  The buffer goes to tape as THRNDRT blocks of 4096 bytes (the
THR is the first) and, when bytes are left, one short block of at least 80.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from .._native import check, ffi, lib, new_err
from ..errors import InvalidArgumentError

if TYPE_CHECKING:
    from .._spoolkit import spk_ddr_track

Buffer = Union[bytes, bytearray, memoryview]

BLOCK = lib.SPK_DDR_BLOCK
MINBLOCK = lib.SPK_DDR_MINBLOCK
MAXTRACK = lib.SPK_DDR_MAXTRACK
SPECIAL = lib.SPK_DDR_SPECIAL
#: encode flags
OVERFLOW = lib.SPK_TRK_OVERFLOW
KEEP_HA = lib.SPK_DDR_KEEPHA
R0_RELOCATE = lib.SPK_DDR_R0_RELOCATE


@dataclass(frozen=True)
class TrackHeader:
    """The THR of one track on tape (and where it was read)."""

    cyl: int            # THRHADD: the track's (reordered) address
    head: int
    nrecs: int          # THRNDRD
    nblocks: int        # THRNDRT
    shortlen: int       # THRDRL
    flag: int           # THRFLAG
    haflag: int         # THRHADD flag byte
    length: int         # THR buffer bytes used
    tape_bytes: int     # bytes in the track's blocks
    key_bytes: int
    data_bytes: int
    block: int = -1     # tape block number of the THR (reading)
    offset: int = -1    # its offset in the tape image

    @property
    def special(self) -> bool:
        """The last record was written with write special CKD (track overflow)."""
        return bool(self.flag & SPECIAL)

    @property
    def blocks(self) -> int:
        """Tape blocks of the track."""
        return self.nblocks + (1 if self.shortlen else 0)

    @classmethod
    def from_c(cls, c: spk_ddr_track) -> TrackHeader:
        return cls(int(c.cyl), int(c.head), int(c.nrecs), int(c.nblocks), int(c.shortlen),
                   int(c.thrflag), int(c.haflag), int(c.length), int(c.tape_bytes),
                   int(c.key_bytes), int(c.data_bytes), int(c.block), int(c.offset))


def encode_track(image: Buffer, cyl: int, head: int, *, overflow: bool = True,
                 keep_ha: bool = False) -> tuple[bytes, TrackHeader]:
    """The THR buffer of a track image for output address cyl/head, padded
    to its blocks' length, and its THR fields.  ``overflow``: the image's CC
    bit X'8000' is the track-overflow flag (volumes under 32768 cylinders)."""
    out = bytearray(MAXTRACK)
    t = ffi.new("spk_ddr_track *")
    err = new_err()
    flags = (OVERFLOW if overflow else 0) | (KEEP_HA if keep_ha else 0)
    n = check(lib.spk_ddr_track_encode(ffi.from_buffer(image), len(image), cyl, head, flags,
                                       ffi.from_buffer(out), len(out), t, err), err,
              track=(cyl, head))
    return bytes(out[:n]), TrackHeader.from_c(t)


def cut(buffer: Buffer) -> list[bytes]:
    """The tape blocks of a THR buffer as :func:`encode_track` returns it."""
    mv = memoryview(buffer)
    return [bytes(mv[i:i + BLOCK]) for i in range(0, len(mv), BLOCK)]


class Framer:
    """Frames batches of track images as DDR blocks for one tape's framing
    (format, compression, level, chunk size): one C call per batch."""

    def __init__(self, framing: tuple[int, int, int, int], flags: int) -> None:
        self.framing = framing
        self.flags = flags

    def frame(self, images: Buffer, ends: Sequence[int], addrs: Sequence[int]
              ) -> tuple[bytearray, list[int], list[int], list[int]]:
        """(framed bytes, per-track cumulative end, last chunk length,
        cumulative blocks) for the tracks; the first header's previous
        length is 0 (TapeImage.write_framed sets it)."""
        n = len(ends)
        if len(addrs) != n:
            raise InvalidArgumentError("one output address per track image")
        fr = ffi.new("spk_archive_frame *")
        fr.format, fr.method, fr.level, fr.chunksize = self.framing
        fr.prev = 0
        cends = ffi.new("uint32_t[]", list(ends) or [0])
        bound = lib.spk_ddr_bound(cends, n, fr)
        if bound < 0:
            raise InvalidArgumentError("invalid tape framing")
        out = bytearray(max(1, bound))
        tend = ffi.new("uint64_t[]", max(1, n))
        tlast = ffi.new("uint32_t[]", max(1, n))
        tblocks = ffi.new("uint32_t[]", max(1, n))
        err = new_err()
        caddrs = ffi.new("uint32_t[]", list(addrs) or [0])
        rc = lib.spk_ddr_encode(ffi.from_buffer(images), len(images), cends, caddrs, n,
                                self.flags, fr, ffi.from_buffer(out), len(out), tend, tlast,
                                tblocks, err)
        if rc < 0:
            i = int(err.index)
            where = divmod(addrs[i], 0x10000) if 0 <= i < n else None
            check(rc, err, track=where)
        del out[rc:]
        return out, list(tend[0:n]), list(tlast[0:n]), list(tblocks[0:n])


__all__ = ["TrackHeader", "encode_track", "cut", "Framer", "BLOCK", "MINBLOCK", "MAXTRACK",
           "SPECIAL"]
