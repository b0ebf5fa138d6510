"""Reading a tape image: blocks, whole files walked in C, the map."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Callable, Optional

from .._native import check, ffi, lib, new_err
from ..errors import InvalidArgumentError, SpoolkitError
from .state import EWINDOW, MAXBLOCK, Block, FileStat, TapeState

_MAPBATCH = 4096        # file entries per C call of map()
_WALK_WINDOW = 4 << 20  # window of a walk over many blocks


class Reading(TapeState):
    """Blocks read through the window (:mod:`.window`) by the C readers."""

    def _call(self, off: int, fn: Callable[[], int], err: Any) -> int:
        """Run the C reader ``fn`` on a window holding ``off``, moving the
        window on as it asks."""
        w = self._win
        if not w.covers(off):
            w.fill(off)
        while True:
            rc = fn()
            if rc != EWINDOW:
                return rc
            w.refill_for(int(err.offset), int(err.index))

    def _scan(self, off: int) -> Optional[Any]:
        b = ffi.new("spk_tape_block *")
        err = new_err()
        src = self._win.src
        rc = self._call(off, lambda: lib.spk_tape_scan_block(src, off, b, err), err)
        if rc == 1:
            return None
        check(rc, err, path=self.path, block=self.block_number)
        return b

    def _walk(self, off: int, *, max_marks: int = 0, decompress: bool = False,
              files: Any = None, maxfiles: int = 0) -> Iterator[tuple[Any, int]]:
        """Walk blocks from ``off`` in C (spk_tape_walk_fd reads the windows);
        yields (state, entries filled) per call, until the walk stops at the
        end, a full ``files`` array or ``max_marks`` tapemarks."""
        st = ffi.new("spk_tape_walk_state *")
        st.off = off
        st.max_marks = st.marks_left = max_marks
        st.decompress = 1 if decompress else 0
        err = new_err()
        w = self._win
        w.ensure(_WALK_WINDOW)
        if not w.covers(off):
            w.invalidate()
            w.src.buf = ffi.NULL
        files = files if files is not None else ffi.NULL
        while True:
            rc = lib.spk_tape_walk_fd(self._fd, w.src, w.cbuf, len(w._buf), _WALK_WINDOW, st,
                                      files, maxfiles, err)
            w.sync()
            if rc == lib.SPK_EBUFSIZE and err.index > len(w._buf):
                w.ensure(int(err.index))
                continue
            n = check(rc, err, path=self.path)
            yield st, n
            if st.stop not in (lib.SPK_TAPE_STOP_FULL, lib.SPK_TAPE_STOP_WINDOW):
                return
            if not w.covers(st.off):   # blocks were read elsewhere meanwhile
                w.invalidate()
                w.src.buf = ffi.NULL

    def _walk_all(self, off: int, max_marks: int = 0) -> Any:
        st = None
        for st, _n in self._walk(off, max_marks=max_marks):  # noqa: B007 - the last state
            pass
        return st

    def _pread(self, n: int, off: int) -> bytes:
        try:
            return os.pread(self._fd, n, off)
        except OSError as exc:
            raise SpoolkitError(f"read failed: {exc.strerror}", path=self.path,
                                offset=off) from None

    def read_block(self) -> Optional[Block]:
        """The next block (a tapemark is a Block with ``is_tapemark``); None at
        the end of the tape."""
        self._check_open()
        b, err = self._rb, self._rerr
        off = self._pos
        if self._rbuf is None:
            self._rbuf = bytearray(MAXBLOCK)
            self._rcbuf = ffi.from_buffer(self._rbuf)
        src, out = self._win.src, self._rcbuf
        rc = self._call(off, lambda: lib.spk_tape_read_block(src, off, out, MAXBLOCK, b, err),
                        err)
        if rc == lib.SPK_ENOTFOUND and off == src.size:
            return None
        check(rc, err, path=self.path, block=self.block_number)
        self._pos = b.next
        self._last = b.last_chunk
        self.block_number += 1
        self.bytes_read += b.next - off
        if b.tapemark:
            self.file_number += 1
            return Block(b"", True, off, 0)
        return Block(bytes(self._rbuf[:rc]), False, off, b.stored, b.method)

    def __iter__(self) -> Iterator[Block]:
        while True:
            blk = self.read_block()
            if blk is None:
                return
            yield blk

    def blocks(self) -> Iterator[Block]:
        """Blocks up to the next tapemark (which is consumed), or EOT."""
        while True:
            blk = self.read_block()
            if blk is None or blk.is_tapemark:
                return
            yield blk

    def iter_map(self, decompress: bool = True) -> Iterator[FileStat]:
        """Per-file block counts and sizes of the whole tape, counted in C
        and yielded as they are found (memory stays bounded whatever the
        number of files)."""
        self._check_open()
        arr = ffi.new("spk_tape_filestat[]", _MAPBATCH)
        number = 0
        size = 0
        for st, n in self._walk(0, decompress=decompress, files=arr, maxfiles=_MAPBATCH):
            size = int(st.off)
            for a in arr[0:n]:
                number += 1
                yield FileStat(number, a.blocks, a.bytes, a.stored, a.min_block, a.max_block,
                               a.min_stored, a.max_stored, a.first_offset)
        self.bytes_read += size

    def map(self, decompress: bool = True) -> list[FileStat]:
        """:meth:`iter_map` as a list."""
        return list(self.iter_map(decompress))

    def block_at(self, offset: int) -> tuple[Block, int]:
        """The block at ``offset`` and the offset after it, without moving the
        position (for label peeks while mapping)."""
        pos, last, bn, fn, nread = (self._pos, self._last, self.block_number,
                                    self.file_number, self.bytes_read)
        try:
            self._pos = offset
            blk = self.read_block()
            after = self._pos
        finally:
            self._pos, self._last, self.block_number, self.file_number, self.bytes_read = \
                pos, last, bn, fn, nread
        if blk is None:
            raise InvalidArgumentError(f"no block at offset {offset}: the end of the tape",
                                       path=self.path)
        return blk, after
