"""VM/370 page-formatted tracks, per device type, as VM/370's FORMAT writes them.

FORMAT (module DMKFMT of VM/370 Release 6) writes every track of a formatted
cylinder with keyless 4096-byte page records, numbered through the cylinder
(a 3350's head ``h`` holds R(4h+1)..R(4h+4)), and on some devices short
filler records between them numbered 128 above the page before them.  The
2314/2319 spreads 8 pages over 5 tracks with track overflow.  The data of
every record is zeros (FORMAT's Write CKD commands send only the count).

Cylinder 0 head 0 holds CP's system records instead of its first pages
(see :mod:`spoolkit.cp.vm370`).  The tables below are the layouts;
``csrc/cpvol.c`` builds and checks the tracks from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Optional

from .._native import check, ffi, lib, new_err
from ..errors import UnsupportedError
from ..geometry import CKDDevice, parse_device

PAGE_SIZE = 4096
#: record numbers of fillers are the page's plus this
FILLER_BASE = 128


@dataclass(frozen=True)
class Slot:
    """One record of a group: track in the group, record number in the first
    group of a cylinder, data length, and whether it is the first segment of
    a page continued on the next track (Write Special CKD)."""

    head: int
    rec: int
    dl: int
    overflow: bool = False

    @property
    def is_page(self) -> bool:
        """A page record or page segment (not a filler)."""
        return self.rec < FILLER_BASE


@dataclass(frozen=True)
class PageLayout:
    """The page format of one VM/370 device type.

    ``cylinders`` is how many cylinders VM/370 maps on the device (its last
    cylinder + 1: the 2314's three alternate cylinders included, as CP uses
    them); ``in_use`` the first byte of R0 on cylinder 0 head 0, which
    FORMAT sets to mark the system records' pages; ``rf3_head`` the track of
    cylinder 0 that holds the R243 spare page (None: not written).
    """

    name: str
    devtype: str
    geometry: str              # spoolkit.geometry model name
    cylinders: int
    heads: int
    group_heads: int
    group_step: int
    slots: tuple[Slot, ...]
    in_use: int
    rf3_head: Optional[int]

    @property
    def pages_per_cylinder(self) -> int:
        groups = -(-self.heads // self.group_heads)
        return groups * self.group_step

    def records(self, head: int) -> list[tuple[int, int, bool]]:
        """(R, DL, overflow) of the records FORMAT writes on ``head`` of any cylinder."""
        group, in_group = divmod(head, self.group_heads)
        return [(s.rec + group * self.group_step, s.dl, s.overflow)
                for s in self.slots if s.head == in_group]

    def page_counts(self) -> tuple[int, ...]:
        """Pages per track, the pages spread over tracks counted where they begin."""
        out = []
        for head in range(self.heads):
            out.append(sum(1 for r, dl, ovf in self.records(head)
                           if r < FILLER_BASE and (dl == PAGE_SIZE or ovf)))
        return tuple(out)

    def describe(self) -> str:
        """``"4 pages per track (120 per cylinder), 300-byte fillers between them"``."""
        fillers = sorted({s.dl for s in self.slots if not s.is_page})
        if self.group_heads > 1:
            pages = (f"{self.group_step} pages over {self.group_heads} tracks with track "
                     f"overflow ({self.pages_per_cylinder} per cylinder)")
        else:
            pages = (f"{self.group_step} pages per track ({self.pages_per_cylinder} per "
                     "cylinder)")
        if fillers:
            pages += f", {'/'.join(map(str, fillers))}-byte fillers between them"
        return pages

    def to_dict(self) -> dict[str, Any]:
        return {"device": self.name, "description": self.describe(),
                "cylinders": self.cylinders, "heads": self.heads,
                "pages_per_cylinder": self.pages_per_cylinder,
                "group": [{"head": s.head, "record": s.rec, "dl": s.dl,
                           "overflow": s.overflow} for s in self.slots],
                "group_heads": self.group_heads, "group_step": self.group_step}


def _uniform(pages: int, filler: Optional[int]) -> tuple[Slot, ...]:
    """``pages`` pages on one track, a filler of ``filler`` bytes after each but the last."""
    out: list[Slot] = []
    for i in range(1, pages + 1):
        out.append(Slot(0, i, PAGE_SIZE))
        if filler and i < pages:
            out.append(Slot(0, FILLER_BASE + i, filler))
    return tuple(out)


#: The 2314/2319 group (DMKFMT's R1STUF..R8STUF): 8 pages over 5 tracks; a
#: page split between two tracks is an overflow segment and its rest.
_G2314 = (
    Slot(0, 1, 4096), Slot(0, 2, 2472, True),
    Slot(1, 2, 1624), Slot(1, 3, 4096), Slot(1, 4, 824, True),
    Slot(2, 4, 3272), Slot(2, 5, 3296, True),
    Slot(3, 5, 800), Slot(3, 6, 4096), Slot(3, 7, 1648, True),
    Slot(4, 7, 2448), Slot(4, 8, 4096),
)

#: (names, geometry, VM/370 cylinders, group tracks, record step, group, R0 mark, R243 track)
_TABLE: tuple[tuple[tuple[str, ...], str, int, int, int, tuple[Slot, ...], int,
                    Optional[int]], ...] = (
    (("2314", "2314-1", "2319"), "2314", 203, 5, 8, _G2314, 0xE0, 1),
    (("3330", "3330-1"), "3330", 404, 1, 3, _uniform(3, 50), 0xE0, 0),
    (("3330-11", "3330-2"), "3330-11", 808, 1, 3, _uniform(3, 50), 0xE0, 0),
    (("3340", "3340-1", "3340-35"), "3340-35", 348, 1, 2, _uniform(2, None), 0xE0, None),
    (("3340-2", "3340-70"), "3340-70", 696, 1, 2, _uniform(2, None), 0xE0, None),
    (("3350", "3350-1"), "3350", 555, 1, 4, _uniform(4, 300), 0xF0, 0),
    (("2305", "2305-1"), "2305-1", 48, 1, 3, _uniform(3, 50), 0xE0, 0),
    (("2305-2",), "2305-2", 96, 1, 3, _uniform(3, 50), 0xE0, 0),
)

#: the device types VM/370 Release 6 FORMAT formats
SUPPORTED = ("2314", "2319", "3330", "3330-11", "3340-35", "3340-70", "3350", "2305-1",
             "2305-2")


@cache
def _layouts() -> dict[str, PageLayout]:
    out: dict[str, PageLayout] = {}
    for names, geom, cyls, gheads, step, slots, in_use, rf3 in _TABLE:
        dev, _ = parse_device(geom)
        layout = PageLayout(geom, dev.devtype, geom, cyls, dev.heads, gheads, step, slots,
                            in_use, rf3)
        for n in names:
            out[n] = layout
    return out


def layout_for(device: str) -> PageLayout:
    """The page layout of a device type or model name (``"3350"``,
    ``"3330-11"``, ``"2319"``); UnsupportedError for types VM/370 does not
    page-format."""
    layout = _layouts().get(device.upper())
    if layout is None:
        raise UnsupportedError(f"VM/370 FORMAT does not format a {device}: it formats "
                               f"{', '.join(SUPPORTED)}")
    return layout


def layout_of(dev: CKDDevice, cylinders: int) -> Optional[PageLayout]:
    """The layout of an image's device type (None for a type VM/370 does not
    format).  The models of a type share their track layout; the one whose
    size is ``cylinders`` names it, else the smallest."""
    same = sorted({id(x): x for x in _layouts().values() if x.devtype == dev.devtype}.values(),
                  key=lambda x: x.cylinders)
    for layout in same:
        if cylinders in (layout.cylinders, parse_device(layout.geometry)[1]):
            return layout
    return same[0] if same else None


class _CLayout:
    """The cffi form of a layout, kept alive with its slot array."""

    def __init__(self, layout: PageLayout) -> None:
        self.slots = ffi.new("spk_cp_slot[]", len(layout.slots))
        for i, s in enumerate(layout.slots):
            c = self.slots[i]
            c.head, c.rec, c.dl, c.overflow = s.head, s.rec, s.dl, 1 if s.overflow else 0
        self.ptr = ffi.new("spk_cp_layout *")
        self.ptr.group_heads = layout.group_heads
        self.ptr.group_step = layout.group_step
        self.ptr.slots = self.slots
        self.ptr.nslots = len(layout.slots)


@cache
def _c_layout(layout: PageLayout) -> _CLayout:
    return _CLayout(layout)


def page_track(layout: PageLayout, cyl: int, head: int, track_size: int,
               r0: Optional[bytes] = None) -> bytes:
    """The image of a page-formatted track (built in C)."""
    out = bytearray(track_size)
    err = new_err()
    n = check(lib.spk_cp_page_track(ffi.from_buffer(out), len(out), cyl, head,
                                    _c_layout(layout).ptr,
                                    ffi.from_buffer(r0) if r0 else ffi.NULL, err),
              err, track=(cyl, head))
    return bytes(out[:n])


def is_page_track(layout: PageLayout, image: bytes, cyl: int, head: int,
                  path: Optional[str] = None) -> bool:
    """Whether a track image has exactly the records FORMAT writes there."""
    err = new_err()
    return bool(check(lib.spk_cp_page_check(ffi.from_buffer(image), len(image), cyl, head,
                                            _c_layout(layout).ptr, err),
                      err, path=path, track=(cyl, head)))


__all__ = ["FILLER_BASE", "PAGE_SIZE", "PageLayout", "SUPPORTED", "Slot", "is_page_track",
           "layout_for", "layout_of", "page_track"]
