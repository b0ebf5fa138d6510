"""Extents on one volume, how two of them overlap, and the sweep that finds
every overlap (sorted by start, active heaps by end: O(n log n + overlaps)).

n extents can overlap in n(n-1)/2 pairs, so a 64 KB directory of identical
minidisks would make two million pairs.  :func:`sweep_bounded` lists at most
``limit`` intended and ``limit`` unintended pairs and only counts the rest, in
time O(n log n + limit): the active extents are kept apart by what a pair
with them would be.
"""

from __future__ import annotations

import heapq
from dataclasses import asdict, dataclass
from typing import Optional

from ..jsonvalue import JSONDict

#: extent kinds, in the order the report explains them
KINDS = ("full-pack", "locked-out", "cp", "minidisk")

#: VM/370 marker users and the CP area their lock stands for
DOLLAR_AREAS = {
    "$ALLOC$": "ALLOC", "$TEMP$": "TEMP", "$TDSK$": "TDSK", "$DIRECT$": "DRCT",
    "$SPOOL$": "SPOL", "$PAGE$": "PAGE", "$NUC": "NUC", "$NUC$": "NUC",
    "$SYSRES": "SYSRES", "$SYSCKP$": "CKPT", "$SYSWRM$": "WARM", "$DCSS$": "DCSS",
    "$ERROR$": "ERROR",
}


def is_locked_out(owner: str) -> bool:
    """A ``$``-user: a NOLOG marker that locks an area out of minidisk use."""
    return owner.startswith("$")


def dollar_area(owner: str) -> str:
    """The CP area a ``$``-user marks (``$TEMP$`` -> ``TEMP``)."""
    return DOLLAR_AREAS.get(owner, owner.strip("$") or "$")


@dataclass
class Extent:
    """A range of cylinders (or FBA blocks) ``start``..``end`` on a volume."""

    volume: str
    owner: str
    vaddr: str
    start: int
    end: int
    kind: str                  # one of KINDS
    area: Optional[str] = None  # CP area (PAGE, SPOL, ...) for cp / locked-out
    line: Optional[int] = None  # directory line
    source: str = "directory"
    unit: str = "cyl"
    #: END / DEVNO on a volume of unknown size: ``end`` is only the highest known end
    to_end: bool = False

    @property
    def size(self) -> int:
        return self.end - self.start + 1

    def label(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        what = f"{self.area} area" if self.kind == "cp" else f"{self.owner} {self.vaddr}".strip()
        return f"{what} {self.unit} {self.start}-{self.end}{where}"

    def to_dict(self) -> JSONDict:
        d = asdict(self)
        d["size"] = self.size
        return d


@dataclass
class Overlap:
    """Two extents sharing ``start``..``end``, classified."""

    volume: str
    first: Extent
    second: Extent
    start: int
    end: int
    classification: str   # full-pack, locked-out, perm, into-cp, user
    intended: bool
    area: Optional[str] = None

    def describe(self) -> str:
        what = {"full-pack": "full-pack minidisk (intended)",
                "locked-out": "locked-out $-user over a CP area (intended)",
                "perm": "minidisk in CP PERM space (intended)",
                "into-cp": f"INTO CP-OWNED {self.area} AREA",
                "user": "BETWEEN USER MINIDISKS"}[self.classification]
        return (f"{self.first.label()} and {self.second.label()} share "
                f"{self.first.unit} {self.start}-{self.end}: {what}")

    def to_dict(self) -> JSONDict:
        return {"volume": self.volume, "start": self.start, "end": self.end,
                "classification": self.classification, "intended": self.intended,
                "area": self.area, "first": self.first.to_dict(),
                "second": self.second.to_dict()}


def classify(a: Extent, b: Extent) -> tuple[str, bool, Optional[str]]:
    """(classification, intended, CP area) of an overlap between ``a`` and ``b``."""
    if a.kind == "full-pack" or b.kind == "full-pack":
        return "full-pack", True, None
    a_cp = a.kind in ("cp", "locked-out")
    b_cp = b.kind in ("cp", "locked-out")
    if a_cp and b_cp:
        return "locked-out", True, a.area if a.kind == "cp" else b.area
    if a_cp or b_cp:
        area = a.area if a_cp else b.area
        if area == "PERM":
            return "perm", True, area
        return "into-cp", False, area
    return "user", False, None


#: sweep categories: full pack, minidisk, CP area (or its $-user lock), CP PERM space
_FULL, _MDISK, _CP, _PERM = range(4)


def _category(e: Extent) -> int:
    if e.kind == "full-pack":
        return _FULL
    if e.kind in ("cp", "locked-out"):
        return _PERM if e.area == "PERM" else _CP
    return _MDISK


#: whether a pair of these categories is unintended, as :func:`classify` says
_UNINTENDED = [[{a, b} in ({_MDISK}, {_MDISK, _CP}) for b in range(4)] for a in range(4)]


@dataclass
class SweepResult:
    """The listed overlaps, and how many more (and of those unintended) were only counted."""

    overlaps: list[Overlap]
    omitted: int = 0
    omitted_unintended: int = 0


def sweep_bounded(extents: list[Extent], limit: Optional[int] = None,
                  limit_unintended: Optional[int] = None) -> SweepResult:
    """Every overlapping pair among ``extents`` (all on one volume), found by
    a sweep over the extents sorted by start; beyond ``limit`` intended and
    ``limit_unintended`` (default ``limit``) unintended pairs, pairs are
    counted, not listed."""
    order = sorted(extents, key=lambda e: (e.start, e.end))
    active: list[list[tuple[int, int, Extent]]] = [[], [], [], []]  # heaps of (end, seq, e)
    res = SweepResult([])
    listed = [0, 0]                      # intended, unintended
    limits = [limit, limit if limit_unintended is None else limit_unintended]
    for seq, e in enumerate(order):
        cat = _category(e)
        found: list[tuple[int, int, Extent]] = []
        for other, heap in enumerate(active):
            while heap and heap[0][0] < e.start:
                heapq.heappop(heap)
            if not heap:
                continue
            bad = _UNINTENDED[cat][other]
            most = limits[bad]
            room = len(heap) if most is None else max(0, min(len(heap), most - listed[bad]))
            found.extend(heap[:room])
            listed[bad] += room
            res.omitted += len(heap) - room
            res.omitted_unintended += (len(heap) - room) if bad else 0
        for end, _, a in sorted(found, key=lambda x: x[1]):
            cls, intended, area = classify(a, e)
            res.overlaps.append(Overlap(e.volume, a, e, e.start, min(end, e.end), cls,
                                        intended, area))
        heapq.heappush(active[cat], (e.end, seq, e))
    return res


def sweep(extents: list[Extent]) -> list[Overlap]:
    """Every overlapping pair among ``extents`` (all on one volume)."""
    return sweep_bounded(extents).overlaps


def gaps(extents: list[Extent], size: Optional[int]) -> list[tuple[int, int]]:
    """Ranges covered by no extent other than full-pack ones, from 0 to the
    volume's end (or the last covered unit when the size is unknown)."""
    spans = sorted((e.start, e.end) for e in extents if e.kind != "full-pack")
    out: list[tuple[int, int]] = []
    nxt = 0
    for s, e in spans:
        if s > nxt:
            out.append((nxt, s - 1))
        nxt = max(nxt, e + 1)
    if size is not None and nxt < size:
        out.append((nxt, size - 1))
    return out
