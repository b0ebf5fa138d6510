"""The SPKALLOC allocation map of a CP volume (track 0 R4): the CP-owned
extents and the current spool index, CRC-covered (version 2)."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

from .._native import ffi, lib
from ..dasd.base import DasdImage
from ..errors import ChecksumError, FormatError, InvalidArgumentError, TruncatedError, Where
from .identify import NotAVolumeError, describe_track0

EXTENT_TYPES = ("PERM", "PAGE", "SPOL", "DRCT", "TDSK", "PARM")
SLOT_EXTENTS = ("PAGE", "SPOL", "DRCT", "TDSK")
MAGIC = "SPKALLOC".encode("cp037")
VERSION = 2
#: the most extents an SPKALLOC record may list (one per cylinder at most)
MAX_EXTENTS = 1024
_E = "cp037"


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


__all__ = ["EXTENT_TYPES", "MAGIC", "MAX_EXTENTS", "SLOT_EXTENTS", "VERSION", "Allocation",
           "Extent", "ExtentLike", "checked_extents", "parse_allocation", "read_allocation"]
