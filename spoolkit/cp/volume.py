"""A CKD volume formatted the way CP formats its own volumes: page-slot
access (:class:`CPVolume`), :func:`format_volume` and :func:`open_cp_volume`.

Track 0 is described in :mod:`.cylinder0`, its allocation map in
:mod:`.allocation`.  Tracks of PAGE/SPOL/DRCT/TDSK extents hold 4096-byte
page slots R1..Rn.  Slot tracks are formatted lazily: a track that was never
written is the null track ``dasdinit`` left, and its slots read as zero pages.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
from collections import OrderedDict
from typing import Iterable, Iterator, Mapping, Optional, Union

from .._native import check, ffi, lib, new_err
from ..dasd import create_dasd, open_dasd
from ..dasd.base import DasdImage
from ..dasd.ckd import check_volser
from ..dasd.split import locate
from ..dasd.track import Track
from ..errors import (
    AddressError,
    FormatError,
    InvalidArgumentError,
    SpoolkitError,
    UnsupportedError,
    WriteError,
)
from ..geometry import parse_device
from ..output import atomic_output, check_destination
from .allocation import (
    EXTENT_TYPES,
    MAGIC,
    MAX_EXTENTS,
    SLOT_EXTENTS,
    VERSION,
    Allocation,
    Extent,
    ExtentLike,
    checked_extents,
    parse_allocation,
    read_allocation,
)
from .cylinder0 import track0
from .identify import NotAVolumeError, cp_ckd, describe_head, not_a_file
from .slots import SlotAllocator

PAGE_SIZE = 4096
#: the largest volume format_volume makes (the 16-bit CC of a track address)
MAX_CYLINDERS = 65535
_ZERO_PAGE = bytes(PAGE_SIZE)


# -- the volume --------------------------------------------------------------

class CPVolume:
    """Page-slot access to a CP-formatted volume (an open :class:`DasdImage`).

    Slots are numbered ``(cyl * heads + head) * slots_per_track + r`` with
    ``r`` 1-based; reads and writes go a whole track at a time.
    """

    def __init__(self, dev: DasdImage, *, cache_tracks: int = 64) -> None:
        self.dev = dev
        self.path = dev.path
        self.slots_per_track = dev.device.records_per_track(PAGE_SIZE)
        if self.slots_per_track < 1:
            raise UnsupportedError(f"{dev.devtype} holds no 4096-byte records", path=dev.path)
        self.allocation = read_allocation(dev)
        self._cache: OrderedDict[int, list[bytes]] = OrderedDict()
        self._cache_max = cache_tracks

    @property
    def extents(self) -> tuple[Extent, ...]:
        return self.allocation.extents

    @property
    def volser(self) -> Optional[str]:
        return self.dev.volser

    def slot_ranges(self, kinds: Iterable[str] = SLOT_EXTENTS) -> list[range]:
        """Slot numbers of the extents of the given types, in order."""
        kinds = set(kinds)
        per_cyl = self.dev.heads * self.slots_per_track
        return [range(e.first_cyl * per_cyl + 1, (e.last_cyl + 1) * per_cyl + 1)
                for e in self.extents if e.kind in kinds]

    def slot_kind(self, slot: int) -> Optional[str]:
        cyl = (slot - 1) // self.slots_per_track // self.dev.heads
        for e in self.extents:
            if e.first_cyl <= cyl <= e.last_cyl:
                return e.kind if e.kind in SLOT_EXTENTS else None
        return None

    def locate(self, slot: int) -> tuple[int, int, int]:
        """(cylinder, head, record) of a slot; AddressError outside a slot extent."""
        if slot < 1 or self.slot_kind(slot) is None:
            raise AddressError(f"slot {slot} is not in a PAGE/SPOL/DRCT/TDSK extent",
                               path=self.path, page=slot)
        trk, r = divmod(slot - 1, self.slots_per_track)
        cyl, head = divmod(trk, self.dev.heads)
        return cyl, head, r + 1

    # -- reading ---------------------------------------------------------
    def _track_pages(self, trk: int) -> list[bytes]:
        pages = self._cache.get(trk)
        if pages is not None:
            self._cache.move_to_end(trk)
            return pages
        cyl, head = divmod(trk, self.dev.heads)
        try:
            track = self.dev.read_track(cyl, head)
        except FormatError as exc:
            pages = self._torn_track_pages(trk, exc)
        else:
            pages = self._parsed_track_pages(track, cyl, head)
        self._cache[trk] = pages
        if len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)
        return pages

    def _parsed_track_pages(self, track: Track, cyl: int, head: int) -> list[bytes]:
        pages = [_ZERO_PAGE] * self.slots_per_track
        for rec in track.records:
            if 1 <= rec.r <= self.slots_per_track and not rec.is_eof:
                if rec.dl != PAGE_SIZE or rec.kl:
                    raise FormatError(f"slot record R{rec.r} has key {rec.kl} and data "
                                      f"{rec.dl} bytes, not a 4096-byte page",
                                      path=self.path, track=(cyl, head), record=rec.r)
                pages[rec.r - 1] = bytes(rec.data)
        return pages

    def _torn_track_pages(self, trk: int, exc: FormatError) -> list[bytes]:
        """The pages of a slot track whose last write was cut short (a plain
        image's in-place write killed midway).  Slot tracks are only ever
        written whole (R1..Rn), so a torn one is new records up to the cut
        and, after it, either the old records (a valid track, never here) or
        the zeros of a slot track never written: those slots read as zero
        pages, which is what they held.  Anything else stays an error."""
        cyl, head = divmod(trk, self.dev.heads)
        raw = bytes(self.dev._read_image(trk))
        pages = [_ZERO_PAGE] * self.slots_per_track
        pos = 5 + 8 + 8                                  # HA, R0 count and data
        if len(raw) < pos or raw[1:5] != struct.pack(">HH", cyl, head):
            raise exc
        for i in range(self.slots_per_track):
            count = raw[pos:pos + 8]
            if count == bytes(len(count)):
                break                                    # never written from here on
            if count != struct.pack(">HHBBH", cyl, head, i + 1, 0, PAGE_SIZE) \
                    or pos + 8 + PAGE_SIZE > len(raw):
                raise exc
            pages[i] = raw[pos + 8:pos + 8 + PAGE_SIZE]
            pos += 8 + PAGE_SIZE
        if any(raw[pos:]):
            raise exc
        return pages

    def read_slot(self, slot: int) -> bytes:
        """One 4096-byte page (zeros for a slot never written)."""
        cyl, head, r = self.locate(slot)
        return self._track_pages(cyl * self.dev.heads + head)[r - 1]

    def read_track_slots(self, cyl: int, head: int) -> list[bytes]:
        """All pages of one slot track (zeros for slots never written)."""
        return list(self._track_pages(cyl * self.dev.heads + head))

    def iter_slots(self, kinds: Iterable[str] = ("SPOL",)) -> Iterator[tuple[int, bytes]]:
        """(slot, page) for every slot of the given extent types, a track at a time."""
        spt = self.slots_per_track
        for rng in self.slot_ranges(kinds):
            for trk in range((rng.start - 1) // spt, (rng.stop - 1) // spt):
                cyl, head = divmod(trk, self.dev.heads)
                track = self.dev.read_track(cyl, head)
                for rec in track.records:
                    if 1 <= rec.r <= spt and rec.dl == PAGE_SIZE and not rec.kl:
                        yield trk * spt + rec.r, bytes(rec.data)

    # -- writing ---------------------------------------------------------
    def write_slots(self, pages: Mapping[int, bytes]) -> None:
        """Write pages by slot, batched per track (every track written whole,
        R1..Rn; slots not given keep their pages)."""
        spt = self.slots_per_track
        by_track: dict[int, dict[int, bytes]] = {}
        for slot, page in pages.items():
            if len(page) != PAGE_SIZE:
                raise InvalidArgumentError(f"page for slot {slot} is {len(page)} bytes",
                                           path=self.path, page=slot)
            self.locate(slot)
            trk, r = divmod(slot - 1, spt)
            by_track.setdefault(trk, {})[r] = page
        for trk in sorted(by_track):
            new = by_track[trk]
            old = self._track_pages(trk) if len(new) < spt else [_ZERO_PAGE] * spt
            merged = [bytes(new.get(i, old[i])) for i in range(spt)]
            cyl, head = divmod(trk, self.dev.heads)
            with _checked(self.path, (cyl, head)):
                self.dev.write_track(cyl, head, self._slot_track(cyl, head, b"".join(merged)))
            self._cache.pop(trk, None)
            self._cache[trk] = merged
            if len(self._cache) > self._cache_max:
                self._cache.popitem(last=False)

    def _slot_track(self, cyl: int, head: int, data: bytes) -> bytearray:
        """The image of a slot track (R1..Rn of 4096 bytes from ``data``), built in C."""
        image = bytearray(self.dev.track_size)
        err = new_err()
        n = check(lib.spk_track_build_fixed(ffi.from_buffer(image), len(image), cyl, head,
                                            data, len(data), PAGE_SIZE, self.slots_per_track,
                                            err), err, path=self.path, track=(cyl, head))
        del image[n:]
        return image

    def set_index(self, slot: int, pages: int, entries: int) -> None:
        """Switch to a new spool index (``pages`` pages from ``slot``, listing
        ``entries`` files): one rewrite of track 0, the atomic step."""
        alloc = self.allocation.switched(slot, pages, entries)
        volser = self.dev.volser or "CPVOL"
        with _checked(self.path, (0, 0)):
            self.dev.write_track(0, 0, track0(self.dev, volser, alloc))
        self.allocation = alloc

    def reread(self) -> None:
        """Forget cached pages and read the allocation map again (after a
        failed update, whose effect on the file is unknown)."""
        self._cache.clear()
        self.allocation = read_allocation(self.dev)

    def flush(self) -> None:
        """Write the image's pending tables (a failure is a WriteError)."""
        with _checked(self.path):
            self.dev.flush()

    def close(self) -> None:
        self.dev.close()

    def __enter__(self) -> CPVolume:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def _checked(path: str, track: Optional[tuple[int, int]] = None) -> Iterator[None]:
    """An OSError of the image under a write becomes a WriteError naming it."""
    try:
        yield
    except SpoolkitError:
        raise
    except OSError as exc:
        what = "the file system is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) \
            else f"write failed: {exc.strerror or exc}"
        raise WriteError(what, errno=exc.errno, path=path, track=track) from None


# -- public functions ----------------------------------------------------------

def _compressed(path: str, compress: Optional[str]) -> Optional[str]:
    if compress is not None:
        return compress
    return "zlib" if path.lower().endswith(".cckd") else None


def format_volume(path: Union[str, os.PathLike[str]], model: str = "3390-3", *, volser: str,
                  extents: Iterable[ExtentLike], compress: Optional[str] = None,
                  cylinders: Optional[int] = None, overwrite: bool = False) -> str:
    """Create a CP-formatted CKD volume (plain, or CCKD with ``compress=`` or
    a name ending ``.cckd``).  Slot tracks are left as null tracks (lazy
    format; they read as zero pages).  The file appears only when complete;
    an existing file is refused (ExistsError) unless ``overwrite``."""
    path = os.fspath(path)
    _, ncyl = parse_device(model)
    if cylinders is not None:
        if isinstance(cylinders, bool) or not isinstance(cylinders, int):
            raise InvalidArgumentError(f"cylinders must be an integer, not {cylinders!r}",
                                       path=path)
        ncyl = cylinders
    if not 1 <= ncyl <= MAX_CYLINDERS:
        raise InvalidArgumentError(f"{ncyl} cylinders: a CP volume has 1 to {MAX_CYLINDERS}",
                                   path=path)
    if not isinstance(volser, str) or not volser.isascii():
        raise InvalidArgumentError(f"volume serial {volser!r} must be 1-6 letters or digits",
                                   path=path)
    volser = check_volser(volser)
    exts = checked_extents(extents, ncyl, path=path)
    comp = _compressed(path, compress)
    check_destination(path, overwrite=overwrite)
    with atomic_output(path, overwrite=overwrite) as tmp:
        # one file even over 2 GB: the rename moves exactly one file
        dev = create_dasd(tmp, model.partition(":")[0], volser, cylinders=ncyl,
                          overwrite=True, compress=comp or None, lfs=not comp)
        try:
            dev.write_track(0, 0, track0(dev, volser, Allocation(exts)))
        finally:
            dev.close()
    return path


def open_cp_volume(path: Union[str, os.PathLike[str]], mode: str = "r") -> CPVolume:
    """Open a CP-formatted volume image for page-slot access; a file that is
    not one (a tape, an FBA disk, a CMS minidisk, a directory) is refused
    with a FormatError or InvalidArgumentError saying what it is.  A split
    volume opens by its base name too."""
    p = locate(path)
    why = not_a_file(p)
    if why:
        raise InvalidArgumentError(why, path=p)
    try:
        with open(p, "rb") as f:
            head = f.read(512)
    except OSError:
        head = None     # open_dasd reports it
    why = describe_head(head) if head is not None else None
    if why:
        raise NotAVolumeError(why, path=p)
    if mode != "r":
        # a file that is no CP volume is not opened for writing at all (a CCKD
        # open for update writes its header); an unreadable file, or one a
        # writer is changing right now, is checked again under the r+ lock
        try:
            with open_dasd(p, "r") as probe:
                read_allocation(cp_ckd(probe))
        except NotAVolumeError:
            raise
        except (SpoolkitError, OSError):
            pass
    dev = open_dasd(p, mode)
    try:
        return CPVolume(cp_ckd(dev))
    except BaseException:
        dev.close()
        raise


__all__ = ["EXTENT_TYPES", "MAGIC", "MAX_CYLINDERS", "MAX_EXTENTS", "PAGE_SIZE", "SLOT_EXTENTS",
           "VERSION", "Allocation", "CPVolume", "Extent", "ExtentLike", "SlotAllocator",
           "checked_extents", "format_volume", "open_cp_volume", "parse_allocation",
           "read_allocation"]
