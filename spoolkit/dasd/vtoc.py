"""The VTOC of a CKD volume: VOL1, the format-4 DSCB and the data sets of
format-1 (and format-8) DSCBs, as ``dasdls`` lists them.

:func:`list_volume` reads VOL1 (track 0 R3), follows its VTOC pointer to the
format-4 DSCB, and walks the VTOC extent the format-4 DSCB names: each
44/96-byte record is a DSCB.  Data sets get their name (EBCDIC), dates,
DSORG, RECFM, LRECL, BLKSIZE, key length, extents (format-3 DSCBs
followed) and secondary allocation.  A volume with no OS VTOC (a VM
CP-owned volume, a CMS minidisk, a ``dasdinit`` volume) gets a listing
that says what VOL1 says and why there is nothing to list.

The result is a :class:`VolumeListing`; ``to_dict()`` gives its JSON form.
What else a volume can tell (a CP allocation map, say) belongs in a field
of its own there, filled by the layer that knows it, and a section of the
CLI's text.
Every pointer read from the volume is checked against the volume's
geometry, and format-3 chains are followed at most :data:`MAX_CHAIN` DSCBs
far, so a damaged VTOC gives notes, never a loop or an exception.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional, Union

from .. import ebcdic
from .base import DasdImage
from .fba import FBAImage
from .track import Track

JSON = Union[str, int, float, bool, None, list["JSON"], dict[str, "JSON"]]

#: most format-3 DSCBs followed for one data set (a data set has at most
#: 16 extents per volume on z/OS, 123 for VSAM: 1 F1 + 10 F3 is plenty)
MAX_CHAIN = 16

DSCB_KEY, DSCB_DATA = 44, 96
EBCDIC_VOL1 = "VOL1".encode("cp037")
#: markers in the VOL1 owner field of CP-formatted volumes (z/VM, VM/370)
CP_MARKERS = ("CPVOL", "CP370")


@dataclass(frozen=True)
class CCHHR:
    """A record address: cylinder, head, record."""

    cyl: int
    head: int
    rec: int

    @classmethod
    def parse(cls, b: bytes) -> CCHHR:
        return cls(int.from_bytes(b[0:2], "big"), int.from_bytes(b[2:4], "big"), b[4])

    def __str__(self) -> str:
        return f"{self.cyl}/{self.head}/{self.rec}"


@dataclass(frozen=True)
class Extent:
    """One extent: type byte, sequence number, first and last track (cyl, head)."""

    type: int
    seq: int
    begin: tuple[int, int]
    end: tuple[int, int]

    @classmethod
    def parse(cls, b: bytes) -> Extent:
        hw = [int.from_bytes(b[i:i + 2], "big") for i in (2, 4, 6, 8)]
        return cls(b[0], b[1], (hw[0], hw[1]), (hw[2], hw[3]))

    def tracks(self, heads: int) -> int:
        """Tracks in the extent as dasdls counts them (0 if it runs backwards)."""
        n = heads * (self.end[0] - self.begin[0]) + (self.end[1] - self.begin[1]) + 1
        return max(n, 0)

    def to_dict(self, heads: int) -> dict[str, JSON]:
        return {"type": self.type, "seq": self.seq, "begin": list(self.begin),
                "end": list(self.end), "tracks": self.tracks(heads)}

    def __str__(self) -> str:
        return f"{self.begin[0]}/{self.begin[1]}-{self.end[0]}/{self.end[1]}"


@dataclass
class VolumeLabel:
    """The VOL1 label of a CKD volume (track 0 record 3)."""

    volser: str
    security: int
    vtoc: CCHHR
    owner: str                 # bytes 37-50 (Hercules' owner field), blanks stripped
    text: str                  # the 80 bytes decoded in code page 037

    @property
    def cp_marker(self) -> Optional[str]:
        """``"CPVOL"`` (z/VM) or ``"CP370"`` (VM/370) when the owner field
        marks a CP-formatted volume."""
        return next((m for m in CP_MARKERS if m in self.owner), None)

    def to_dict(self) -> dict[str, JSON]:
        return {"volser": self.volser, "security": self.security, "vtoc": str(self.vtoc),
                "owner": self.owner, "cp_marker": self.cp_marker, "text": self.text}


@dataclass
class DataSet:
    """A data set of the VTOC (a format-1 or format-8 DSCB)."""

    dsname: str
    format: int                # 1 or 8
    dscb: CCHHR
    volser: str
    volseq: int
    created: Optional[dt.date]
    expires: Optional[dt.date]
    referenced: Optional[dt.date]
    dsorg: str                 # PS, PO, DA, IS, CX, VS (+U), "" for none
    recfm: str                 # F, V, U + B, S, A/M, T
    lrecl: int
    blksize: int
    keylen: int
    extents: list[Extent]
    tracks: int
    used_percent: Optional[float]
    secondary_unit: str        # ABSTR, BLK, TRK, CYL
    secondary: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self, heads: int) -> dict[str, JSON]:
        return {"dsname": self.dsname, "format": self.format, "dscb": str(self.dscb),
                "volser": self.volser, "volseq": self.volseq,
                "created": _iso(self.created), "expires": _iso(self.expires),
                "referenced": _iso(self.referenced), "dsorg": self.dsorg,
                "recfm": self.recfm, "lrecl": self.lrecl, "blksize": self.blksize,
                "keylen": self.keylen, "tracks": self.tracks,
                "used_percent": self.used_percent,
                "secondary": {"unit": self.secondary_unit, "quantity": self.secondary},
                "extents": [e.to_dict(heads) for e in self.extents],
                "notes": list(self.notes)}


@dataclass
class VtocInfo:
    """The VTOC: where its format-4 DSCB is, its extent, what its DSCBs hold."""

    format4: CCHHR
    extent: Extent
    tracks: int
    dscbs: int = 0
    free_dscbs: int = 0        # format-0 (empty) DSCBs
    formats: dict[str, int] = field(default_factory=dict)  # "F1" -> count ...

    def to_dict(self) -> dict[str, JSON]:
        return {"format4": str(self.format4), "extent": str(self.extent),
                "tracks": self.tracks, "dscbs": self.dscbs, "free_dscbs": self.free_dscbs,
                "formats": dict(self.formats)}


@dataclass
class VolumeListing:
    """What :func:`list_volume` found: the volume, its label, its VTOC and
    data sets, and notes saying what is missing or odd."""

    path: str
    model: str
    cylinders: int
    heads: int
    label: Optional[VolumeLabel] = None
    vtoc: Optional[VtocInfo] = None
    datasets: list[DataSet] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, JSON]:
        return {"path": self.path, "model": self.model, "cylinders": self.cylinders,
                "heads": self.heads,
                "label": self.label.to_dict() if self.label else None,
                "vtoc": self.vtoc.to_dict() if self.vtoc else None,
                "datasets": [d.to_dict(self.heads) for d in self.datasets],
                "notes": list(self.notes)}


def _iso(d: Optional[dt.date]) -> Optional[str]:
    return d.isoformat() if d else None


def dscb_date(b: bytes) -> Optional[dt.date]:
    """A DSCB date: year - 1900 (1 byte), day of the year (2 bytes); None
    for zeros or a day outside the year."""
    year, day = 1900 + b[0], int.from_bytes(b[1:3], "big")
    if day == 0:
        return None
    try:
        last = dt.date(year, 12, 31).timetuple().tm_yday
    except ValueError:
        return None
    if day > last:
        return None
    return dt.date(year, 1, 1) + dt.timedelta(days=day - 1)


def dsorg_text(d1: int, d2: int) -> str:
    """DS1DSORG as text: ``PS``, ``PO``, ``DA``, ``IS``, ``CX``, ``VS``
    (``U`` added for unmovable), ``??`` for a mix."""
    if d2 & 0x08 and d1 & 0xFE == 0:
        org = "VS"
    else:
        kinds = [name for bit, name in ((0x80, "IS"), (0x40, "PS"), (0x20, "DA"),
                                        (0x10, "CX"), (0x02, "PO")) if d1 & bit]
        org = kinds[0] if len(kinds) == 1 else ("" if not kinds else "??")
    return org + ("U" if d1 & 0x01 else "")


def recfm_text(b: int) -> str:
    """DS1RECFM as dasdls prints it: F/V/U, then B, S, A or M, T."""
    text = {0x80: "F", 0x40: "V"}.get(b & 0xC0, "U")
    text += "B" if b & 0x10 else ""
    text += "S" if b & 0x08 else ""
    text += {0x04: "A", 0x02: "M", 0x06: "?"}.get(b & 0x06, "")
    text += "T" if b & 0x20 else ""
    return text


SECONDARY_UNITS = {0x00: "ABSTR", 0x40: "BLK", 0x80: "TRK", 0xC0: "CYL"}


class _Reader:
    """Track reads for one listing, each track read once."""

    def __init__(self, dev: DasdImage) -> None:
        self.dev = dev
        self.cache: dict[tuple[int, int], Track] = {}

    def inside(self, cyl: int, head: int) -> bool:
        return 0 <= cyl < self.dev.cylinders and 0 <= head < self.dev.heads

    def track(self, cyl: int, head: int) -> Track:
        key = (cyl, head)
        if key not in self.cache:
            if len(self.cache) > 64:
                self.cache.clear()
            self.cache[key] = self.dev.read_track(cyl, head)
        return self.cache[key]

    def record(self, addr: CCHHR) -> Optional[tuple[bytes, bytes]]:
        """Key and data of record ``addr`` (the first with that R), or None."""
        if not self.inside(addr.cyl, addr.head):
            return None
        for rec in self.track(addr.cyl, addr.head).records:
            if rec.r == addr.rec:
                return bytes(rec.key), bytes(rec.data)
        return None


def read_label(dev: DasdImage) -> tuple[Optional[VolumeLabel], Optional[str]]:
    """VOL1 from track 0 record 3, or None and a note saying what is there."""
    if dev.cylinders < 1 or dev.heads < 1:
        return None, "the volume has no tracks"
    found = _Reader(dev).record(CCHHR(0, 0, 3))
    if found is None:
        return None, "no VOL1 label: track 0 has no record 3"
    key, data = found
    if len(data) < 20 or data[:4] != EBCDIC_VOL1:
        shown = ebcdic.decode(data[:8]).strip() if data else ""
        what = f" (it starts {shown!r})" if shown.isprintable() and shown else ""
        return None, f"no VOL1 label: record 3 of track 0 is no VOL1{what}"
    text = ebcdic.decode(data[:80])
    return VolumeLabel(volser=text[4:10].rstrip(), security=data[10],
                       vtoc=CCHHR.parse(data[11:16]), owner=_printable(text[37:51]),
                       text=text), None


def _printable(text: str) -> str:
    """``text`` without its control characters (CP writes X'00' into the
    owner field), blanks stripped."""
    return "".join(c for c in text if c.isprintable()).strip()


def _extents(blob: bytes, count: int) -> list[Extent]:
    out: list[Extent] = []
    for i in range(0, len(blob) - 9, 10):
        if len(out) >= count:
            break
        ext = Extent.parse(blob[i:i + 10])
        if ext.type:
            out.append(ext)
    return out


def _dataset(rd: _Reader, addr: CCHHR, key: bytes, data: bytes) -> DataSet:
    dev = rd.dev
    noepv = data[15]
    extents = _extents(data[61:91], noepv)
    notes = []
    ptr = data[91:96]
    hops: set[CCHHR] = set()
    while len(extents) < noepv and any(ptr):
        nxt = CCHHR.parse(ptr)
        if nxt in hops or len(hops) >= MAX_CHAIN:
            notes.append(f"format-3 chain loops or runs past {MAX_CHAIN} DSCBs at {nxt}")
            break
        hops.add(nxt)
        found = rd.record(nxt)
        if found is None or len(found[0]) < DSCB_KEY or len(found[1]) < DSCB_DATA:
            notes.append(f"format-3 DSCB at {nxt} not found")
            break
        k3, d3 = found
        if d3[0] == 0xF3 and k3[:4] == b"\x03" * 4:
            extents += _extents(k3[4:44] + d3[1:91], noepv - len(extents))
        elif d3[0] != 0xF2:
            notes.append(f"DSCB at {nxt} is format X'{d3[0]:02X}', not a format-3 DSCB")
            break
        ptr = d3[91:96]
    if len(extents) < noepv:
        notes.append(f"{noepv} extents declared, {len(extents)} found")
    space = sum(e.tracks(dev.heads) for e in extents)
    for e in extents:
        if not (rd.inside(*e.begin) and rd.inside(*e.end)):
            notes.append(f"extent {e} is outside the volume")
    # as dasdls: full tracks used plus the used part of the last one
    lstar = int.from_bytes(data[54:56], "big")
    trbal = int.from_bytes(data[57:59], "big")
    used = None
    if space:
        used = round((1.0 - trbal / dev.track_size + lstar) * 100 / space, 1)
    return DataSet(
        dsname=ebcdic.decode(key).rstrip(" \0"), format=data[0] & 0x0F, dscb=addr,
        volser=ebcdic.decode(data[1:7]).rstrip(), volseq=int.from_bytes(data[7:9], "big"),
        created=dscb_date(data[9:12]), expires=dscb_date(data[12:15]),
        referenced=dscb_date(data[31:34]), dsorg=dsorg_text(data[38], data[39]),
        recfm=recfm_text(data[40]), lrecl=int.from_bytes(data[44:46], "big"),
        blksize=int.from_bytes(data[42:44], "big"), keylen=data[46], extents=extents,
        tracks=space, used_percent=used,
        secondary_unit=SECONDARY_UNITS[data[50] & 0xC0],
        secondary=int.from_bytes(data[51:54], "big"), notes=notes)


def list_volume(dev: Union[DasdImage, FBAImage]) -> VolumeListing:
    """The VTOC listing of an open volume (see the module docstring); an FBA
    volume gets its VOL1 volser and a note (its VTOC is not listed)."""
    if isinstance(dev, FBAImage):
        model = dev.device.name if dev.device else "FBA"
        volser = f"VOL1 volser {dev.volser}" if dev.volser else "no VOL1 label"
        return VolumeListing(dev.path, model, 0, 0, notes=[
            f"an FBA volume ({volser}, {dev.blocks} blocks): only CKD VTOCs are listed"])
    out = VolumeListing(dev.path, dev.model, dev.cylinders, dev.heads)
    label, note = read_label(dev)
    out.label = label
    if label is None:
        out.notes.append(f"{note}; not an OS volume, no VTOC to list")
        return out
    rd = _Reader(dev)
    found = rd.record(label.vtoc)
    if found is None or len(found[1]) < DSCB_DATA or found[1][0] != 0xF4:
        what = "no record" if found is None else "no format-4 DSCB"
        out.notes.append(f"no OS VTOC: VOL1 points to {label.vtoc}, where there is {what}"
                         + (f" (VOL1 owner {label.owner!r})" if label.owner else ""))
        return out
    f4 = found[1]
    extent = Extent.parse(f4[61:71])
    first = extent.begin[0] * dev.heads + extent.begin[1]
    last = min(extent.end[0] * dev.heads + extent.end[1], dev.total_tracks - 1)
    if last < first or first >= dev.total_tracks:
        out.notes.append(f"the format-4 DSCB's VTOC extent {extent} is outside the volume")
        return out
    if extent.end[0] * dev.heads + extent.end[1] >= dev.total_tracks:
        out.notes.append(f"the VTOC extent {extent} runs past the volume; read to its end")
    vtoc = VtocInfo(label.vtoc, extent, last - first + 1)
    out.vtoc = vtoc
    for trk in range(first, last + 1):
        cyl, head = divmod(trk, dev.heads)
        for rec in rd.track(cyl, head).records:
            if rec.kl != DSCB_KEY or rec.dl < DSCB_DATA:
                continue
            vtoc.dscbs += 1
            key, data = bytes(rec.key), bytes(rec.data[:DSCB_DATA])
            fmt = data[0]
            if fmt == 0 and not any(key):
                vtoc.free_dscbs += 1
                continue
            name = f"F{fmt & 0x0F}" if fmt & 0xF0 == 0xF0 else f"X'{fmt:02X}'"
            vtoc.formats[name] = vtoc.formats.get(name, 0) + 1
            if fmt in (0xF1, 0xF8):
                out.datasets.append(_dataset(rd, CCHHR(cyl, head, rec.r), key, data))
    if extent.begin == (0, 0):
        out.notes.append("the VTOC extent starts at track 0"
                         + (f" (a {label.cp_marker} volume: its VTOC shows no free space "
                            "to OS systems)" if label.cp_marker else ""))
    return out
