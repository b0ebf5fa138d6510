"""Copying a tape into another tape's format, compression and chunk size:
the source cut into segments at block boundaries, each recoded in C by a
worker thread, written in order."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any, Callable, Optional

from .._native import check, ffi, lib, new_err
from ..errors import TruncatedError
from ..util import default_workers
from .framing import Framing
from .position import Positioning
from .state import EWINDOW, MAXBLOCK
from .window import MAXSPAN, pread_into

#: about the most recoded bytes waiting to be written, over all segments
_IN_FLIGHT = 32 << 20


class Recoding(Framing):
    """:meth:`copy_from`: a whole tape's blocks onto this one."""

    def copy_from(self, src: Positioning, workers: Optional[int] = None,
                  progress: Optional[Callable[[int], None]] = None,
                  segment: int = 4 << 20) -> tuple[int, int]:
        """Copy every block and tapemark of ``src`` from its position to its
        end onto this tape, in this tape's format, compression and chunk
        size.  The source is cut at block boundaries into segments of about
        ``segment`` bytes, each read and recoded by one worker thread (the
        GIL is released), and written in order.  Returns (blocks, tapemarks);
        ``progress`` gets the source bytes of each segment written."""
        from concurrent.futures import ThreadPoolExecutor

        self._check_writable()
        src._check_open()
        size = src._file_size()
        start = src._pos
        workers = workers or default_workers()
        cap = max(2 * segment, MAXBLOCK + (MAXBLOCK // self.chunk_size + 2) * 12)
        # recoded bytes a segment holds until it is written: decompressing,
        # a segment's blocks can be hundreds of times its size on the tape
        limit = max(cap, _IN_FLIGHT // (2 * workers))
        nxt = ffi.new("uint64_t *")

        local = threading.local()

        def recode(a: int, b: int) -> tuple[list[tuple[bytearray, int, int]], int, int, int]:
            """(framed piece, blocks + tapemarks in it, its last chunk) list,
            data blocks, tapemarks, and where it stopped: before ``b`` when
            one more piece would pass ``limit`` bytes (an inflating copy)."""
            pieces: list[tuple[bytearray, int, int]] = []
            st = ffi.new("spk_tape_recode_stat *")
            err = new_err()
            blocks = marks = 0
            prev = 0  # write_framed patches it: it depends on the segment before
            if not hasattr(local, "out"):  # one buffer per thread: no zero-fill per segment
                local.out = bytearray(cap)
                local.cout = ffi.from_buffer(local.out)
                local.inp = bytearray()
            if len(local.inp) < b - a:
                local.cinp = None
                local.inp = bytearray(max(b - a, segment + segment // 4))
                local.cinp = ffi.from_buffer(local.inp)
            got = pread_into(src._fd, local.inp, b - a, a, src.path)
            if got < b - a:
                raise TruncatedError("the tape file shrank while it was copied", path=src.path,
                                     offset=a + got)
            s = ffi.new("spk_tape_src *")
            s.buf, s.base, s.len, s.size, s.format = local.cinp, a, b - a, b, src._fmt
            held = 0
            while a < b and (not pieces or held + cap <= limit):
                n = check(lib.spk_tape_recode(s, a, b, self._fmt, self.method, self.level,
                                              self.chunk_size, prev, local.cout, cap, st, err),
                          err, path=src.path)
                pieces.append((local.out[:n], st.blocks + st.tapemarks, st.last))
                held += n
                a, prev = st.next, st.last
                blocks += st.blocks
                marks += st.tapemarks
            return pieces, blocks, marks, int(a)

        counts = [0, 0]

        def put(seg: tuple[int, int, Any]) -> None:
            a, b, fut = seg
            result = fut.result()
            while True:
                pieces, blocks, marks, stop = result
                for piece, count, last in pieces:
                    self.write_framed(piece, count, last)
                del pieces, result
                if self.file_number >= 0:
                    self.file_number += marks
                counts[0] += blocks
                counts[1] += marks
                if stop >= b:
                    break
                result = recode(stop, b)  # the rest of an inflating segment, here
            if progress:
                progress(b - a)

        pending: deque[tuple[int, int, Any]] = deque()
        pos = last_start = start
        win = src._win
        want = max(win.want, 2 * segment)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while pos < size:
                if not (win.covers(pos) and win.end - pos >= min(want, size - pos)):
                    win.fill(pos, want)
                err = new_err()
                rc = lib.spk_tape_split(win.src, pos, segment, nxt, err)
                if rc == EWINDOW:
                    if nxt[0] == pos:  # one block larger than the window
                        want = min(MAXSPAN + segment, 2 * want)
                        win.fill(pos, want)
                        continue
                else:
                    check(rc, err, path=src.path)
                pending.append((pos, nxt[0], pool.submit(recode, pos, nxt[0])))
                last_start, pos = pos, nxt[0]
                if len(pending) >= 2 * workers:
                    put(pending.popleft())
            while pending:
                put(pending.popleft())
        # leave the source at its end, as reading it through would
        if last_start < size:
            src._last = int(src._walk_all(last_start).last)
        src._pos = size
        if src.block_number >= 0:
            src.block_number += counts[0] + counts[1]
        if src.file_number >= 0:
            src.file_number += counts[1]
        src.bytes_read += size - start
        return counts[0], counts[1]
