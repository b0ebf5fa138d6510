"""Telling a DDR tape, and what a tape file of one holds (for ``tape map``)."""

from __future__ import annotations

import os
from typing import Optional, Union

from ..errors import SpoolkitError
from ..jsonvalue import JSONValue
from .devices import device_type
from .reader import Extent, Reel
from .records import LENGTH, VolumeHeader, is_header

PathLike = Union[str, "os.PathLike[str]"]
#: EBCDIC "SPKD": the first block of spoolkit's own volume dumps
SPKD = "SPKD".encode("cp037")


def dump_kind(first_block: Optional[bytes]) -> Optional[str]:
    """"ddr" or "spoolkit" for the first block of a volume dump, else None."""
    if first_block is None:
        return None
    if is_header(first_block):
        return "ddr"
    if first_block[:4] == SPKD:
        return "spoolkit"
    return None


def tape_dump_kind(path: PathLike) -> Optional[str]:
    """The kind of volume dump the tape image starts with (see :func:`dump_kind`)."""
    with Reel(os.fspath(path)) as reel:
        return dump_kind(reel.read_block())


def describe_file(path: PathLike, offset: int) -> Optional[dict[str, JSONValue]]:
    """For a tape file starting at ``offset`` with a VHR: the dumped volume,
    the extents and tracks on this reel and how the reel ends; None for a
    file that is no DDR dump.  Damage is reported in ``error``, not raised.
    Blocks are numbered from the file's first block (1, the VHR)."""
    with Reel(os.fspath(path)) as reel:
        reel.seek(offset, 1)
        first = reel.read_block()
        if first is None or not is_header(first):
            return None
        hdr = VolumeHeader.decode(first)
        devt = device_type(hdr)
        info: dict[str, JSONValue] = {
            "volser": hdr.volser or None, "clock": f"{hdr.clock:016X}",
            "time": str(hdr.to_dict()["time"]), "cylinders": hdr.cylinders,
            "heads": hdr.heads, "max_records": hdr.max_records,
            "devtype": "%04X" % devt if devt is not None else None,
            "first_track": [hdr.cyl, hdr.head]}
        extents: list[Extent] = []
        tracks = special = 0
        prev: Optional[tuple[int, int]] = None
        end: JSONValue = None
        try:
            for t, _ in reel.tracks(images=False, first_of_dump=True):
                if prev is None or t.cyl > prev[0] + 1 or (t.cyl, t.head) <= prev:
                    extents.append(Extent(t.cyl, t.cyl))
                extents[-1].last_cyl = t.cyl
                extents[-1].tracks += 1
                tracks += 1
                special += t.special
                prev = (t.cyl, t.head)
            if reel.trailer is not None:
                tr = VolumeHeader.decode(reel.trailer)
                end = {"kind": tr.kind, "track": [tr.cyl, tr.head]}
            else:
                end = {"kind": "tapemark" if reel.stop == 2 else "end of tape"}
        except SpoolkitError as exc:
            info["error"] = str(exc)
        info.update({"extents": [e.to_dict() for e in extents], "tracks": tracks,
                     "special_tracks": special, "trailer": end})
        return info


def describe_lines(info: dict[str, JSONValue]) -> list[str]:
    """``tape map`` text lines for :func:`describe_file`'s result."""
    ext = info.get("extents") or []
    parts = ", ".join("%s-%s" % (e["first_cyl"], e["last_cyl"]) for e in
                      (ext if isinstance(ext, list) else []) if isinstance(e, dict))
    lines = [f"{'DDR volume':<20}: {info['volser'] or '(none)'} "
             f"({info['devtype'] or 'unknown device type'}, {info['cylinders']} cylinders of "
             f"{info['heads']} heads)",
             f"{'DDR dumped':<20}: {info['time']}",
             f"{'DDR extents':<20}: {parts or '(none)'}",
             f"{'DDR tracks':<20}: {info['tracks']}"]
    tr = info.get("trailer")
    if isinstance(tr, dict):
        kind = tr.get("kind")
        track = tr.get("track")
        lines.append(f"{'DDR trailer':<20}: {kind}" +
                     (" %s/%s" % tuple(track) if isinstance(track, list) else ""))
    if info.get("error"):
        lines.append(f"{'DDR error':<20}: {info['error']}")
    return lines


__all__ = ["dump_kind", "tape_dump_kind", "describe_file", "describe_lines", "LENGTH"]
