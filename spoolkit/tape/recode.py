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


class _Segment:
    """A buffer of the source read by :meth:`Recoding.copy_from`: the
    blocks from ``start`` to ``end`` (a block boundary) are one segment."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.view = memoryview(self.buf)
        self.cbuf: Any = ffi.NULL
        self.src: Any = ffi.new("spk_tape_src *")
        self.start = self.end = 0

    def ensure(self, n: int, keep: int = 0) -> None:
        """At least ``n`` bytes, the first ``keep`` of them kept."""
        if len(self.buf) < n:
            old = self.view[:keep]
            self.buf = bytearray(n)
            self.buf[:keep] = old
            self.view = memoryview(self.buf)
            self.cbuf = ffi.from_buffer(self.buf)


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

        def recode(seg: _Segment, a: int) -> tuple[list[tuple[bytearray, int, int]], int, int,
                                                   int]:
            """(framed piece, blocks + tapemarks in it, its last chunk) list,
            data blocks, tapemarks, and where it stopped: before the segment's
            end when one more piece would pass ``limit`` bytes (an inflating copy)."""
            pieces: list[tuple[bytearray, int, int]] = []
            st = ffi.new("spk_tape_recode_stat *")
            err = new_err()
            blocks = marks = 0
            prev = 0  # write_framed patches it: it depends on the segment before
            if not hasattr(local, "out"):  # one buffer per thread: no zero-fill per segment
                local.out = bytearray(cap)
                local.cout = ffi.from_buffer(local.out)
            b = seg.end
            s = ffi.new("spk_tape_src *")
            s.buf, s.base, s.len, s.size, s.format = seg.cbuf, seg.start, b - seg.start, b, \
                src._fmt
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
        free: list[_Segment] = []   # buffers whose segment is written

        def put(seg: _Segment, fut: Any) -> None:
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
                if stop >= seg.end:
                    break
                result = recode(seg, stop)  # the rest of an inflating segment, here
            if progress:
                progress(seg.end - seg.start)
            free.append(seg)

        # The source is read once, a segment at a time, into buffers that
        # go to the workers whole: this thread only finds the last block
        # boundary in each (headers only) and writes what comes back.
        pending: deque[tuple[_Segment, Any]] = deque()
        pos = last_start = start
        tail: memoryview = memoryview(b"")   # bytes read past the last segment's end
        err = new_err()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while pos < size:
                seg = free.pop() if free else _Segment()
                want = min(max(segment, len(tail) + segment), size - pos)
                seg.ensure(want)
                have = len(tail)
                seg.buf[:have] = tail
                while True:
                    have += pread_into(src._fd, seg.buf, want - have, pos + have, src.path,
                                       at=have)
                    if have < want:
                        raise TruncatedError("the tape file shrank while it was copied",
                                             path=src.path, offset=pos + have)
                    s = seg.src
                    s.buf, s.base, s.len, s.size, s.format = seg.cbuf, pos, have, size, src._fmt
                    rc = lib.spk_tape_split(s, pos, segment, nxt, err)
                    if rc == EWINDOW and nxt[0] == pos and want < min(size - pos,
                                                                      MAXSPAN + segment):
                        # one block longer than the buffer: read more of it
                        want = min(size - pos, 2 * want, MAXSPAN + segment)
                        seg.ensure(want, keep=have)
                        continue
                    if rc != EWINDOW or nxt[0] == pos:
                        check(rc, err, path=src.path)
                    break
                end = int(nxt[0])
                seg.start, seg.end = pos, end
                tail = seg.view[end - pos:have]
                pending.append((seg, pool.submit(recode, seg, pos)))
                last_start, pos = pos, end
                if len(pending) >= 2 * workers:
                    put(*pending.popleft())
            del tail
            while pending:
                put(*pending.popleft())
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
