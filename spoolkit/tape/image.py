"""AWS, HET and FakeTape images: read, write, position, map.

The byte work (chunk headers, BOR/EOR rules, whole-block compression,
FakeTape headers, the bulk map walk) is done in ``csrc/tape.c``.  Reading
maps the file, so memory stays bounded by a few blocks however large the
tape; writing frames one block per C call and truncates behind it like
Hercules does.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import tempfile
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional, Union

from .._native import check, ffi, lib, new_err
from ..compress import method_code
from ..errors import FormatError, InvalidArgumentError, NotFoundError, ReadOnlyError
from ..util import default_workers

MAXBLOCK = lib.SPK_TAPE_MAXBLOCK
AWS = lib.SPK_TAPE_AWS
FAKETAPE = lib.SPK_TAPE_FAKETAPE
FORMATS = {"aws": AWS, "het": AWS, "fkt": FAKETAPE, "faketape": FAKETAPE}


@dataclass
class Block:
    """One block read from a tape (or a tapemark)."""

    data: bytes
    is_tapemark: bool
    offset: int
    compressed_size: int
    method: int = 0

    def __len__(self) -> int:
        return len(self.data)


@dataclass
class FileStat:
    """Per-file counts, as ``hetmap`` shows them."""

    file: int
    blocks: int
    bytes: int
    stored: int
    min_block: int
    max_block: int
    min_stored: int
    max_stored: int
    offset: int

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def detect_format(path: Union[str, os.PathLike], head: Optional[bytes] = None) -> str:
    """``"aws"``, ``"het"`` or ``"fkt"``: by the first header (as Hercules'
    ``gettapetype_bydata``), else by the file name, else AWS."""
    path = os.fspath(path)
    if head is None:
        try:
            with open(path, "rb") as f:
                head = f.read(12)
        except FileNotFoundError:
            head = b""
    if len(head) >= 4 and head[:4] == b"0000":
        return "fkt"
    if len(head) >= 6 and head[2:4] == b"\0\0" and not head[4] & 0x40:
        if head[4] & 0x03 or head[5] & 0x80:
            return "het"
        return "aws"
    low = path.lower()
    if low.endswith(".fkt"):
        return "fkt"
    if low.endswith(".het"):
        return "het"
    return "aws"


class TapeImage:
    """A tape image opened with :func:`open_tape`.

    Modes: ``"r"`` read; ``"r+"`` read and write in place (a write truncates
    the tape behind it, as on Hercules); ``"w"`` a new tape, written under a
    temporary name and renamed into place by :meth:`close` (removed by
    :meth:`abort` or an exception in a ``with`` block); ``"a"`` append: the
    tape is positioned after its last data file, before the trailing
    tapemarks, and :meth:`abort` restores the original end.  Closing a tape
    that was written finishes it with two tapemarks unless it already ends
    with them.
    """

    def __init__(self, path: Union[str, os.PathLike], mode: str = "r",
                 format: Optional[str] = None, compress: Optional[str] = None,
                 level: int = 4, chunk_size: int = 65535) -> None:
        if mode not in ("r", "r+", "w", "a"):
            raise InvalidArgumentError(f"mode must be r, r+, w or a, not {mode!r}")
        self.path = os.fspath(path)
        self.mode = mode
        if format is None:
            format = detect_format(self.path) if mode != "w" else \
                ("het" if compress else detect_format(self.path, b""))
        format = format.lower()
        if format not in FORMATS:
            raise InvalidArgumentError(f"unknown tape format {format!r}: aws, het or fkt")
        if format == "het" and compress is None and mode == "w":
            compress = "zlib"
        if compress and FORMATS[format] == FAKETAPE:
            raise InvalidArgumentError("FakeTape has no compression")
        if compress and format == "aws":
            format = "het"  # compressed AWS is HET
        self.format = format
        self._fmt = FORMATS[format]
        self.method = method_code(compress)
        self.level = level
        if not 1 <= chunk_size <= 65535:
            raise InvalidArgumentError("chunk size must be 1..65535")
        self.chunk_size = chunk_size
        self._tmp: Optional[str] = None
        self._map: Optional[mmap.mmap] = None
        self._mapsize = 0
        self._pos = 0
        self._last = 0           # length of the chunk (block) just before _pos
        self.block_number = 0    # blocks (incl. tapemarks) from the load point
        self.file_number = 0     # tapemarks passed from the load point
        self._wrote = False
        self._append: Optional[tuple[int, bytes]] = None
        self.bytes_read = 0      # stored bytes read, for callers that measure I/O
        self.closed = False
        if mode == "w":
            d = os.path.dirname(os.path.abspath(self.path))
            fd, self._tmp = tempfile.mkstemp(prefix="." + os.path.basename(self.path) + ".",
                                             suffix=".tmp", dir=d)
            self._fd = fd
        else:
            self._fd = os.open(self.path, os.O_RDONLY if mode == "r" else os.O_RDWR)
        self._size: Optional[int] = None  # file size while we are its only writer
        self._cview: Any = None
        self._rb = ffi.new("spk_tape_block *")
        self._rerr = new_err()
        self._out = bytearray(MAXBLOCK + 64 * 1024)
        self._outbuf = ffi.from_buffer(self._out)
        self._rbuf = bytearray(MAXBLOCK)
        self._rcbuf = ffi.from_buffer(self._rbuf)
        if mode == "a":
            self._position_for_append()

    # -- low level ---------------------------------------------------------
    def _view(self) -> tuple[Any, int]:
        if self.mode == "r" and self._map is not None:
            return self._cview, self._mapsize  # nobody writes a tape opened "r" here
        size = os.fstat(self._fd).st_size
        if self._map is None or self._mapsize != size:
            self._drop_map()
            if size:
                self._map = mmap.mmap(self._fd, size, prot=mmap.PROT_READ)
                with contextlib.suppress(AttributeError, OSError):
                    self._map.madvise(mmap.MADV_SEQUENTIAL)
            self._mapsize = size
        if self._map is None:
            return ffi.NULL, 0
        self._cview = ffi.from_buffer(self._map)
        return self._cview, size

    def _drop_map(self) -> None:
        self._cview = None
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:  # a cffi view is still alive; the GC unmaps it
                pass
            self._map = None

    def _scan(self, off: int) -> Optional[Any]:
        buf, size = self._view()
        b = ffi.new("spk_tape_block *")
        err = new_err()
        rc = lib.spk_tape_scan_block(buf, size, off, self._fmt, b, err)
        if rc == 1:
            return None
        check(rc, err, path=self.path, block=self.block_number)
        return b

    def _position_for_append(self) -> None:
        marks: list[int] = []
        data_seen = False
        off = 0
        while True:
            b = self._scan(off)
            if b is None:
                break
            if b.tapemark:
                marks.append(off)
            else:
                data_seen = True
                marks = []
            off = b.next
        end = off
        if not data_seen:
            start = 0
        elif len(marks) >= 2:
            start = marks[-1]  # keep the tapemark that closes the last file
        else:
            start = end
        self.seek(start)
        self._append = (start, os.pread(self._fd, end - start, start))

    # -- reading -----------------------------------------------------------
    def read_block(self) -> Optional[Block]:
        """The next block (a tapemark is a Block with ``is_tapemark``); None at
        the end of the tape."""
        self._check_open()
        buf, size = self._view()
        b, err = self._rb, self._rerr
        off = self._pos
        rc = lib.spk_tape_read_block(buf, size, off, self._fmt, self._rcbuf, MAXBLOCK, b, err)
        if rc == lib.SPK_ENOTFOUND and off == size:
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

    # -- positioning ---------------------------------------------------------
    def tell(self) -> int:
        """Offset of the next block's header (give it to :meth:`seek`)."""
        return self._pos

    def seek(self, offset: int) -> None:
        """Position at a block offset returned by :meth:`tell` or a Block's
        ``offset``.  Block and file numbers become unknown (-1)."""
        self._check_open()
        _, size = self._view()
        if not 0 <= offset <= size:
            raise InvalidArgumentError(f"offset {offset} outside the tape ({size} bytes)",
                                       path=self.path)
        if offset < size:
            b = self._scan(offset)  # validates that a block starts here
            self._last = b.prev if b is not None else 0
        else:
            self._last = self._last_chunk_before_end(size)
        self._pos = offset
        if offset == 0:
            self.block_number = self.file_number = 0
        else:
            self.block_number = self.file_number = -1

    def _last_chunk_before_end(self, size: int) -> int:
        # walk forward once; only needed when seeking straight to the end
        off, last = 0, 0
        while off < size:
            b = self._scan(off)
            last, off = b.last_chunk, b.next
        return last

    def rewind(self) -> None:
        """Back to the load point."""
        self.seek(0)

    def skip_files(self, n: int = 1) -> int:
        """Forward space ``n`` files (past ``n`` tapemarks); returns how many
        were skipped before the end of the tape."""
        done = 0
        while done < n:
            b = self._scan(self._pos)
            if b is None:
                break
            self._pos, self._last = b.next, b.last_chunk
            if self.block_number >= 0:
                self.block_number += 1
            if b.tapemark:
                done += 1
                if self.file_number >= 0:
                    self.file_number += 1
        return done

    def _prev_header(self, off: int, last: int) -> int:
        """Offset of the chunk (FakeTape: block) whose length is ``last`` and
        which ends at ``off``."""
        hdr = 12 if self._fmt == FAKETAPE else 6
        start = off - hdr - last
        if start < 0:
            raise FormatError(f"previous-length field {last} at offset {off} points before "
                              "the load point", path=self.path, offset=off)
        return start

    def backspace_block(self) -> bool:
        """Back over one block (or tapemark), following the previous-chunk
        lengths; False at the load point."""
        self._check_open()
        if self._pos == 0:
            return False
        start = self._prev_header(self._pos, self._last)
        if self._fmt == AWS:
            # walk back chunk by chunk to the chunk with BOR (or a tapemark)
            while True:
                head = os.pread(self._fd, 6, start)
                if len(head) < 6 or head[4] & (0x80 | 0x40):
                    break
                start = self._prev_header(start, int.from_bytes(head[2:4], "little"))
        b = self._scan(start)
        if b is None or b.next != self._pos:
            raise FormatError(f"backspace from offset {self._pos} does not land on a block "
                              "boundary", path=self.path, offset=start)
        self._pos = start
        self._last = b.prev
        if self.block_number > 0:
            self.block_number -= 1
        if b.tapemark and self.file_number > 0:
            self.file_number -= 1
        return True

    def backspace_file(self) -> bool:
        """Back over blocks until a tapemark has been passed (positioned before
        it), like BSF; False when the load point was reached first."""
        while self.backspace_block():
            b = self._scan(self._pos)
            if b is not None and b.tapemark:
                return True
        return False

    # -- writing -----------------------------------------------------------
    def _check_writable(self) -> None:
        self._check_open()
        if self.mode == "r":
            raise ReadOnlyError("tape is open read-only", path=self.path)

    def _frame(self, data: Optional[bytes], prev: int) -> tuple[bytes, int, int]:
        err = new_err()
        last = ffi.new("uint32_t *")
        stored = ffi.new("uint32_t *")
        src = ffi.NULL if data is None else ffi.from_buffer(data)
        n = check(lib.spk_tape_build_block(src, 0 if data is None else len(data), self._fmt,
                                           self.method, self.level, self.chunk_size, prev,
                                           self._outbuf, len(self._out), last, stored, err),
                  err, path=self.path, block=self.block_number)
        return bytes(self._out[:n]), last[0], stored[0]

    def _put(self, framed: Union[bytes, bytearray], last: int) -> None:
        self._drop_map()
        end = self._size if self._size is not None else os.fstat(self._fd).st_size
        os.pwrite(self._fd, framed, self._pos)
        self._pos += len(framed)
        if self._pos < end:
            os.ftruncate(self._fd, self._pos)  # a write in the middle ends the tape here
        self._size = self._pos
        self._last = last
        self._wrote = True
        if self.block_number >= 0:
            self.block_number += 1

    def write_block(self, data: Union[bytes, bytearray, memoryview]) -> int:
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

    def copy_from(self, src: TapeImage, workers: Optional[int] = None,
                  progress: Optional[Callable[[int], None]] = None,
                  segment: int = 4 << 20) -> tuple[int, int]:
        """Copy every block and tapemark of ``src`` from its position to its
        end onto this tape, in this tape's format, compression and chunk
        size.  The source is cut at block boundaries into segments of about
        ``segment`` bytes, each recoded by one C call on a worker thread (the
        GIL is released), and written in order.  Returns (blocks, tapemarks);
        ``progress`` gets the source bytes of each segment written."""
        from concurrent.futures import ThreadPoolExecutor

        self._check_writable()
        src._check_open()
        buf, size = src._view()
        start = src._pos
        workers = workers or default_workers()
        cap = max(2 * segment, MAXBLOCK + (MAXBLOCK // self.chunk_size + 2) * 12)
        nxt = ffi.new("uint64_t *")

        local = threading.local()

        def recode(a: int, b: int) -> tuple[list[tuple[bytearray, int, int]], int, int]:
            """(framed piece, blocks + tapemarks in it, its last chunk) list,
            data blocks, tapemarks."""
            pieces: list[tuple[bytearray, int, int]] = []
            st = ffi.new("spk_tape_recode_stat *")
            err = new_err()
            blocks = marks = 0
            prev = 0  # write_framed patches it: it depends on the segment before
            if not hasattr(local, "out"):  # one buffer per thread: no zero-fill per segment
                local.out = bytearray(cap)
                local.cout = ffi.from_buffer(local.out)
            while a < b:
                n = check(lib.spk_tape_recode(buf, size, a, b, src._fmt, self._fmt,
                                              self.method, self.level, self.chunk_size, prev,
                                              local.cout, cap, st, err),
                          err, path=src.path)
                pieces.append((local.out[:n], st.blocks + st.tapemarks, st.last))
                a, prev = st.next, st.last
                blocks += st.blocks
                marks += st.tapemarks
            return pieces, blocks, marks

        def put(seg: tuple[int, int, Any]) -> None:
            a, b, fut = seg
            pieces, blocks, marks = fut.result()
            for piece, count, last in pieces:
                self.write_framed(piece, count, last)
            if self.file_number >= 0:
                self.file_number += marks
            counts[0] += blocks
            counts[1] += marks
            if progress:
                progress(b - a)

        counts = [0, 0]
        pending: deque[tuple[int, int, Any]] = deque()
        pos = last_start = start
        with ThreadPoolExecutor(max_workers=workers) as pool:
            while pos < size:
                err = new_err()
                check(lib.spk_tape_split(buf, size, pos, src._fmt, segment, nxt, err), err,
                      path=src.path)
                pending.append((pos, nxt[0], pool.submit(recode, pos, nxt[0])))
                last_start, pos = pos, nxt[0]
                if len(pending) >= 2 * workers:
                    put(pending.popleft())
            while pending:
                put(pending.popleft())
        # leave the source at its end, as reading it through would
        while last_start < size:
            b = src._scan(last_start)
            src._last, last_start = b.last_chunk, b.next
        src._pos = size
        if src.block_number >= 0:
            src.block_number += counts[0] + counts[1]
        if src.file_number >= 0:
            src.file_number += counts[1]
        src.bytes_read += size - start
        return counts[0], counts[1]

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
            head = os.pread(self._fd, hdr, start)
            if self._fmt == FAKETAPE:
                is_mark = head[4:8] == b"0000"
                prev = int(head[0:4], 16) if is_mark else 0
            else:
                is_mark = bool(head[4] & 0x40)
                prev = int.from_bytes(head[2:4], "little")
            if not is_mark or last != 0:
                break
            count += 1
            pos, last = start, prev
        return count

    # -- lifetime ----------------------------------------------------------
    def map(self, decompress: bool = True) -> list[FileStat]:
        """Per-file block counts and sizes of the whole tape, counted in C."""
        buf, size = self._view()
        n = 64
        while True:
            arr = ffi.new("spk_tape_filestat[]", n)
            err = new_err()
            end = ffi.new("uint64_t *")
            rc = check(lib.spk_tape_map(buf, size, self._fmt, 1 if decompress else 0, arr, n,
                                        end, err), err, path=self.path)
            if rc <= n:
                break
            n = rc
        self.bytes_read += size
        return [FileStat(i + 1, a.blocks, a.bytes, a.stored, a.min_block, a.max_block,
                         a.min_stored, a.max_stored, a.first_offset)
                for i, a in enumerate(arr[0:rc])]

    def _check_open(self) -> None:
        if self.closed:
            raise InvalidArgumentError("I/O on a closed tape", path=self.path)

    def close(self, finish: bool = True) -> None:
        """Close; a written tape gets its closing tapemarks (``finish``), and
        a new tape ("w") is renamed into place."""
        if self.closed:
            return
        if self._wrote and finish:
            for _ in range(2 - self._ends_with_marks()):
                self.tapemark()
        self._drop_map()
        os.close(self._fd)
        self.closed = True
        if self._tmp is not None:
            os.chmod(self._tmp, 0o644)
            os.replace(self._tmp, self.path)
            self._tmp = None

    def abort(self) -> None:
        """Undo: a new tape is removed; an append is cut back to the original end."""
        if self.closed:
            return
        self._drop_map()
        if self._append is not None and self._wrote:
            start, tail = self._append
            os.ftruncate(self._fd, start)
            os.pwrite(self._fd, tail, start)
        os.close(self._fd)
        self.closed = True
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tmp)
            self._tmp = None

    def __enter__(self) -> TapeImage:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is not None and self.mode in ("w", "a"):
            self.abort()
        else:
            self.close()

    def __repr__(self) -> str:
        return f"<TapeImage {self.path} {self.format} mode={self.mode} at {self._pos}>"


def open_tape(path: Union[str, os.PathLike], mode: str = "r", format: Optional[str] = None,
              compress: Optional[str] = None, level: int = 4,
              chunk_size: int = 65535) -> TapeImage:
    """Open an AWS, HET or FakeTape image (format from the data, then the name).

    ``compress`` ("zlib"/"bzip2") makes written blocks HET-compressed, kept
    only when smaller, at ``level`` (HET default 4).  ``chunk_size`` 4096 with
    no compression gives strict AWSTAPE files.
    """
    if mode == "r" and not os.path.exists(path):
        raise NotFoundError(f"no such tape image: {os.fspath(path)}", path=os.fspath(path))
    return TapeImage(path, mode, format, compress, level, chunk_size)
