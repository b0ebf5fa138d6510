"""A tape file read through ``pread`` into one reused buffer.

The C readers (``csrc/tape.c``) work on a window of the file (an
``spk_tape_src``): bytes ``[base, base + len)`` of a file of ``size`` bytes.
Nothing is mapped, so a file truncated by another process while it is read
gives short reads and a typed error, never ``SIGBUS``; the memory used is
the window, however large the tape.  A reader that needs bytes past the
window returns ``SPK_EWINDOW`` naming the block; :meth:`Window.refill_for`
moves (or widens) the window to it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Union

from .._native import ffi, lib
from ..errors import FormatError, SpoolkitError

if TYPE_CHECKING:
    from .._spoolkit import Buffer, NullPtr

#: the widest usual window; a read at a new place starts with FIRST bytes and
#: doubles while reading goes on sequentially; a block that does not fit
#: widens it, up to MAXSPAN
WINDOW = 1 << 20
FIRST = 64 << 10
MAXSPAN = lib.SPK_TAPE_MAXSPAN


def pread_into(fd: int, buf: bytearray, n: int, off: int, path: str, at: int = 0) -> int:
    """Read up to ``n`` bytes at ``off`` into ``buf`` from its byte ``at``;
    fewer only at the end of the file.  Returns the bytes read."""
    view = memoryview(buf)[at:]
    got = 0
    while got < n:
        try:
            k = os.preadv(fd, [view[got:n]], off + got)
        except OSError as exc:
            raise SpoolkitError(f"read failed: {exc.strerror}", path=path,
                                offset=off + got) from None
        if k <= 0:
            break
        got += k
    return got


class Window:
    """The part of the tape file last read, as the ``spk_tape_src`` handed to C."""

    def __init__(self, fd: int, path: str, fmt: int, want: int = WINDOW) -> None:
        self.fd = fd
        self.path = path
        self.want = want
        self.src = ffi.new("spk_tape_src *")
        self.src.format = fmt
        self.src.buf = ffi.NULL
        self._buf = bytearray()
        self._cbuf: Union[Buffer, NullPtr] = ffi.NULL
        self.valid = False

    @property
    def base(self) -> int:
        return int(self.src.base)

    @property
    def end(self) -> int:
        return int(self.src.base + self.src.len)

    @property
    def size(self) -> int:
        return int(self.src.size)

    def ensure(self, cap: int) -> None:
        """Make the buffer at least ``cap`` bytes (what was read is kept)."""
        if len(self._buf) < cap:
            old = self._buf[:int(self.src.len)] if self.valid else b""
            self._cbuf = ffi.NULL
            self._buf = bytearray(cap)
            self._buf[:len(old)] = old
            self._cbuf = ffi.from_buffer(self._buf)
            if self.valid:
                self.src.buf = self._cbuf

    @property
    def cbuf(self) -> Union[Buffer, NullPtr]:
        """The buffer as a cffi ``char[]`` (for the C readers)."""
        return self._cbuf

    def sync(self) -> None:
        """C moved the window itself (spk_tape_walk_fd)."""
        self.valid = self.src.buf != ffi.NULL

    def invalidate(self) -> None:
        """Forget what was read (the file was written)."""
        self.valid = False

    def covers(self, off: int) -> bool:
        s = self.src
        return self.valid and s.base <= off and (off < s.base + s.len or off == s.size)

    def file_size(self) -> int:
        try:
            return os.fstat(self.fd).st_size
        except OSError as exc:
            raise SpoolkitError(f"cannot stat the tape: {exc.strerror}", path=self.path) \
                from None

    def fill(self, off: int, want: int = 0) -> None:
        """Read ``want`` bytes of the file from ``off`` (default: FIRST at a new
        place, twice the last window when reading goes on where it ended)."""
        if not want:
            going_on = self.valid and self.base < off <= self.end + FIRST
            want = min(self.want, max(FIRST, 2 * int(self.src.len))) if going_on else FIRST
        size = self.file_size()
        n = max(0, min(want, size - off))
        if len(self._buf) < n:
            self.valid = False
            self.ensure(max(n, FIRST))
        got = self._pread(off, n)
        if got < n:
            size = off + got   # the file shrank while it was read
        s = self.src
        s.buf = self._cbuf
        s.base = min(off, size)
        s.len = got
        s.size = size
        self.valid = True

    def _pread(self, off: int, n: int) -> int:
        return pread_into(self.fd, self._buf, n, off, self.path)

    def refill_for(self, off: int, need: int = 0, want: int = 0) -> None:
        """The block at ``off`` (``need`` bytes at least) lies past the window:
        read a window from it (``want`` bytes, default as :meth:`fill`),
        wider when the block did not fit in one that started there."""
        if off == self.base and self.valid:
            if self.src.len >= MAXSPAN:
                raise FormatError(f"block at offset {off} spans more than {MAXSPAN} bytes",
                                  path=self.path, offset=off)
            want = min(MAXSPAN, max(2 * int(self.src.len), need + FIRST, want))
        elif need:
            want = max(want or FIRST, min(MAXSPAN, need + FIRST))
        self.fill(off, want)
