"""An archive "tape" on a minidisk extent (cylinder range) of a CKD volume.

The extent's tracks are formatted with 4096-byte records (12 per 3390 track,
as a CMS 4K-blocked minidisk) and hold one byte stream: R1 of the first
track is the label record, the rest carries tape blocks, each an 8-byte
header (length, flags) and the data.  The label records how many stream
bytes are valid; it is rewritten only when a run is complete
(:meth:`MinidiskTape.commit`), so a dump killed half-way leaves the
minidisk's archive as it was — the DASD form of "write a temp file, rename".

Label record (4096 bytes, big-endian): EBCDIC ``SPKM``, version (1), 3
reserved, first and last cylinder (4 each), used stream bytes (8), CRC-32C of
bytes 0..23 (4), zeros.  Block header: length (4), flags (1: X'40' tapemark),
3 zero bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

from .._native import check, ffi, lib, new_err
from ..compress import Buffer
from ..dasd.base import DasdImage
from ..errors import (
    ChecksumError,
    FormatError,
    InvalidArgumentError,
    NoSpaceError,
    ProtectedExtentError,
    Where,
)
from ..lifetime import Finalizing
from ..overlay import protected_extents as guarded
from .blocks import crc32c

RECORD = 4096
MAGIC = "SPKM".encode("cp037")
_LABEL = struct.Struct(">4sB3xIIQ")      # 24 bytes, then CRC
_BLOCK = struct.Struct(">IB3x")
TM_FLAG = 0x40


@dataclass
class _Block:
    data: bytes
    is_tapemark: bool
    offset: int


def protected_extents(dev: DasdImage) -> list[tuple[int, int]]:
    """Cylinder ranges of ``dev`` an archive must not overwrite: cylinder 0
    (label, allocation map, VTOC) and every CP-owned area the overlay guard
    protects (the volume's allocation map except PERM)."""
    return [(0, 0)] + [(p.first, p.last) for p in guarded(dev)]


class MinidiskTape(Finalizing):
    """The tape block API (write_block, tapemark, read_block, tell, seek,
    rewind, skip_files) on cylinders ``first..last`` of an open volume.

    Opened for writing, what is written becomes the archive only at
    :meth:`commit`.  :meth:`close` (also run at garbage collection or exit,
    with a ResourceWarning, when the program did not close it) commits when
    the last thing written is a tapemark (a run's catalog file is closed),
    else it leaves the archive as the last commit made it."""

    closed = True                          # until the extent is open

    def __init__(self, dev: DasdImage, first: int, last: int, mode: str = "r",
                 *, check_overlap: bool = True) -> None:
        if not 0 <= first <= last < dev.cylinders:
            raise InvalidArgumentError(f"minidisk cylinders {first}-{last} are outside the "
                                       f"volume ({dev.cylinders} cylinders)", path=dev.path)
        if mode != "r" and check_overlap:
            for lo, hi in protected_extents(dev):
                if first <= hi and lo <= last:
                    raise ProtectedExtentError(
                        f"minidisk cylinders {first}-{last} overlap the CP-owned extent "
                        f"{lo}-{hi}", path=dev.path, track=(max(first, lo), 0))
        self.dev, self.first, self.last, self.mode = dev, first, last, mode
        self.per_track = dev.device.records_per_track(RECORD)
        self.tracks = (last - first + 1) * dev.heads
        self.capacity = self.tracks * self.per_track * RECORD - RECORD
        # HA (5) + R0 (8 + 8) + records (8 + 4096 each) + EOT (8)
        self._image_size = 5 + 16 + self.per_track * (8 + RECORD) + 8
        self.pos = 0
        self.bytes_read = 0
        self._cache: tuple[int, Optional[bytearray]] = (-1, None)
        self._dirty = False
        self._written: set[int] = set()
        self._ends_in_mark = False             # the last block written is a tapemark
        self._pending = False                  # written since the last commit
        self.used = 0
        if mode == "w":
            self.used = 0
            self._format()
        else:
            self.used = self._read_label()
            if mode == "a":
                # after everything committed, closing tapemark included: what is
                # written now stays invisible until commit() moves the label
                self.pos = self.used
        self.closed = False
        if mode != "r":
            self._finalize_on_exit()

    # -- label ------------------------------------------------------------
    def _label_bytes(self, used: int) -> bytes:
        head = _LABEL.pack(MAGIC, 1, self.first, self.last, used)
        return (head + struct.pack(">I", crc32c(head))).ljust(RECORD, b"\0")

    def _read_label(self) -> int:
        rec = self._track_data(0)[:RECORD]
        magic, ver, first, last, used = _LABEL.unpack_from(rec)
        where: Where = {"path": self.dev.path, "track": (self.first, 0)}
        if magic != MAGIC or ver != 1:
            raise FormatError("no spoolkit minidisk archive label on this extent", **where)
        if struct.unpack_from(">I", rec, _LABEL.size)[0] != crc32c(rec[:_LABEL.size]):
            raise ChecksumError("minidisk archive label CRC-32C does not match", **where)
        if (first, last) != (self.first, self.last) or used > self.capacity:
            raise FormatError(f"label is for cylinders {first}-{last} with {used} bytes",
                              **where)
        return int(used)

    def _format(self) -> None:
        """Start a new archive: an empty label (the old archive is gone from
        here on).  Other tracks are written as the stream reaches them."""
        track = bytearray(self.per_track * RECORD)
        track[:RECORD] = self._label_bytes(0)
        self._cache = (0, track)
        self._dirty = True
        self._flush_track()

    # -- track cache: read-modify-write whole tracks -----------------------
    def _track_data(self, t: int) -> bytearray:
        if self._cache[0] != t:
            self._flush_track()
            per = self.per_track * RECORD
            fresh = t not in self._written and (
                self.mode == "w" and t > 0 or self.mode == "a" and t * per >= self.used + RECORD)
            if fresh:                      # nothing of the archive there: no need to read
                blank = bytearray(per)
                self._cache = (t, blank)
                return blank
            cyl, head = divmod(self.first * self.dev.heads + t, self.dev.heads)
            trk = self.dev.read_track(cyl, head)
            recs = trk.records
            if len(recs) != self.per_track or any(r.dl != RECORD or r.kl for r in recs):
                raise FormatError("minidisk track is not formatted with 4096-byte records",
                                  path=self.dev.path, track=(cyl, head))
            self._cache = (t, bytearray(b"".join(bytes(r.data) for r in recs)))
        cached = self._cache[1]
        assert cached is not None         # a track number is cached with its data
        return cached

    def _flush_track(self) -> None:
        t, data = self._cache
        if t >= 0 and self._dirty and data is not None:
            self._write_image(t, data)
        self._dirty = False

    def _write_image(self, t: int, data: Buffer) -> None:
        """Write track ``t`` of the extent holding ``data`` (its records' bytes)."""
        cyl, head = divmod(self.first * self.dev.heads + t, self.dev.heads)
        # the track image straight away, built in C: HA, R0, R1..Rn of 4096 bytes, EOT
        image = bytearray(self._image_size)
        err = new_err()
        n = check(lib.spk_track_build_fixed(ffi.from_buffer(image), len(image), cyl, head,
                                              ffi.from_buffer(data), len(data), RECORD,
                                              self.per_track, err),
                  err, path=self.dev.path, track=(cyl, head))
        del image[n:]
        self.dev.write_track(cyl, head, image)
        self._written.add(t)

    def _io(self, pos: int, data: Optional[Buffer] = None, n: int = 0) -> bytes:
        """Read ``n`` stream bytes at ``pos`` or write ``data`` there."""
        per = self.per_track * RECORD
        abs_pos = pos + RECORD                         # after the label record
        out = bytearray()
        mv = memoryview(data).cast("B") if data is not None else None
        todo = len(mv) if mv is not None else n
        done = 0
        while done < todo:
            t, off = divmod(abs_pos + done, per)
            k = min(todo - done, per - off)
            if mv is not None and k == per and self._cache[0] != t:
                self._write_image(t, mv[done:done + k])   # a whole track: no cache copy
                done += k
                continue
            buf = self._track_data(t)
            if mv is not None:
                buf[off:off + k] = mv[done:done + k]
                self._dirty = True
            else:
                out += buf[off:off + k]
            done += k
        return bytes(out)

    # -- tape block API -----------------------------------------------------
    def _put(self, data: Buffer, flags: int) -> None:
        if self.mode == "r":
            raise InvalidArgumentError("minidisk archive is open read-only", path=self.dev.path)
        n = len(data)
        if self.pos + _BLOCK.size + n > self.capacity:
            raise NoSpaceError(f"minidisk cylinders {self.first}-{self.last} are full "
                               f"({self.capacity} bytes)", path=self.dev.path)
        self._pending = True
        self._io(self.pos, _BLOCK.pack(n, flags))
        if n:
            self._io(self.pos + _BLOCK.size, data)
        self.pos += _BLOCK.size + n
        self._ends_in_mark = bool(flags & TM_FLAG)

    def write_block(self, data: Buffer) -> None:
        self._put(data, 0)

    def tapemark(self) -> None:
        self._put(b"", TM_FLAG)

    def block_framing(self) -> tuple[int, int, int, int]:
        """Blocks here are framed as ``SPK_ARCH_STREAM`` (8-byte headers)."""
        return (lib.SPK_ARCH_STREAM, 0, 0, 0)

    def write_framed(self, framed: memoryview, blocks: int, last: int) -> int:
        """Write data blocks framed by the caller (each with its 8-byte
        header); returns the stream offset of the first."""
        if self.mode == "r":
            raise InvalidArgumentError("minidisk archive is open read-only", path=self.dev.path)
        n = len(framed)
        if self.pos + n > self.capacity:
            raise NoSpaceError(f"minidisk cylinders {self.first}-{self.last} are full "
                               f"({self.capacity} bytes)", path=self.dev.path)
        off = self.pos
        self._pending = True
        self._io(self.pos, framed)
        self.pos += n
        self._ends_in_mark = False
        return off

    def read_block(self) -> Optional[_Block]:
        if self.pos + _BLOCK.size > self.used:
            return None
        n, flags = _BLOCK.unpack(self._io(self.pos, n=_BLOCK.size))
        if self.pos + _BLOCK.size + n > self.used:
            raise FormatError(f"block of {n} bytes runs past the archive's end",
                              path=self.dev.path, offset=self.pos)
        offset = self.pos
        data = self._io(self.pos + _BLOCK.size, n=n)
        self.pos += _BLOCK.size + n
        self.bytes_read += _BLOCK.size + n
        return _Block(data, bool(flags & TM_FLAG), offset)

    def skip_files(self, count: int = 1) -> int:
        done = 0
        while done < count and self.pos + _BLOCK.size <= self.used:
            n, flags = _BLOCK.unpack(self._io(self.pos, n=_BLOCK.size))
            self.bytes_read += _BLOCK.size
            self.pos += _BLOCK.size + n
            if flags & TM_FLAG:
                done += 1
        return done

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int) -> None:
        self.pos = offset

    def rewind(self) -> None:
        self.pos = 0

    def commit(self) -> None:
        """Make everything written so far (up to the position) the archive."""
        self._flush_track()
        self.used = self.pos
        self._cache = (-1, None)
        data = self._track_data(0)
        data[:RECORD] = self._label_bytes(self.used)
        self._dirty = True
        self._flush_track()
        self.dev.flush()
        self._pending = False

    def discard(self) -> None:
        """Close without committing: the archive stays as the last commit
        made it (what was written after it is outside the label's extent)."""
        if self.closed:
            return
        self._pending = False
        self.close()

    def close(self) -> None:
        """Finish: commit a write that ended on a tapemark (see the class),
        write the cached track; idempotent."""
        if self.closed:
            return
        try:
            if self.mode != "r" and self._pending and self._ends_in_mark:
                self.commit()
            else:
                self._flush_track()
        finally:
            self.closed = True
            self._forget_on_exit()

    def __repr__(self) -> str:
        return (f"<MinidiskTape {self.dev.path} cylinders {self.first}-{self.last} "
                f"mode={self.mode} at {self.pos}>")


__all__ = ["MinidiskTape", "protected_extents"]
