"""Writing a tape image: blocks framed in C one per call (or many by a
caller, :meth:`Framing.write_framed`), every write checked; a write ends
the tape after it, as on Hercules."""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterable
from typing import Any, Optional, Union

from .._native import check, ffi, lib, new_err
from ..compress import Buffer
from ..errors import InvalidArgumentError, ReadOnlyError, SpoolkitError, WriteError
from ..output import Writeback, write_all
from ..util import default_workers
from . import journal
from .position import Positioning
from .state import AWS, FAKETAPE, MAXBLOCK


class Framing(Positioning):
    """Blocks and tapemarks written at the position."""

    def _check_writable(self) -> None:
        self._check_open()
        if self.mode == "r":
            raise ReadOnlyError("tape is open read-only", path=self.path)

    def _frame(self, data: Optional[Buffer], prev: int) -> tuple[bytes, int, int]:
        if self._out is None:
            self._out = bytearray(MAXBLOCK + 64 * 1024)
            self._outbuf = ffi.from_buffer(self._out)
        err = new_err()
        last = ffi.new("uint32_t *")
        stored = ffi.new("uint32_t *")
        src = ffi.NULL if data is None else ffi.from_buffer(data)
        n = check(lib.spk_tape_build_block(src, 0 if data is None else len(data), self._fmt,
                                           self.method, self.level, self.chunk_size, prev,
                                           self._outbuf, len(self._out), last, stored, err),
                  err, path=self.path, block=self.block_number)
        return bytes(self._out[:n]), last[0], stored[0]

    def _put(self, framed: Buffer, last: int) -> None:
        """Write ``framed`` at the position, ending the tape after it.  A
        failed write puts back what was there: the tape is as before."""
        self._win.invalidate()
        end = self._file_size()
        pos = self._pos
        if self._append is not None and not self._journal:
            start, old_end, tail = self._append
            journal.save(self.path, self._fd, start, old_end, tail)
            self._journal = True
        n = len(memoryview(framed).cast("B"))
        old = self._pread(min(n, end - pos), pos) if pos < end else b""
        try:
            write_all(self._fd, framed, self.path, offset=pos)
            if pos + n < end:
                try:
                    os.ftruncate(self._fd, pos + n)  # a write in the middle ends the tape here
                except OSError as exc:
                    raise WriteError(f"cannot truncate: {exc.strerror}", errno=exc.errno,
                                     path=self.path) from None
        except BaseException:
            with contextlib.suppress(OSError, SpoolkitError):
                if old:
                    write_all(self._fd, old, self.path, offset=pos)
                os.ftruncate(self._fd, end)
            self._size = None
            raise
        self._pos = pos + n
        self._size = self._pos
        self._last = last
        self._wrote = True
        # the disk writes behind the writer, so closing's fsync has little left
        wb = self._wb
        if wb is None:
            wb = self._wb = Writeback(self._fd, pos)
        wb.advance(self._pos)
        if self.block_number >= 0:
            self.block_number += 1

    def write_block(self, data: Buffer) -> int:
        """Write one data block (1 byte .. 2 MiB; FakeTape 65535); returns its offset."""
        self._check_writable()
        if not 0 < len(data) <= MAXBLOCK:
            raise InvalidArgumentError(f"block of {len(data)} bytes: must be 1..{MAXBLOCK}",
                                       path=self.path)
        off = self._pos
        framed, last, _ = self._frame(data, self._last)
        self._put(framed, last)
        return off

    def write_blocks(self, blocks: Iterable[Optional[bytes]],
                     workers: Optional[int] = None) -> int:
        """Write many data blocks (None items write tapemarks), compressing
        them on all cores — the C calls release the GIL — and writing in
        order with a bounded window in flight.  Returns the data block count."""
        from concurrent.futures import ThreadPoolExecutor

        self._check_writable()
        if self.method == 0 or self._fmt == FAKETAPE:
            n = 0
            for data in blocks:
                if data is None:
                    self.tapemark()
                else:
                    self.write_block(data)
                    n += 1
            return n
        workers = workers or default_workers()

        def frame(data: bytes) -> tuple[bytearray, int]:
            if not 0 < len(data) <= MAXBLOCK:
                raise InvalidArgumentError(f"block of {len(data)} bytes: must be "
                                           f"1..{MAXBLOCK}", path=self.path)
            out = bytearray(len(data) + (len(data) // self.chunk_size + 2) * 6 + 64)
            err = new_err()
            last = ffi.new("uint32_t *")
            k = check(lib.spk_tape_build_block(ffi.from_buffer(data), len(data), AWS,
                                               self.method, self.level, self.chunk_size, 0,
                                               ffi.from_buffer(out), len(out), last, ffi.NULL,
                                               err), err, path=self.path)
            del out[k:]
            return out, last[0]

        def put(fut: Any) -> None:
            if fut is None:
                self.tapemark()
                return
            out, last = fut.result()
            out[2:4] = self._last.to_bytes(2, "little")  # depends on the block before
            self._put(out, last)

        n = 0
        pending: deque[Any] = deque()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for data in blocks:
                if data is None:
                    pending.append(None)
                else:
                    pending.append(pool.submit(frame, data))
                    n += 1
                if len(pending) >= 4 * workers:
                    put(pending.popleft())
            while pending:
                put(pending.popleft())
        return n

    def _patch_prev(self, framed: Union[bytearray, memoryview], prev: int) -> None:
        """Set the previous-length field of the first header in ``framed``
        (framed apart from the blocks before it)."""
        mv = memoryview(framed).cast("B")
        if self._fmt == FAKETAPE:
            cur = int(bytes(mv[4:8]), 16)
            mv[0:12] = b"%04X%04X%04X" % (prev, cur, prev ^ cur)
        else:
            mv[2:4] = prev.to_bytes(2, "little")

    def block_framing(self) -> tuple[int, int, int, int]:
        """(format, method, level, chunk size) blocks written now are framed
        with, for writers that frame many blocks in one C call
        (``spk_archive_encode``) and hand them to :meth:`write_framed`."""
        return (self._fmt, self.method if self._fmt == AWS else 0, self.level,
                self.chunk_size)

    def write_framed(self, framed: Union[bytearray, memoryview], blocks: int,
                     last: int) -> int:
        """Write ``blocks`` blocks (tapemarks included) framed as
        :meth:`block_framing` says, in one write.  The first header's
        previous-length field is set here (``framed`` is patched in place);
        ``last`` is the length of the last chunk (FakeTape: block).  Returns
        the offset of the first block."""
        self._check_writable()
        mv = memoryview(framed).cast("B")
        off = self._pos
        if blocks <= 0 or not mv:
            return off
        self._patch_prev(mv, self._last)
        self._put(mv, last)
        if self.block_number >= 0:
            self.block_number += blocks - 1   # _put counted one
        return off

    def tapemark(self) -> int:
        """Write a tapemark; returns its offset."""
        self._check_writable()
        off = self._pos
        framed, last, _ = self._frame(None, self._last)
        self._put(framed, 0 if self._fmt == AWS else last)
        if self.file_number >= 0:
            self.file_number += 1
        return off

    def _ends_with_marks(self) -> int:
        """How many tapemarks (0, 1, 2) end the tape before the position."""
        hdr = 12 if self._fmt == FAKETAPE else 6
        count, pos, last = 0, self._pos, self._last
        while count < 2 and pos >= hdr:
            start = pos - hdr - last
            if start < 0:
                break
            head = self._pread(hdr, start)
            if len(head) < hdr:
                break
            if self._fmt == FAKETAPE:
                is_mark = head[4:8] == b"0000"
                try:
                    prev = int(head[0:4], 16) if is_mark else 0
                except ValueError:
                    break
            else:
                is_mark = bool(head[4] & 0x40)
                prev = int.from_bytes(head[2:4], "little")
            if not is_mark or last != 0:
                break
            count += 1
            pos, last = start, prev
        return count
