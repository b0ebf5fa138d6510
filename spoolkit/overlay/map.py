"""The DIRMAP-style map: every volume's extents, gaps and classified overlaps."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Union

from ..geometry import ckd_devices
from .directory import Directory, Finding, Minidisk
from .extents import Extent, Overlap, dollar_area, gaps, is_locked_out, sweep
from .sysconfig import SystemConfig

log = logging.getLogger("spoolkit.overlay")


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


def _cp_extents(dev: Any) -> list[Any]:
    """CP-owned extents from the volume's allocation map ([] without one)."""
    try:
        from ..cp import read_cp_extents  # lazy: the CP volume layer is optional here
    except ImportError:  # pragma: no cover - spoolkit.cp not installed
        log.warning("spoolkit.cp is not available: no allocation map read from %s",
                    getattr(dev, "path", dev))
        return []
    return list(read_cp_extents(dev))


def volume_info(image: Union[str, os.PathLike, Any]) -> VolumeInfo:
    """Read volser, size and CP allocation map of a volume image (path or an
    open image)."""
    from ..dasd import open_dasd
    dev = open_dasd(image) if isinstance(image, (str, os.PathLike)) else image
    try:
        fba = hasattr(dev, "write_blocks")
        size = getattr(dev, "blocks", None) if fba else dev.cylinders
        volser = dev.volser or os.path.basename(dev.path)
        areas = [(str(x.kind).upper(), int(x.first_cyl), int(x.last_cyl))
                 for x in _cp_extents(dev)]
        return VolumeInfo(volser.upper(), size, "block" if fba else "cyl", dev.devtype,
                          areas, bool(areas), dev.path)
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

    @property
    def unintended(self) -> list[Overlap]:
        return [o for o in self.overlaps if not o.intended]


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
    def ok(self) -> bool:
        return not self.unintended


_CKD_SIZES: dict[str, frozenset[int]] = {}


def _standard_sizes(devtype: str) -> frozenset[int]:
    """Cylinder counts of the real models of a device type (3390: 1113, 2226, ...)."""
    if not _CKD_SIZES:
        sizes: dict[str, set[int]] = {}
        for d in ckd_devices():
            if d.cylinders < 65535:
                sizes.setdefault(d.name.split("-")[0], set()).add(d.cylinders)
        _CKD_SIZES.update({k: frozenset(v) for k, v in sizes.items()})
    return _CKD_SIZES.get(devtype.split("-")[0], frozenset())


def build_map(directory: Directory, system_config: Optional[SystemConfig] = None,
              volumes: Iterable[VolumeInfo] = ()) -> OverlayMap:
    """Map every minidisk of ``directory`` onto its volume, with the CP areas
    of ``volumes`` and ``system_config``, and classify every overlap."""
    findings: list[Finding] = []
    infos = {v.volser.upper(): v for v in volumes}
    known_sources = system_config is not None or bool(infos)
    per_vol: dict[str, list[Minidisk]] = {}
    virtual: list[Minidisk] = []
    for md in directory.minidisks:
        if md.kind in ("v-disk", "t-disk"):
            virtual.append(md)
        else:
            per_vol.setdefault(md.volser or "?", []).append(md)
    names = set(per_vol) | set(infos)
    if system_config is not None:
        names |= set(system_config.cp_owned)
    out: dict[str, VolumeMap] = {}
    for vol in sorted(names):
        mds = per_vol.get(vol, [])
        info = infos.get(vol)
        cp_owned = bool(info and info.cp_owned) or bool(
            system_config and system_config.is_cp_owned(vol))
        unit = info.unit if info else (mds[0].unit if mds else "cyl")
        size = info.size if info else None
        size_source = "image" if size is not None else None
        if size is None:
            # a MAINT-style full-pack minidisk tells the pack's size (as DIRMAP assumes)
            for md in mds:
                if (md.start == 0 and md.size is not None and md.unit == "cyl"
                        and md.size in _standard_sizes(md.devtype)):
                    size = max(size or 0, md.size)
                    size_source = f"full-pack minidisk line {md.line}"
        if (known_sources and not vol.startswith("DEVNO:") and info is None
                and not (system_config and system_config.knows(vol))):
            first = mds[0].line if mds else None
            findings.append(Finding(first, "unknown-volser",
                                    f"volume {vol} is neither in SYSTEM CONFIG nor among "
                                    f"the given volumes ({len(mds)} minidisks)"))
        explicit_end = max((m.end for m in mds if m.end is not None), default=0)
        last = size - 1 if size is not None else explicit_end
        extents: list[Extent] = []
        for md in mds:
            if md.kind == "devno" or md.size is None:
                end = max(last, md.start or 0)
            else:
                end = md.start + md.size - 1
            start = md.start or 0
            if size is not None and end >= size:
                findings.append(Finding(md.line, "past-end",
                                        f"{md.owner} MDISK {md.vaddr} {unit} {start}-{end} "
                                        f"goes past the end of {vol} ({size} {unit}s)"))
            if start == 0 and (md.kind == "devno" or md.size is None
                               or (size is not None and end == size - 1)):
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
        out[vol] = VolumeMap(vol, size, unit, cp_owned, extents, gaps(extents, size),
                             sweep(extents), size_source)
    findings.sort(key=lambda f: (f.line or 0))
    given = list(directory.findings) + (system_config.findings if system_config else [])
    return OverlayMap(out, given + findings, virtual)


__all__ = ["OverlayMap", "VolumeInfo", "VolumeMap", "build_map", "volume_info"]
