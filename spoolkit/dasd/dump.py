"""A track's records for people: count, key and data of each record as a
hex + EBCDIC dump (:mod:`spoolkit.hexview`), or as JSON with hex strings."""

from __future__ import annotations

from typing import Union

from .. import ebcdic
from ..hexview import hexdump
from .track import Record, Track

JSON = Union[str, int, bool, None, list["JSON"], dict[str, "JSON"]]


def _count_line(track: Track, rec: Record) -> str:
    count = track.image[rec.offset:rec.offset + 8].hex().upper()
    return (f"R{rec.r:<3} count {count[:8]} {count[8:10]} {count[10:12]} {count[12:]}  "
            f"CC={rec.cyl} HH={rec.head} R={rec.r} KL={rec.kl} DL={rec.dl}"
            + ("  overflow" if rec.overflow else "") + f"  at +{rec.offset:04X}")


def track_dump(track: Track, *, codepage: str = "037", width: int = 16) -> str:
    """The track as text: home address, then per record (R0 first) its count
    field and a hex + EBCDIC dump of its key and data, then the EOT offset."""
    ha = track.image[:5].hex().upper()
    recs = [track.r0, *track.records]
    lines = [f"track {track.cyl}/{track.head}: {len(track.records)} records after R0, "
             f"{len(track)} bytes, {track.key_bytes} key + {track.data_bytes} data bytes",
             f"HA   {ha[:2]} {ha[2:6]} {ha[6:10]}  CC={track.cyl} HH={track.head}"]
    for rec in recs:
        lines.append(_count_line(track, rec))
        for name, part in (("key", rec.key), ("data", rec.data)):
            if len(part):
                lines.append(f"     {name}:")
                lines += hexdump(part, width=width, codepage=codepage, indent="     ")
    lines.append(f"EOT  FFFFFFFF FFFFFFFF  at +{len(track) - 8:04X}")
    return "\n".join(lines)


def track_dump_dict(track: Track, codepage: str = "037") -> dict[str, JSON]:
    """The track's records with hex strings (``count``, ``key``, ``data``) and
    the key as EBCDIC text, for ``--json``."""
    def one(rec: Record) -> dict[str, JSON]:
        return {"r": rec.r, "cyl": rec.cyl, "head": rec.head, "kl": rec.kl, "dl": rec.dl,
                "overflow": rec.overflow, "offset": rec.offset,
                "count": track.image[rec.offset:rec.offset + 8].hex(),
                "key": bytes(rec.key).hex(), "key_text": ebcdic.decode(rec.key, codepage),
                "data": bytes(rec.data).hex()}

    return {"cyl": track.cyl, "head": track.head, "length": len(track),
            "home_address": track.image[:5].hex(),
            "records": [one(r) for r in (track.r0, *track.records)]}
