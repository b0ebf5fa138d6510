"""What a CP volume image says about itself: whose layout it has (VM/370's
or spoolkit's), its CP-owned extents, and which cylinders are page-formatted.

Only cylinder 0 head 0 is read, unless a scan of the page format is asked for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from ..dasd import open_dasd
from ..dasd.base import DasdImage
from ..dasd.image import TrackSource
from ..dasd.track import Record
from ..errors import FormatError
from .allocation import MAGIC, Extent
from .allocation import parse_allocation as parse_spkalloc
from .identify import cp_ckd
from .pagelayout import PageLayout, is_page_track, layout_of
from .vm370 import AllocFinding, Run, cylinder0_tracks, is_vm370_label, parse_allocation

_E = "cp037"
#: page-format findings listed per scan; more are counted
MAX_SCAN_FINDINGS = 20
#: extent types CP pages or writes directory pages in: unformatted is a finding
PAGED = ("TEMP", "DRCT")


@dataclass(frozen=True)
class CPAllocation:
    """The allocation of a volume: ``layout`` is ``"vm370"`` (VOL1 owner
    CP370 and its allocation record), ``"spoolkit"`` (an SPKALLOC map) or None
    (not a CP volume); ``runs`` and ``mapped`` are VM/370's codes by cylinder."""

    layout: Optional[str]
    extents: tuple[Extent, ...] = ()
    findings: tuple[AllocFinding, ...] = ()
    runs: tuple[Run, ...] = ()
    mapped: Optional[int] = None

    @property
    def cp_owned(self) -> bool:
        return self.layout is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: layout, extents (with VM/370's codes), findings and, for
        VM/370, the cylinders the record maps."""
        if self.runs:
            extents = [r.to_dict() for r in self.runs]
        else:
            extents = [{"type": e.kind, "first": e.first_cyl, "last": e.last_cyl}
                       for e in self.extents]
        out: dict[str, Any] = {"layout": self.layout, "extents": extents,
                               "findings": [f.to_dict() for f in self.findings]}
        if self.layout == "vm370":
            out["mapped_cylinders"] = self.mapped
        return out


def read_cp_allocation(dev: TrackSource, *, strict: bool = False) -> CPAllocation:
    """The allocation of an open CKD image.  A bad SPKALLOC map is a
    FormatError; a bad VM/370 record gives findings (``strict=True``: a
    FormatError).  An FBA image or one without cylinders is no CP volume."""
    if not hasattr(dev, "read_track") or dev.cylinders < 1:
        return CPAllocation(None)
    records = dev.read_track(0, 0).records
    r4 = next((r for r in records if r.r == 4 and not r.kl), None)
    if r4 is not None and bytes(r4.data[:8]) == MAGIC:
        spk = parse_spkalloc(bytes(r4.data), dev.cylinders, dev.path)
        return CPAllocation("spoolkit", spk.extents)
    label = next((r for r in records if bytes(r.key) == "VOL1".encode(_E)), None)
    if label is None or not is_vm370_label(label.data):
        return CPAllocation(None)
    if r4 is None:
        if strict:
            raise FormatError("VM/370 CP volume (VOL1 owner CP370) without an allocation "
                              "record", path=dev.path, track=(0, 0), record=4)
        return CPAllocation("vm370", findings=(AllocFinding(
            "missing", "the VOL1 label names CP370 as owner, but there is no allocation "
            "record (keyless R4)"),))
    alloc = parse_allocation(r4.data, dev.cylinders, path=dev.path, strict=strict)
    return CPAllocation("vm370", alloc.extents, alloc.findings, alloc.runs, alloc.mapped)


def read_cp_extents(dev: TrackSource) -> list[Extent]:
    """The CP-owned extents (``.kind``, ``.first_cyl``, ``.last_cyl``) of an
    SPKALLOC map or a VM/370 allocation record (VM/370 codes it does not know
    as kind ``BAD``); [] for a volume with neither."""
    return list(read_cp_allocation(dev).extents)


@dataclass
class CPVolumeInfo:
    """A CP volume image: label, device, allocation, and (after a scan) the
    page-formatted cylinders as ranges."""

    path: str
    volser: Optional[str]
    devtype: str
    model: str
    cylinders: int
    heads: int
    allocation: CPAllocation
    page_layout: Optional[PageLayout] = None
    formatted: Optional[list[tuple[int, int]]] = None
    scan_findings: list[AllocFinding] = field(default_factory=list)

    @property
    def layout(self) -> Optional[str]:
        return self.allocation.layout

    @property
    def extents(self) -> tuple[Extent, ...]:
        return self.allocation.extents

    @property
    def findings(self) -> list[AllocFinding]:
        return list(self.allocation.findings) + self.scan_findings

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path, "volser": self.volser, "device": self.model,
            "devtype": self.devtype, "cylinders": self.cylinders, "heads": self.heads,
            **self.allocation.to_dict(), "findings": [f.to_dict() for f in self.findings]}
        if self.layout == "vm370":
            out["page_layout"] = self.page_layout.to_dict() if self.page_layout else None
        if self.formatted is not None:
            out["page_formatted"] = [list(r) for r in self.formatted]
        return out


def _ranges(cyls: list[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for c in cyls:
        if out and out[-1][1] == c - 1:
            out[-1] = (out[-1][0], c)
        else:
            out.append((c, c))
    return out


def _counts(records: list[Record]) -> list[tuple[int, int, int, int, int, bool]]:
    return [(r.cyl, r.head, r.r, r.kl, r.dl) + (r.overflow,) for r in records]


def scan_page_format(dev: DasdImage, layout: PageLayout,
                     findings: Optional[list[AllocFinding]] = None) -> list[int]:
    """The cylinders whose every track has the records FORMAT writes there
    (cylinder 0: its system records on head 0, and on a 2314 head 1).  A
    track that does not read counts as not formatted (a finding)."""
    found = [] if findings is None else findings
    if dev.heads != layout.heads:
        return []
    expected0 = {h: _counts(t.records)
                 for h, t in cylinder0_tracks(layout, "CP0000", bytes(1024)).items()}
    out: list[int] = []
    bad_tracks = 0
    for cyl in range(min(dev.cylinders, 0x8000)):
        ok = True
        for head in range(dev.heads):
            try:
                track = dev.read_track(cyl, head)
                if cyl == 0 and head in expected0:
                    ok = _counts(track.records) == expected0[head]
                else:
                    ok = is_page_track(layout, track.image, cyl, head, dev.path)
            except FormatError as exc:
                bad_tracks += 1
                if bad_tracks <= MAX_SCAN_FINDINGS:
                    found.append(AllocFinding("unreadable", f"track {cyl}/{head} does not "
                                              f"read: {exc.message}"))
                ok = False
            if not ok:
                break
        if ok:
            out.append(cyl)
    if bad_tracks > MAX_SCAN_FINDINGS:
        found.append(AllocFinding("unreadable", f"{bad_tracks - MAX_SCAN_FINDINGS} more "
                                  "tracks do not read"))
    return out


def volume_info(image: Union[str, os.PathLike[str], DasdImage], *,
                scan: bool = False) -> CPVolumeInfo:
    """Read a CP volume image (a path or an open CKD image): volser, device,
    allocation.  ``scan=True`` also reads every track to find the
    page-formatted cylinders of a VM/370 volume; TEMP and DRCT cylinders
    that are not page-formatted are findings (CP pages and writes its
    directory there)."""
    opened = open_dasd(image) if isinstance(image, (str, os.PathLike)) else image
    try:
        dev = cp_ckd(opened)
        alloc = read_cp_allocation(dev)
        layout = layout_of(dev.device, dev.cylinders) if alloc.layout == "vm370" else None
        info = CPVolumeInfo(dev.path, dev.volser, dev.devtype, dev.model, dev.cylinders,
                            dev.heads, alloc, layout)
        if scan and layout is not None:
            formatted = scan_page_format(dev, layout, info.scan_findings)
            info.formatted = _ranges(formatted)
            done = set(formatted)
            for e in alloc.extents:
                if e.kind in PAGED:
                    missing = [c for c in range(e.first_cyl, e.last_cyl + 1) if c not in done]
                    for a, b in _ranges(missing):
                        span = f"{a}-{b}" if b > a else str(a)
                        info.scan_findings.append(AllocFinding(
                            "unformatted", f"{e.kind} cylinders {span} are not "
                            "page-formatted: CP cannot use them", a))
        return info
    finally:
        if opened is not image:
            opened.close()


__all__ = ["CPAllocation", "CPVolumeInfo", "read_cp_allocation", "read_cp_extents",
           "scan_page_format", "volume_info"]
