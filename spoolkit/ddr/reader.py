"""Reading DDR dumps: reels (tape images) through the C reader, and a dump
across its reels with the checks DMKDDR's layout allows.

A reel is read through ``pread`` windows (:mod:`spoolkit.tape.window`); the
tape is opened with :func:`spoolkit.tape.open_tape` as well, which checks
that it is a tape, undoes a dead writer's append and holds the shared lock
while the reel is read.  Blocks are numbered from 1 (the VHR) on each reel.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Optional, TypeVar

from .._native import ffi, lib, new_err, raise_error
from ..errors import (
    FormatError,
    InUseError,
    SpoolkitError,
    TruncatedError,
    UnsupportedError,
    Where,
)
from ..tape import TapeImage, open_tape
from ..tape.state import FORMATS
from ..tape.window import Window
from .blocks import MAXTRACK, TrackHeader
from .records import VolumeHeader, is_header

if TYPE_CHECKING:
    from .._spoolkit import spk_ddr_reader

BATCH = 64                      # tracks per C call
COMPACT_HINT = ("this looks like a tape DDR wrote with COMPACT or LZCOMPACT: its track "
                "blocks are compressed in a format IBM has not published, which spoolkit "
                "cannot read")


def reel_name(first: str, n: int) -> str:
    """The name spoolkit gives reel ``n`` (1-based) of a dump whose first
    reel is ``first``: ``dump.aws``, ``dump.2.aws``, ``dump.3.aws`` ..."""
    if n <= 1:
        return first
    stem, ext = os.path.splitext(first)
    return f"{stem}.{n}{ext}"


class Reel:
    """One tape image read as a DDR reel."""

    def __init__(self, path: str, *, wait: Optional[float] = -1.0) -> None:
        self.path = os.fspath(path)
        self._tape = open_tape(self.path, "r", wait=wait)
        self._fd = -1
        try:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            self._tape.close()
            raise SpoolkitError(f"cannot open: {exc.strerror}", path=self.path) from None
        self.format = self._tape.format
        self._win = Window(self._fd, self.path, FORMATS[self.format])
        self._r: spk_ddr_reader = ffi.new("spk_ddr_reader *")
        self._r.block = 1
        self._work = bytearray(MAXTRACK)
        self._cwork = ffi.from_buffer(self._work)
        self._out = bytearray(BATCH * MAXTRACK)
        self._cout = ffi.from_buffer(self._out)
        self._tracks = ffi.new("spk_ddr_track[]", BATCH)
        self.trailer: Optional[bytes] = None
        self.stop = -1

    def fileno(self) -> int:
        """The descriptor the reel is read through."""
        return self._fd

    @property
    def offset(self) -> int:
        return int(self._r.off)

    @property
    def block(self) -> int:
        """Number of the next block (1 = the first on the reel)."""
        return int(self._r.block)

    def seek(self, offset: int, block: int) -> None:
        self._r.off = offset
        self._r.block = block

    def read_block(self) -> Optional[bytes]:
        """The next block's data; None for a tapemark or the end of the tape."""
        off = int(self._r.off)
        if off >= self._win.file_size():
            return None
        b = ffi.new("spk_tape_block *")
        err = new_err()
        w = self._win
        if not w.covers(off):
            w.fill(off)
        while True:
            rc = lib.spk_tape_read_block(w.src, off, self._cwork, len(self._work), b, err)
            if rc != lib.SPK_EWINDOW:
                break
            w.refill_for(int(err.offset), int(err.index))
        if rc == lib.SPK_EBUFSIZE:
            raise FormatError(f"block of {b.stored} bytes is longer than any DDR block",
                              path=self.path, block=self.block, offset=off)
        if rc < 0:
            raise_error(rc, err, path=self.path, block=self.block)
        self._r.off = b.next
        self._r.block += 1
        return None if b.tapemark else bytes(self._work[:rc])

    def read_header(self) -> VolumeHeader:
        """The VHR at the position (the first block of a dump)."""
        block, off = self.block, self.offset
        data = self.read_block()
        if data is None:
            raise TruncatedError("no DDR dump here (tapemark or end of tape)", path=self.path,
                                 block=block, offset=off)
        if not is_header(data):
            raise FormatError(f"block of {len(data)} bytes is no DDR volume header (VHR)",
                              path=self.path, block=block, offset=off)
        return VolumeHeader.decode(data, path=self.path, block=block, offset=off)

    def tracks(self, *, images: bool, flags: int = 0, delta: int = 0, first: int = 0,
               last: int = 0xFFFF, first_of_dump: bool = False
               ) -> Iterator[tuple[TrackHeader, Optional[memoryview]]]:
        """Tracks from the position up to a trailer, tapemark or the end of
        the tape (then :attr:`stop`, :attr:`trailer`).  With ``images``, the
        rebuilt image of each track of cylinders ``first..last`` (a view
        valid until the next track is asked for)."""
        r, w = self._r, self._win
        r.flags = flags
        r.cyl_delta = delta
        r.sel_first = first
        r.sel_last = last
        err = new_err()
        out = self._cout if images else ffi.NULL
        seen = False
        while True:
            if not w.covers(int(r.off)):
                w.fill(int(r.off))
            n = lib.spk_ddr_read(w.src, r, self._tracks, BATCH, out, len(self._out),
                                 self._cwork, len(self._work), err)
            if n < 0:
                if r.bad_id and first_of_dump and not seen:
                    raise UnsupportedError(COMPACT_HINT, path=self.path, block=int(err.index),
                                           offset=int(err.offset))
                track = (int(r.cur_cyl), int(r.cur_head)) if r.cur_cyl >= 0 else None
                raise_error(n, err, path=self.path, block=int(err.index), track=track)
            view = memoryview(self._out)
            for t in self._tracks[0:n]:
                seen = True
                img = view[t.image:t.image + t.image_len] if t.image_len else None
                yield TrackHeader.from_c(t), img
            if r.stop == lib.SPK_DDR_STOP_WINDOW:
                w.refill_for(int(r.off), int(r.need))
            elif r.stop != lib.SPK_DDR_STOP_FULL:
                self.stop = int(r.stop)
                self.trailer = bytes(ffi.buffer(r.trailer, 80)) \
                    if r.stop == lib.SPK_DDR_STOP_TRAILER else None
                return

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)
        self._tape.close()

    def __enter__(self) -> Reel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Extent:
    """Consecutive whole cylinders of a dump, as they are on tape."""

    first_cyl: int
    last_cyl: int
    tracks: int = 0

    def to_dict(self) -> dict[str, int]:
        return {"first_cyl": self.first_cyl, "last_cyl": self.last_cyl, "tracks": self.tracks}


@dataclass
class Summary:
    """What reading a whole dump found."""

    header: VolumeHeader
    reels: list[str] = field(default_factory=list)
    extents: list[Extent] = field(default_factory=list)
    tracks: int = 0
    special: int = 0        # tracks with THRFLAG SPECIAL
    blocks: int = 0
    trailer: Optional[VolumeHeader] = None


class Dump:
    """A DDR dump across its reels: ``paths`` are the reels in order; when
    they run out at an EOV, the next reel is looked for under the name
    :func:`reel_name` gives it."""

    def __init__(self, paths: Sequence[str], *, wait: Optional[float] = -1.0,
                 hold: bool = False) -> None:
        if not paths:
            raise FormatError("no tape image given")
        self.paths = [os.fspath(p) for p in paths]
        self.wait = wait
        #: with ``hold``, each reel read stays open (its shared lock held: no
        #: writer changes it) until :meth:`close`, for reads in several passes
        self.hold = hold
        self._held: dict[str, TapeImage] = {}
        self._ident: dict[str, tuple[int, int, int, int]] = {}
        with self._open(self.paths[0]) as reel:
            self.header = reel.read_header()
            self._start = (reel.offset, reel.block)

    def _open(self, path: str) -> Reel:
        if self.hold and path not in self._held:
            self._held[path] = open_tape(path, "r", wait=self.wait)
        reel = Reel(path, wait=self.wait)
        if self.hold:
            st = os.fstat(reel.fileno())
            ident = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
            if self._ident.setdefault(path, ident) != ident:
                reel.close()
                raise _replaced(path)
        return reel

    def _check_held(self) -> None:
        """The lock keeps writers out, but a file renamed over a reel's name
        is another file: a pass after a check must read the reels checked."""
        for path, ident in self._ident.items():
            try:
                st = os.stat(path)
            except OSError:
                raise _replaced(path) from None
            if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != ident:
                raise _replaced(path)

    def close(self) -> None:
        """Release the reels held (see ``hold``)."""
        held, self._held = self._held, {}
        for tape in held.values():
            tape.close()

    def __enter__(self) -> Dump:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _reel_path(self, n: int) -> str:
        return self.paths[n - 1] if n <= len(self.paths) else reel_name(self.paths[0], n)

    def tracks(self, *, images: bool = True, flags: int = 0, delta: int = 0, first: int = 0,
               last: int = 0xFFFF, summary: Optional[Summary] = None
               ) -> Iterator[tuple[TrackHeader, Optional[memoryview], str]]:
        """Every track of the dump in order with its image (see
        :meth:`Reel.tracks`) and its reel, checking the order DMKDDR writes
        (ascending whole cylinders, extents starting at head 0), each
        reel's VHR against the first, and that the dump ends with EOJ."""
        hdr = self.header
        s = summary if summary is not None else Summary(hdr)
        cur = _Cursor(hdr)
        n = 1
        self._check_held()
        reel = self._open(self.paths[0])
        try:
            reel.seek(*self._start)
            while True:
                s.reels.append(reel.path)
                for t, img in _naming(reel.tracks(images=images, flags=flags, delta=delta,
                                                  first=first, last=last,
                                                  first_of_dump=cur.prev is None),
                                      cur.next_track):
                    where: Where = {"path": reel.path, "block": t.block,
                                    "offset": t.offset, "track": (t.cyl, t.head)}
                    if cur.expect is not None and (t.cyl, t.head) != cur.expect:
                        ec, eh = cur.expect
                        raise FormatError(f"the reel starts at track {t.cyl}/{t.head}, the EOV "
                                          f"of the reel before names {ec}/{eh}", **where)
                    cur.expect = None
                    _check_order(hdr, cur.prev, t, where)
                    if cur.prev is None or t.cyl > cur.prev[0] + 1:
                        s.extents.append(Extent(t.cyl, t.cyl))
                    ext = s.extents[-1]
                    ext.last_cyl = t.cyl
                    ext.tracks += 1
                    s.tracks += 1
                    s.special += t.special
                    s.blocks += t.blocks
                    cur.prev = (t.cyl, t.head)
                    yield t, img, reel.path
                end = _trailer(reel, hdr)
                if end.kind == "EOJ":
                    if cur.prev is None:
                        raise FormatError("the dump holds no track", path=reel.path,
                                          block=reel.block - 1)
                    pc, ph = cur.prev
                    if ph != hdr.last_head:
                        raise FormatError(f"the dump ends at track {pc}/{ph}, inside its "
                                          "cylinder (DDR dumps whole cylinders)",
                                          path=reel.path, block=reel.block - 1)
                    if (end.cyl, end.head) != (pc, ph):
                        # vm-formats.md §1.1: EOJ holds the address of the last track on
                        # tape; another one means tracks went missing or were added
                        raise FormatError(
                            f"the EOJ trailer names track {end.cyl}/{end.head} as the dump's "
                            f"last, but the last track on the tape is {pc}/{ph}",
                            path=reel.path, block=reel.block - 1, track=(end.cyl, end.head))
                    s.trailer = end
                    return
                n += 1
                path = self._reel_path(n)
                if not os.path.exists(path):
                    raise TruncatedError(f"the dump goes on on another reel (EOV at track "
                                         f"{end.cyl}/{end.head}): give its tape image ({path} "
                                         "was looked for)", path=reel.path,
                                         block=reel.block - 1)
                reel.close()
                reel = self._open(path)
                nxt = reel.read_header()
                if nxt.clock != hdr.clock:
                    raise FormatError("wrong reel: its VHR is of another dump (TOD clock "
                                      f"{nxt.clock:016X}, the first reel's {hdr.clock:016X})",
                                      path=path, block=1)
                if (nxt.last_cyl, nxt.last_head, nxt.max_records, nxt.volser) != \
                        (hdr.last_cyl, hdr.last_head, hdr.max_records, hdr.volser):
                    raise FormatError("the reel's VHR describes another volume than the first "
                                      "reel's", path=path, block=1)
                cur.expect = (end.cyl, end.head)
        finally:
            reel.close()

    def summary(self) -> Summary:
        """Read the whole dump (no images) and say what it holds."""
        s = Summary(self.header)
        for _ in self.tracks(images=False, summary=s):
            pass
        return s


def _replaced(path: str) -> InUseError:
    return InUseError("the reel was replaced or changed since the dump was checked; "
                      "restore again", path=path)


@dataclass
class _Cursor:
    """Where a read of a dump is: the last track read, the first track a
    continuation reel must start with."""

    hdr: VolumeHeader
    prev: Optional[tuple[int, int]] = None
    expect: Optional[tuple[int, int]] = None

    def next_track(self) -> tuple[int, int]:
        """The track the dump's next blocks belong to (for errors in them)."""
        if self.expect is not None:
            return self.expect
        if self.prev is None:
            return (self.hdr.cyl, self.hdr.head)
        c, h = self.prev
        return (c, h + 1) if h < self.hdr.last_head else (c + 1, 0)


_T = TypeVar("_T")


def _naming(items: Iterator[_T], track: Callable[[], tuple[int, int]]) -> Iterator[_T]:
    """``items``, with an error that names no track given the track it is in."""
    it = iter(items)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except SpoolkitError as exc:
            if exc.track is None:
                exc.track = track()
            raise
        yield item


def _check_order(hdr: VolumeHeader, prev: Optional[tuple[int, int]], t: TrackHeader,
                 w: Where) -> None:
    if t.head > hdr.last_head:
        raise FormatError(f"track head {t.head} beyond the last head {hdr.last_head} the VHR "
                          "gives", **w)
    if prev is None:
        if t.head != 0:
            raise FormatError("the dump starts inside a cylinder (DDR dumps whole cylinders)",
                              **w)
        return
    pc, ph = prev
    if t.cyl == pc and t.head == ph + 1:
        return
    if t.cyl > pc and t.head == 0 and ph == hdr.last_head:
        return
    raise FormatError(f"track {t.cyl}/{t.head} after track {pc}/{ph}: DDR writes whole "
                      "cylinders in ascending order", **w)


def _trailer(reel: Reel, hdr: VolumeHeader) -> VolumeHeader:
    """The EOV / EOJ that ended the reel's tracks (a tapemark or the end of
    the tape first: the dump is truncated)."""
    if reel.trailer is None:
        what = "a tapemark" if reel.stop == lib.SPK_DDR_STOP_MARK else "the end of the tape"
        raise TruncatedError(f"the dump ends with {what} before its EOV or EOJ trailer",
                             path=reel.path, block=reel.block - 1)
    end = VolumeHeader.decode(reel.trailer, path=reel.path, block=reel.block - 1)
    if end.clock != hdr.clock:
        raise FormatError(f"{end.kind} trailer of another dump (TOD clock differs from the "
                          "VHR's)", path=reel.path, block=reel.block - 1)
    return end


__all__ = ["Reel", "Dump", "Summary", "Extent", "reel_name", "COMPACT_HINT"]
