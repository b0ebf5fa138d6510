"""The DIRMAP-style map: every volume's extents, gaps and classified overlaps."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Optional, Union

from .. import cp
from ..errors import InvalidArgumentError
from .device import BlockVolume, Volume
from .devices import (
    PackModel,
    base_type,
    full_pack_model,
    largest_model,
    only_model,
    pack_models,
)
from .directory import FBA_TYPES, MAX_BLOCKS, MAX_CYLINDERS, Directory, Finding, Minidisk
from .extents import Extent, Overlap, dollar_area, gaps, is_locked_out, sweep_bounded
from .sysconfig import SystemConfig

if TYPE_CHECKING:
    from ..cp.allocation import Extent as CPExtent


@dataclass
class VolumeInfo:
    """What is known about a real volume (usually from its image)."""

    volser: str
    size: Optional[int] = None          # cylinders, or blocks for FBA
    unit: str = "cyl"
    devtype: Optional[str] = None
    cp_areas: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, first, last)
    cp_owned: bool = False
    path: Optional[str] = None
    #: what is wrong with the volume's allocation record (VM/370's)
    findings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.size is not None and (isinstance(self.size, bool)
                                      or not isinstance(self.size, int) or self.size < 0):
            raise InvalidArgumentError(f"volume {self.volser[:20]!r}: size {self.size!r} is "
                                       "not a non-negative integer", path=self.path)


def _cp_extents(dev: Volume) -> list[CPExtent]:
    """CP-owned extents from the volume's allocation map ([] without one; an
    FBA volume has none)."""
    if isinstance(dev, BlockVolume):
        return []
    return list(cp.read_cp_extents(dev))


def _cp_label(dev: Volume) -> tuple[bool, list[str]]:
    """Whether the volume's own label makes it CP's (VM/370's owner CP370,
    even with a damaged allocation record), and what is wrong with that record."""
    if isinstance(dev, BlockVolume):
        return False, []
    try:
        from ..cp import read_cp_allocation
    except ImportError:  # pragma: no cover - spoolkit.cp not installed
        return False, []
    alloc = read_cp_allocation(dev)   # track 0 only, as _cp_extents
    return alloc.cp_owned, [str(f) for f in alloc.findings]


def volume_info(image: Union[str, os.PathLike[str], Volume]) -> VolumeInfo:
    """Read volser, size and CP allocation map of a volume image (path or an
    open image)."""
    from ..dasd import open_dasd
    dev: Volume = open_dasd(image) if isinstance(image, (str, os.PathLike)) else image
    try:
        fba = isinstance(dev, BlockVolume)
        size = dev.blocks if isinstance(dev, BlockVolume) else dev.cylinders
        volser = dev.volser or os.path.basename(dev.path)
        areas = [(str(x.kind).upper(), int(x.first_cyl), int(x.last_cyl))
                 for x in _cp_extents(dev)]
        labelled, findings = _cp_label(dev)
        return VolumeInfo(volser.upper(), size, "block" if fba else "cyl", dev.devtype,
                          areas, bool(areas) or labelled, dev.path, findings)
    finally:
        if dev is not image:
            dev.close()


@dataclass
class VolumeMap:
    volser: str
    size: Optional[int]
    unit: str
    cp_owned: bool
    extents: list[Extent]
    gaps: list[tuple[int, int]]
    overlaps: list[Overlap]
    size_source: Optional[str] = None
    #: overlapping pairs counted but not listed (see :data:`OVERLAP_LIMIT`)
    omitted: int = 0
    omitted_unintended: int = 0

    @property
    def unintended(self) -> list[Overlap]:
        """The listed unintended overlaps."""
        return [o for o in self.overlaps if not o.intended]

    @property
    def unintended_count(self) -> int:
        """All unintended overlaps, listed or only counted."""
        return len(self.unintended) + self.omitted_unintended


@dataclass
class OverlayMap:
    volumes: dict[str, VolumeMap]
    findings: list[Finding]
    virtual: list[Minidisk]   # V-DISK / T-DISK: no real extent

    @property
    def overlaps(self) -> list[Overlap]:
        return [o for v in self.volumes.values() for o in v.overlaps]

    @property
    def unintended(self) -> list[Overlap]:
        return [o for v in self.volumes.values() for o in v.unintended]

    @property
    def unintended_count(self) -> int:
        return sum(v.unintended_count for v in self.volumes.values())

    @property
    def ok(self) -> bool:
        return self.unintended_count == 0


#: overlapping pairs listed in a map, intended and unintended each, besides two per
#: extent (a full-pack minidisk overlaps every extent once): the rest are only counted
OVERLAP_LIMIT = 1000


def _is_fba(devtype: str) -> bool:
    models = pack_models(devtype)
    return devtype in FBA_TYPES or bool(models and models[0].unit == "block")


def _compatible(a: str, b: str) -> bool:
    """Same geometry, or the generic FB-512 and an FBA type."""
    return a == b or ("FB-512" in (a, b) and _is_fba(a) and _is_fba(b))


def _volume_type(vol: str, mds: list[Minidisk], info: Optional[VolumeInfo],
                 note: Callable[[Optional[int], str, str], None]) -> Optional[str]:
    """The device type of a volume: its image's, else its first minidisk's
    (FB-512 gives way to a real FBA type); a finding for each minidisk of
    another type."""
    vtype = base_type(info.devtype) if info is not None and info.devtype else None
    where = "its image" if vtype else ""
    for md in mds:
        t = base_type(md.devtype)
        if vtype is None or (vtype == "FB-512" and t != vtype and _is_fba(t)):
            vtype, where = t, f"line {md.line}"
        elif not _compatible(t, vtype):
            note(md.line, "devtype-mismatch", f"{md.owner} MDISK {md.vaddr} is a {md.devtype}, "
                 f"but {vol} is a {vtype} ({where})")
    return vtype


def _size_from_directory(vtype: Optional[str], mds: list[Minidisk]
                         ) -> tuple[Optional[int], Optional[str]]:
    """A volume's size without its image: the largest full-pack minidisk that
    matches a model of its type (as DIRMAP assumes), else the one model of a
    type that has one (the alternate cylinders counted when a minidisk
    reaches into them)."""
    size: Optional[int] = None
    source: Optional[str] = None
    for md in mds:
        if (md.kind == "extent" and md.start == 0 and md.size is not None
                and vtype is not None and _compatible(base_type(md.devtype), vtype)):
            m = full_pack_model(md.devtype, md.size)
            if m is not None and (size is None or md.size > size):
                size, source = md.size, f"full-pack minidisk line {md.line} ({m.describe(md.size)})"
    if size is None and vtype is not None and mds:
        m = only_model(vtype)
        if m is not None:
            reach = max((md.end for md in mds if md.end is not None), default=-1)
            size = m.total if reach >= m.primary else m.primary
            source = f"device type {vtype} ({m.describe(size)})"
    return size, source


def _full_pack(md: Minidisk, end: int, size: Optional[int]) -> bool:
    """Start 0 and the whole pack: DEVNO, END, the volume's last cylinder, or
    a model's primary cylinders (with or without its alternates) on a volume
    of that model."""
    if (md.start or 0) != 0:
        return False
    if md.kind == "devno" or md.size is None or (size is not None and end == size - 1):
        return True
    m: Optional[PackModel] = full_pack_model(md.devtype, md.size)
    return m is not None and (size is None or m.primary <= size <= m.total)


def _in_range(md: Minidisk) -> bool:
    """Numbers a parsed directory can hold (a Directory built by hand may hold any)."""
    limit = MAX_BLOCKS if md.unit == "block" else MAX_CYLINDERS
    start, size = md.start or 0, md.size or 1
    return (isinstance(start, int) and isinstance(size, int) and start >= 0 and size > 0
            and start + size <= limit)


def build_map(directory: Directory, system_config: Optional[SystemConfig] = None,
              volumes: Iterable[VolumeInfo] = ()) -> OverlayMap:
    """Map every minidisk of ``directory`` onto its volume, with the CP areas
    of ``volumes`` and ``system_config``, and classify every overlap."""
    findings: list[Finding] = []
    path = directory.path

    def note(line: Optional[int], code: str, message: str) -> None:
        findings.append(Finding(line, code, message, path=path))

    infos = {v.volser.upper(): v for v in volumes}
    for v in infos.values():
        findings.extend(Finding(None, "allocation", f"{v.volser} allocation record: {msg}",
                                source="volume", path=v.path) for msg in v.findings)
    known_sources = system_config is not None or bool(infos)
    per_vol: dict[str, list[Minidisk]] = {}
    virtual: list[Minidisk] = []
    for md in directory.minidisks:
        if not _in_range(md):
            note(md.line, "range", f"{md.owner} MDISK {md.vaddr}: start {str(md.start)[:20]} "
                 f"size {str(md.size)[:20]} is outside what a minidisk can have; not mapped")
        elif md.kind in ("v-disk", "t-disk"):
            virtual.append(md)
        else:
            per_vol.setdefault(md.volser or "?", []).append(md)
    names = set(per_vol) | set(infos)
    if system_config is not None:
        names |= set(system_config.cp_owned)
    out: dict[str, VolumeMap] = {}
    # intended and unintended pairs still to list
    budget = [OVERLAP_LIMIT + 2 * len(directory.minidisks) + 2 * sum(
        len(v.cp_areas) + 1 for v in infos.values())] * 2
    for vol in sorted(names):
        mds = per_vol.get(vol, [])
        info = infos.get(vol)
        cp_owned = bool(info and info.cp_owned) or bool(
            system_config and system_config.is_cp_owned(vol))
        unit = info.unit if info else (mds[0].unit if mds else "cyl")
        vtype = _volume_type(vol, mds, info, note)
        size = info.size if info else None
        size_source = "image" if size is not None else None
        if size is None:
            size, size_source = _size_from_directory(vtype, mds)
        biggest = largest_model(vtype) if size is None and vtype else None
        if (known_sources and not vol.startswith("DEVNO:") and info is None
                and not (system_config and system_config.knows(vol))):
            note(mds[0].line if mds else None, "unknown-volser",
                 f"volume {vol} is neither in SYSTEM CONFIG nor among the given volumes "
                 f"({len(mds)} minidisks)")
        if size == 0:
            note(mds[0].line if mds else None, "empty-volume",
                 f"volume {vol} has no {unit}s" + (f" ({info.path})" if info and info.path
                                                   else ""))
        explicit_end = max((m.end for m in mds if m.end is not None), default=0)
        last = size - 1 if size is not None else explicit_end
        extents: list[Extent] = []
        for md in mds:
            start = md.start or 0
            if md.kind == "devno" or md.size is None:
                end = max(last, start)
            else:
                end = start + md.size - 1
            if size is not None and end >= size:
                note(md.line, "past-end", f"{md.owner} MDISK {md.vaddr} {unit} {start}-{end} "
                     f"goes past the end of {vol} ({size} {unit}s)")
            elif biggest is not None and end >= biggest.total:
                note(md.line, "past-end", f"{md.owner} MDISK {md.vaddr} {unit} {start}-{end} "
                     f"goes past the end of the largest {vtype} "
                     f"({biggest.describe(biggest.total)})")
            if _full_pack(md, end, size):
                kind, area = "full-pack", None
            elif is_locked_out(md.owner):
                kind, area = "locked-out", dollar_area(md.owner)
            else:
                kind, area = "minidisk", None
            extents.append(Extent(vol, md.owner, md.vaddr, start, end, kind, area,
                                  md.line, "directory", unit,
                                  size is None and (md.kind == "devno" or md.size is None)))
        if info:
            for area, first, lastc in info.cp_areas:
                extents.append(Extent(vol, "CP", "", first, lastc, "cp", area, None,
                                      "allocation map", unit))
        if cp_owned and unit == "cyl":
            # label, allocation map, VTOC and IPL records of a CP-owned volume: protected
            # even where the allocation map calls cylinder 0 PERM
            extents.append(Extent(vol, "CP", "", 0, 0, "cp", "CYL0", None, "cylinder 0", unit))
        extents.sort(key=lambda e: (e.start, e.end, e.owner, e.vaddr, e.area or ""))
        swept = sweep_bounded(extents, budget[0], budget[1])
        bad = sum(not o.intended for o in swept.overlaps)
        budget = [budget[0] - (len(swept.overlaps) - bad), budget[1] - bad]
        out[vol] = VolumeMap(vol, size, unit, cp_owned, extents, gaps(extents, size),
                             swept.overlaps, size_source, swept.omitted,
                             swept.omitted_unintended)
    findings.sort(key=lambda f: (f.line or 0))
    given = list(directory.findings) + (system_config.findings if system_config else [])
    return OverlayMap(out, given + findings, virtual)


__all__ = ["OverlayMap", "VolumeInfo", "VolumeMap", "build_map", "volume_info"]
