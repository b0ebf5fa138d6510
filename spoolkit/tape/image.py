"""AWS, HET and FakeTape images: read, write, position, map.

The byte work (chunk headers, BOR/EOR rules, whole-block compression,
FakeTape headers, the bulk walk) is done in ``csrc/tape.c``.  Reading goes
through ``pread`` into a reused window (:mod:`.window`), so memory stays
bounded by a few blocks however large the tape, and a file truncated under
a reader gives a typed error.  Writing frames one block per C call, checks
every write and truncates behind it like Hercules does.

Safety (``docs/safety.md``): a writer holds an exclusive lock on the tape
for its lifetime, a reader a shared one; a new tape ("w") is written to a
temporary file and appears complete or not at all; an append is recorded
in an undo record first (:mod:`.journal`) and undone on failure, on abort,
and by the next open after a kill; a tape left open is closed at garbage
collection or interpreter exit (:class:`~spoolkit.lifetime.Finalizing`).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any, Callable, Optional, Union

from .._native import check, ffi, lib, new_err
from ..compress import method_code
from ..errors import (
    FormatError,
    InvalidArgumentError,
    NotFoundError,
    ReadOnlyError,
    SpoolkitError,
    TruncatedError,
    WriteError,
)
from ..kinds import file_kind, tape_format
from ..lifetime import Finalizing
from ..lock import lock_fd
from ..output import atomic_output, check_destination, fsync_checked, write_all
from ..util import default_workers
from . import journal
from .window import MAXSPAN, Window, pread_into

MAXBLOCK = lib.SPK_TAPE_MAXBLOCK
AWS = lib.SPK_TAPE_AWS
FAKETAPE = lib.SPK_TAPE_FAKETAPE
FORMATS = {"aws": AWS, "het": AWS, "fkt": FAKETAPE, "faketape": FAKETAPE}
EWINDOW = lib.SPK_EWINDOW
_MAPBATCH = 4096        # file entries per C call of map()
_WALK_WINDOW = 4 << 20  # window of a walk over many blocks
#: kinds open_tape lets through: anything unrecognised goes to the parser, which
#: names the damaged header; an empty file is a blank tape (Hercules creates
#: them so); the tape verbs still refuse it (:func:`refuse_non_tape`)
_NOT_TAPE_OK = ("unknown", "unreadable", "empty")


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
        return {f: getattr(self, f) for f in _FILESTAT_FIELDS}


_FILESTAT_FIELDS = tuple(f.name for f in fields(FileStat))


def detect_format(path: Union[str, os.PathLike], head: Optional[bytes] = None) -> str:
    """``"aws"``, ``"het"`` or ``"fkt"``: by the first header (as Hercules'
    ``gettapetype_bydata``), else by the file name, else AWS."""
    path = os.fspath(path)
    if head is None:
        try:
            with open(path, "rb") as f:
                head = f.read(12)
        except OSError:
            head = b""
    return tape_format(head, path)


class TapeImage(Finalizing):
    """A tape image opened with :func:`open_tape`.

    Modes: ``"r"`` read; ``"r+"`` read and write in place (a write truncates
    the tape behind it, as on Hercules); ``"w"`` a new tape, written under a
    temporary name and moved into place by :meth:`close` (removed by
    :meth:`abort` or an exception in a ``with`` block; an existing file is
    refused unless ``overwrite``); ``"a"`` append: the tape is positioned
    after its last data file, before the trailing tapemarks, and
    :meth:`abort` restores the original end.  Closing a tape that was
    written finishes it with two tapemarks unless it already ends with them.
    Writers lock the tape exclusively, readers shared (``wait`` as in
    :func:`spoolkit.lock.lock_fd`).
    """

    closed = True   # until the open succeeded: close() of a half-made object is a no-op

    def __init__(self, path: Union[str, os.PathLike], mode: str = "r",
                 format: Optional[str] = None, compress: Optional[str] = None,
                 level: int = 4, chunk_size: int = 65535, *, overwrite: bool = False,
                 wait: Optional[float] = -1.0) -> None:
        if mode not in ("r", "r+", "w", "a"):
            raise InvalidArgumentError(f"mode must be r, r+, w or a, not {mode!r}")
        self.path = os.fspath(path)
        self.mode = mode
        self._fd = -1
        self._dest_fd = -1
        self._output: Any = None
        self._tmp: Optional[str] = None
        if mode != "w":
            kind = file_kind(self.path)
            if kind.kind == "missing":
                raise NotFoundError(f"no such tape image: {self.path}", path=self.path)
            if not kind.is_tape and kind.kind not in _NOT_TAPE_OK:
                raise FormatError(f"not a tape image (this is {kind.text})", path=self.path)
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
        self._pos = 0
        self._last = 0           # length of the chunk (block) just before _pos
        self.block_number = 0    # blocks (incl. tapemarks) from the load point
        self.file_number = 0     # tapemarks passed from the load point
        self._wrote = False
        self._append: Optional[tuple[int, int, bytes]] = None   # start, end, tail
        self._journal = False
        self.bytes_read = 0      # stored bytes read, for callers that measure I/O
        self._size: Optional[int] = None  # file size while we are its only writer
        self._rb = ffi.new("spk_tape_block *")
        self._rerr = new_err()
        self._out: Optional[bytearray] = None
        self._rbuf: Optional[bytearray] = None
        try:
            self._open(overwrite, wait)
            self._win = Window(self._fd, self.path, self._fmt)
            self.closed = False
            if mode == "a":
                self._position_for_append()
        except BaseException:
            self._release(install=False)
            raise
        if mode != "r":
            self._finalize_on_exit()

    def _open(self, overwrite: bool, wait: Optional[float]) -> None:
        if self.mode == "w":
            check_destination(self.path, overwrite=overwrite)
            if overwrite and os.path.isfile(self.path):
                # the tape being replaced may be in use: wait for its writer
                self._dest_fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                lock_fd(self._dest_fd, self.path, exclusive=True, wait=wait, what="tape")
            self._output = atomic_output(self.path, overwrite=overwrite)
            self._tmp = self._output.__enter__()
            self._fd = os.open(self._tmp, os.O_RDWR | os.O_CLOEXEC)
            return
        writer = self.mode != "r"
        for _ in range(3):
            if journal.pending(self.path):
                self._recover(wait)
            self._fd = os.open(self.path,
                               (os.O_RDWR if writer else os.O_RDONLY) | os.O_CLOEXEC)
            lock_fd(self._fd, self.path, exclusive=writer, wait=wait, what="tape")
            # with the lock held, an undo record is a dead writer's
            if not journal.pending(self.path):
                break
            if writer:
                journal.roll_back(self.path, self._fd)
                break
            os.close(self._fd)   # a reader cannot undo under its shared lock
            self._fd = -1
        else:
            raise WriteError("an interrupted append cannot be undone", path=self.path)
        with contextlib.suppress(AttributeError, OSError):   # wide read-ahead
            os.posix_fadvise(self._fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)

    def _recover(self, wait: Optional[float]) -> None:
        """An append was interrupted (its writer died): put the old end back."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        except PermissionError:
            raise WriteError("an interrupted append left this tape unfinished; it is undone "
                             "by the next open with write permission", path=self.path) from None
        try:
            lock_fd(fd, self.path, exclusive=True, wait=wait, what="tape")
            journal.roll_back(self.path, fd)
        finally:
            os.close(fd)

    # -- low level ---------------------------------------------------------
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

    def _position_for_append(self) -> None:
        st = self._walk_all(0)
        end = int(st.off)
        if not st.data_blocks:
            start = 0
        elif st.trailing >= 2:
            start = int(st.mark[1])  # keep the tapemark that closes the last file
        else:
            start = end
        self.seek(start)
        self._append = (start, end, self._pread(end - start, start))

    # -- reading -----------------------------------------------------------
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

    # -- positioning ---------------------------------------------------------
    def tell(self) -> int:
        """Offset of the next block's header (give it to :meth:`seek`)."""
        return self._pos

    def _file_size(self) -> int:
        return self._size if self._size is not None else self._win.file_size()

    def seek(self, offset: int) -> None:
        """Position at a block offset returned by :meth:`tell` or a Block's
        ``offset``.  Block and file numbers become unknown (-1)."""
        self._check_open()
        size = self._file_size()
        if not 0 <= offset <= size:
            raise InvalidArgumentError(f"offset {offset} outside the tape ({size} bytes)",
                                       path=self.path)
        if offset < size:
            b = self._scan(offset)  # validates that a block starts here
            self._last = b.prev if b is not None else 0
        else:
            self._last = int(self._walk_all(0).last) if size else 0
        self._pos = offset
        if offset == 0:
            self.block_number = self.file_number = 0
        else:
            self.block_number = self.file_number = -1

    def rewind(self) -> None:
        """Back to the load point."""
        self.seek(0)

    def skip_files(self, n: int = 1) -> int:
        """Forward space ``n`` files (past ``n`` tapemarks); returns how many
        were skipped before the end of the tape."""
        self._check_open()
        if n <= 0:
            return 0
        st = self._walk_all(self._pos, max_marks=n)
        if st.blocks:
            self._last = st.last
        self._pos = int(st.off)
        if self.block_number >= 0:
            self.block_number += int(st.blocks)
        if self.file_number >= 0:
            self.file_number += int(st.tapemarks)
        return int(st.tapemarks)

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
            # walk back chunk by chunk to the chunk with BOR (or a tapemark);
            # every step goes back at least one header, so this ends
            while True:
                head = self._pread(6, start)
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

    def _put(self, framed: Union[bytes, bytearray, memoryview], last: int) -> None:
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
            while a < b:
                n = check(lib.spk_tape_recode(s, a, b, self._fmt, self.method, self.level,
                                              self.chunk_size, prev, local.cout, cap, st, err),
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

    # -- map ---------------------------------------------------------------
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

    # -- lifetime ----------------------------------------------------------
    def _check_open(self) -> None:
        if self.closed:
            raise InvalidArgumentError("I/O on a closed tape", path=self.path)

    def close(self, finish: bool = True) -> None:
        """Close; a written tape gets its closing tapemarks (``finish``) and is
        synced, and a new tape ("w") is moved into place.  If finishing fails
        the tape is left as it was before (see :meth:`abort`)."""
        if self.closed:
            return
        try:
            if self._wrote and finish:
                for _ in range(2 - self._ends_with_marks()):
                    self.tapemark()
            if self.mode != "r" and self._wrote:
                fsync_checked(self._fd, self._tmp or self.path)
        except BaseException:
            self.abort()
            raise
        self._release(install=True)

    def abort(self) -> None:
        """Undo: a new tape is removed; an append is cut back to the original end."""
        if self.closed:
            return
        undone = True
        if self._append is not None and self._wrote:
            start, end, tail = self._append
            try:
                os.ftruncate(self._fd, start)
                write_all(self._fd, tail, self.path, offset=start)
                fsync_checked(self._fd, self.path)
            except (OSError, SpoolkitError):
                undone = False   # the undo record stays: the next open undoes it
        if undone and self._journal:
            journal.discard(self.path)
            self._journal = False
        self._release(install=False)

    def _release(self, install: bool) -> None:
        """Close the files; move a new tape into place (``install``) or drop it."""
        self.closed = True
        self._forget_on_exit()
        win = getattr(self, "_win", None)
        if win is not None:
            win.invalidate()
        try:
            if install and self._journal:
                journal.discard(self.path)   # the append is complete and synced
                self._journal = False
        finally:
            for name in ("_fd", "_dest_fd"):
                fd = getattr(self, name, -1)
                if fd >= 0:
                    setattr(self, name, -1)
                    with contextlib.suppress(OSError):
                        os.close(fd)
            out, self._output = getattr(self, "_output", None), None
            if out is not None:
                self._tmp = None
                if install:
                    out.__exit__(None, None, None)
                else:
                    exc = InvalidArgumentError("aborted", path=self.path)
                    with contextlib.suppress(BaseException):
                        out.__exit__(type(exc), exc, None)

    def __enter__(self) -> TapeImage:
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is not None and self.mode in ("w", "a"):
            self.abort()
        else:
            self.close()

    def __repr__(self) -> str:
        return (f"<TapeImage {self.path} {getattr(self, 'format', '?')} mode={self.mode} "
                f"at {getattr(self, '_pos', 0)}>")


def refuse_non_tape(path: Union[str, os.PathLike]) -> None:
    """Raise a FormatError naming what ``path`` is unless it is a tape image
    (an empty file included, which open_tape takes as a blank tape)."""
    p = os.fspath(path)
    kind = file_kind(p)
    if kind.kind == "missing":
        raise NotFoundError(f"no such tape image: {p}", path=p)
    if not kind.is_tape and kind.kind not in ("unknown", "unreadable"):
        raise FormatError(f"not a tape image (this is {kind.text})", path=p)


def open_tape(path: Union[str, os.PathLike], mode: str = "r", format: Optional[str] = None,
              compress: Optional[str] = None, level: int = 4, chunk_size: int = 65535, *,
              overwrite: bool = False, wait: Optional[float] = -1.0) -> TapeImage:
    """Open an AWS, HET or FakeTape image (format from the data, then the name).

    ``compress`` ("zlib"/"bzip2") makes written blocks HET-compressed, kept
    only when smaller, at ``level`` (HET default 4).  ``chunk_size`` 4096 with
    no compression gives strict AWSTAPE files.  Mode ``"w"`` refuses an
    existing file unless ``overwrite``; a file that is no tape (a disk image,
    text, a directory) is refused with a FormatError naming what it is (an
    empty file is a blank tape, as Hercules makes them).  ``wait``: seconds
    to wait for another process's lock (-1: the default, see
    :mod:`spoolkit.lock`).
    """
    return TapeImage(path, mode, format, compress, level, chunk_size, overwrite=overwrite,
                     wait=wait)
