"""A CKD volume formatted the way CP formats its own volumes.

Track 0: R1 IPL1, R2 IPL2 (as ``dasdinit``), R3 VOL1 with ``CPVOL`` at
bytes 46-50 and the VTOC pointer 0/0/5, R4 the SPKALLOC allocation map,
R5 a Format-4 and R6 a Format-5 DSCB showing no free space.  Tracks of
PAGE/SPOL/DRCT/TDSK extents hold 4096-byte page slots R1..Rn.  Slot tracks
are formatted lazily: a track that was never written is the null track
``dasdinit`` left, and its slots read as zero pages.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping, Optional, Sequence, Union

from .._native import check, ffi, lib, new_err
from ..dasd import create_dasd, open_dasd
from ..dasd.base import DasdImage
from ..dasd.ckd import IPL1_DATA, check_volser, vol1_data
from ..dasd.split import locate
from ..dasd.track import Track
from ..errors import (
    AddressError,
    ChecksumError,
    FormatError,
    InvalidArgumentError,
    NoSpaceError,
    SpoolkitError,
    TruncatedError,
    UnsupportedError,
    Where,
    WriteError,
)
from ..geometry import parse_device
from ..output import atomic_output, check_destination
from .identify import NotAVolumeError, describe_head, describe_track0, not_a_file

PAGE_SIZE = 4096
EXTENT_TYPES = ("PERM", "PAGE", "SPOL", "DRCT", "TDSK", "PARM")
SLOT_EXTENTS = ("PAGE", "SPOL", "DRCT", "TDSK")
MAGIC = "SPKALLOC".encode("cp037")
VERSION = 2
#: the largest volume format_volume makes (the 16-bit CC of a track address)
MAX_CYLINDERS = 65535
#: the most extents an SPKALLOC record may list (one per cylinder at most)
MAX_EXTENTS = 1024
_PER_PAGE = 254     # spool index entries per DRCT page (spoolkit.spool.volume)
_E = "cp037"
_ZERO_PAGE = bytes(PAGE_SIZE)


@dataclass(frozen=True, order=True)
class Extent:
    """A CP-owned extent: type and first/last cylinder (inclusive)."""

    first_cyl: int
    last_cyl: int
    kind: str

    def __repr__(self) -> str:
        return f"Extent({self.kind} {self.first_cyl}-{self.last_cyl})"


@dataclass(frozen=True)
class Allocation:
    """The SPKALLOC record: the extents and the current spool index.

    ``index_slot`` is the slot of the first index page (0: no index),
    ``index_pages`` and ``entries`` the length of that chain and the files it
    lists, ``generation`` counts index switches (every index page carries it,
    so an older index cannot pass for the current one).  Version 2 covers all
    of it with a CRC-32C; version 1 records (``version=1``) have only the
    extents and the slot.
    """

    extents: tuple[Extent, ...]
    index_slot: int = 0
    index_pages: int = 0
    entries: int = 0
    generation: int = 0
    version: int = VERSION

    def build(self) -> bytes:
        out = bytearray(MAGIC + struct.pack(">HH", VERSION, len(self.extents)))
        for e in self.extents:
            out += e.kind.encode(_E) + struct.pack(">II", e.first_cyl, e.last_cyl)
        out += struct.pack(">QIIQ", self.index_slot, self.index_pages, self.entries,
                           self.generation)
        out += struct.pack(">I", _crc32c(bytes(out)))
        return bytes(out)

    def switched(self, slot: int, pages: int, entries: int) -> Allocation:
        """The record naming a new index (next generation, current version)."""
        return Allocation(self.extents, slot, pages, entries, self.generation + 1)


def _crc32c(data: bytes) -> int:
    return lib.spk_crc32c(0, ffi.from_buffer(data), len(data))


ExtentLike = Union[Extent, tuple[str, int, int]]


def checked_extents(extents: Iterable[ExtentLike], cylinders: int, *,
                    kinds: Sequence[str] = EXTENT_TYPES, first_cylinder: int = 1,
                    path: Optional[str] = None) -> tuple[Extent, ...]:
    """Extents given as :class:`Extent` or ``(type, first, last)``, checked
    (a type of ``kinds``, integer cylinders from ``first_cylinder`` inside the
    volume, none overlapping) and sorted; InvalidArgumentError says what is wrong."""
    out = []
    for item in extents:
        if isinstance(item, Extent):
            kind, first, last = item.kind, item.first_cyl, item.last_cyl
        else:
            try:
                kind, first, last = item
            except (TypeError, ValueError):
                raise InvalidArgumentError(f"extent {item!r}: expected (type, first, last)",
                                           path=path) from None
        kind = str(kind).upper()
        if kind not in kinds:
            raise InvalidArgumentError(f"extent type {kind!r} is not one of "
                                       f"{', '.join(kinds)}", path=path)
        if isinstance(first, bool) or isinstance(last, bool) or not (
                isinstance(first, int) and isinstance(last, int)):
            raise InvalidArgumentError(f"{kind} extent: cylinders must be integers", path=path)
        if first < first_cylinder:
            why = ("cylinder 0 holds the label and allocation map" if first_cylinder == 1
                   else f"cylinders begin at {first_cylinder}")
            raise InvalidArgumentError(f"{kind} extent {first}-{last}: {why}", path=path)
        if last < first:
            raise InvalidArgumentError(f"{kind} extent {first}-{last}: last before first",
                                       path=path)
        if last >= cylinders:
            raise InvalidArgumentError(f"{kind} extent {first}-{last}: the volume has "
                                       f"{cylinders} cylinders", path=path)
        out.append(Extent(first, last, kind))
    out.sort()
    for a, b in zip(out, out[1:]):
        if b.first_cyl <= a.last_cyl:
            raise InvalidArgumentError(f"extents {a.kind} {a.first_cyl}-{a.last_cyl} and "
                                       f"{b.kind} {b.first_cyl}-{b.last_cyl} overlap", path=path)
    return tuple(out)


def parse_allocation(data: Union[bytes, memoryview], cylinders: int,
                     path: Optional[str] = None) -> Allocation:
    """Parse and validate an SPKALLOC record (FormatError names what is wrong).

    Version 2 is CRC-covered; version 1 (no CRC, only the index slot) is read
    with every field range-checked."""
    data = bytes(data)

    def at(offset: Optional[int] = None) -> Where:
        return {"path": path, "track": (0, 0), "record": 4, "offset": offset}

    where = at()
    if len(data) < 20 or data[:8] != MAGIC:
        raise FormatError("R4 is not an SPKALLOC allocation map", **where)
    version, count = struct.unpack_from(">HH", data, 8)
    if version not in (1, 2):
        raise FormatError(f"SPKALLOC version {version}, this spoolkit reads 1 and 2", **where)
    if version == 2:
        # the CRC ends the record, so it covers the extent count too
        stored, = struct.unpack_from(">I", data, len(data) - 4)
        if stored != _crc32c(data[:-4]):
            raise ChecksumError("SPKALLOC CRC-32C mismatch", **at(len(data) - 4))
    tail = 8 if version == 1 else 28
    need = 12 + 12 * count + tail
    if len(data) < need or (version == 2 and len(data) != need):
        raise TruncatedError(f"SPKALLOC of {len(data)} bytes holds {count} extents "
                             f"({need} bytes)", **where)
    if count > MAX_EXTENTS:
        raise FormatError(f"SPKALLOC lists {count} extents (at most {MAX_EXTENTS})", **where)
    raw = []
    for i in range(count):
        off = 12 + 12 * i
        try:
            kind = data[off:off + 4].decode(_E)
        except UnicodeDecodeError:
            kind = "?"
        first, last = struct.unpack_from(">II", data, off + 4)
        raw.append((kind, first, last))
    try:
        extents = checked_extents(raw, cylinders)
    except InvalidArgumentError as exc:
        raise FormatError(f"SPKALLOC: {exc.message}", **where) from None
    if [(e.kind, e.first_cyl, e.last_cyl) for e in extents] != raw:
        raise FormatError("SPKALLOC extents are not sorted", **where)
    index_slot, = struct.unpack_from(">Q", data, 12 + 12 * count)
    if version == 1:
        return Allocation(extents, index_slot, version=1)
    pages, entries, generation = struct.unpack_from(">IIQ", data, 12 + 12 * count + 8)
    if (index_slot == 0) != (pages == 0) or entries > 9999 or pages > -(-9999 // 254) \
            or (pages and entries > 254 * pages):
        raise FormatError(f"SPKALLOC names an index of {pages} pages from slot {index_slot} "
                          f"with {entries} files", **at(12 + 12 * count))
    return Allocation(extents, index_slot, pages, entries, generation)


# -- track 0 -----------------------------------------------------------------

def _vol1(volser: str) -> bytes:
    label = bytearray(vol1_data(volser, owner=""))
    label[11:16] = bytes([0, 0, 0, 0, 5])      # VTOC at cylinder 0 head 0 record 5
    label[46:51] = "CPVOL".encode(_E)
    return bytes(label)


def _dscb4(dev: DasdImage, recs_per_track: int) -> tuple[bytes, bytes]:
    """Format-4 DSCB (VTOC of one track: track 0, no free DSCBs)."""
    d = bytearray(96)
    d[0] = 0xF4                                           # DS4IDFMT
    d[1:6] = bytes([0, 0, 0, 0, 5])                       # DS4HPCHR: highest DSCB
    struct.pack_into(">H", d, 6, 0)                       # DS4DSREC: no free DSCBs
    d[15] = 1                                             # DS4NOEXT
    struct.pack_into(">HHH", d, 18, min(dev.cylinders, 0xFFFF), dev.heads,
                     dev.track_size & 0xFFFF)             # DS4DEVSZ, DS4DEVTK
    d[30] = recs_per_track & 0xFF                         # DS4DEVDT: DSCBs per track
    d[61:71] = bytes([1, 0, 0, 0, 0, 0, 0, 0, 0, 0])      # DS4VTOCE: track 0
    return b"\x04" * 44, bytes(d)


def _dscb5() -> tuple[bytes, bytes]:
    """Format-5 DSCB with no free extents: the volume is full."""
    key = b"\x05" * 4 + bytes(40)
    data = bytearray(96)
    data[0] = 0xF5
    return key, bytes(data)


def _track0(dev: DasdImage, volser: str, alloc: Allocation) -> Track:
    k4, d4 = _dscb4(dev, 1)
    k5, d5 = _dscb5()
    return Track.from_records(0, 0, [
        (1, "IPL1".encode(_E), IPL1_DATA),
        (2, "IPL2".encode(_E), bytes(144)),
        (3, "VOL1".encode(_E), _vol1(volser)),
        (4, b"", alloc.build()),
        (5, k4, d4),
        (6, k5, d5),
    ])


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
            self.dev.write_track(0, 0, _track0(self.dev, volser, alloc))
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


class SlotAllocator:
    """Which slots are in use (derived by the caller from its chains); hands
    out the lowest free slots of an extent type and takes slots back."""

    def __init__(self, cp: CPVolume, used: Iterable[int] = ()) -> None:
        self.cp = cp
        self.used = set(used)
        self._low: dict[str, int] = {}      # every slot of the kind below this is used

    def allocate(self, n: int, kind: str = "SPOL") -> list[int]:
        """n free slots of the given extent type, lowest first, marked used;
        NoSpaceError (nothing marked) if there are fewer."""
        out: list[int] = []
        if n <= 0:
            return out
        low = self._low.get(kind, 0)
        for rng in self.cp.slot_ranges([kind]):
            if rng.stop <= low:
                continue
            for s in range(max(rng.start, low), rng.stop):
                if s not in self.used:
                    out.append(s)
                    if len(out) == n:
                        self.used.update(out)
                        self._low[kind] = s + 1
                        return out
        raise NoSpaceError(f"{n} free {kind} slots needed, {len(out)} available",
                           path=self.cp.path)

    def mark(self, slots: Iterable[int]) -> None:
        self.used.update(slots)

    def free(self, slots: Iterable[int]) -> None:
        for s in slots:
            if s in self.used:
                self.used.discard(s)
                kind = self.cp.slot_kind(s)
                if kind is not None and s < self._low.get(kind, 0):
                    self._low[kind] = s

    def free_count(self, kind: str = "SPOL") -> int:
        total = sum(len(r) for r in self.cp.slot_ranges([kind]))
        return total - sum(1 for s in self.used if self.cp.slot_kind(s) == kind)


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
            dev.write_track(0, 0, _track0(dev, volser, Allocation(exts)))
        finally:
            dev.close()
    return path


def read_allocation(dev: DasdImage) -> Allocation:
    """The SPKALLOC map from track 0 R4 (FormatError saying what the volume
    is if it has none)."""
    if dev.cylinders < 1:
        raise NotAVolumeError("is a CKD image with no cylinders, not a CP volume",
                              path=dev.path)
    track = dev.read_track(0, 0)
    for rec in track.records:
        if rec.r == 4 and not rec.kl and bytes(rec.data[:8]) == MAGIC:
            return parse_allocation(rec.data, dev.cylinders, dev.path)
    raise NotAVolumeError(describe_track0(track.records), path=dev.path, track=(0, 0),
                          record=4)


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
            with open_dasd(p, "r") as dev:
                read_allocation(dev)
        except NotAVolumeError:
            raise
        except (SpoolkitError, OSError):
            pass
    dev = open_dasd(p, mode)
    try:
        return CPVolume(dev)
    except BaseException:
        dev.close()
        raise
