"""AWS, HET and FakeTape images: opened, closed, made safe.  The parts of an
open tape live in :mod:`.reading`, :mod:`.position`, :mod:`.framing` and
:mod:`.recode` (copying), on the state of :mod:`.state`.

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
from typing import Any, Optional, Union

from .._native import ffi, new_err
from ..compress import method_code, tape_level
from ..errors import FormatError, InvalidArgumentError, NotFoundError, SpoolkitError, WriteError
from ..kinds import file_kind, tape_format
from ..lifetime import Finalizing
from ..lock import lock_fd
from ..output import Writeback, atomic_output, check_destination, fsync_checked, write_all
from . import journal
from .recode import Recoding
from .state import FAKETAPE, FORMATS, Block, FileStat
from .window import Window

PathLike = Union[str, "os.PathLike[str]"]
#: kinds open_tape lets through: anything unrecognised goes to the parser, which
#: names the damaged header; an empty file is a blank tape (Hercules creates
#: them so); the tape verbs still refuse it (:func:`refuse_non_tape`)
_NOT_TAPE_OK = ("unknown", "unreadable", "empty")


def detect_format(path: PathLike, head: Optional[bytes] = None) -> str:
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


class TapeImage(Finalizing, Recoding):
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

    def __init__(self, path: PathLike, mode: str = "r",
                 format: Optional[str] = None, compress: Optional[str] = None,
                 level: int = -1, chunk_size: int = 65535, *, overwrite: bool = False,
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
        self.level = tape_level(self.method, level)
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
        self._wb: Optional[Writeback] = None   # write-back behind the writer
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

    # -- lifetime ----------------------------------------------------------
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

    def __exit__(self, exc_type: Optional[type[BaseException]], *exc: object) -> None:
        if exc_type is not None and self.mode in ("w", "a"):
            self.abort()
        else:
            self.close()

    def __repr__(self) -> str:
        return (f"<TapeImage {self.path} {getattr(self, 'format', '?')} mode={self.mode} "
                f"at {getattr(self, '_pos', 0)}>")


def refuse_non_tape(path: PathLike) -> None:
    """Raise a FormatError naming what ``path`` is unless it is a tape image
    (an empty file included, which open_tape takes as a blank tape)."""
    p = os.fspath(path)
    kind = file_kind(p)
    if kind.kind == "missing":
        raise NotFoundError(f"no such tape image: {p}", path=p)
    if not kind.is_tape and kind.kind not in ("unknown", "unreadable"):
        raise FormatError(f"not a tape image (this is {kind.text})", path=p)


def open_tape(path: PathLike, mode: str = "r", format: Optional[str] = None,
              compress: Optional[str] = None, level: int = -1, chunk_size: int = 65535, *,
              overwrite: bool = False, wait: Optional[float] = -1.0) -> TapeImage:
    """Open an AWS, HET or FakeTape image (format from the data, then the name).

    ``compress`` ("zlib"/"bzip2") makes written blocks HET-compressed, kept
    only when smaller, at ``level`` (-1: zlib 5, bzip2 1, see
    :data:`spoolkit.compress.TAPE_LEVELS`).  ``chunk_size`` 4096 with
    no compression gives strict AWSTAPE files.  Mode ``"w"`` refuses an
    existing file unless ``overwrite``; a file that is no tape (a disk image,
    text, a directory) is refused with a FormatError naming what it is (an
    empty file is a blank tape, as Hercules makes them).  ``wait``: seconds
    to wait for another process's lock (-1: the default, see
    :mod:`spoolkit.lock`).
    """
    return TapeImage(path, mode, format, compress, level, chunk_size, overwrite=overwrite,
                     wait=wait)


__all__ = ["Block", "FileStat", "TapeImage", "detect_format", "open_tape", "refuse_non_tape"]
