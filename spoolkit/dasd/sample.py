"""Realistic sample content for CKD volumes (tests, benchmarks, demos).

Text-like 4 KiB blocks (EBCDIC 80-byte card images of words and numbers),
some binary blocks, and empty tracks, generated quickly from a small pool
so that multi-GB volumes fill in seconds.
"""

from __future__ import annotations

import random
from typing import Optional

from .base import DasdImage
from .track import Track

WORDS = ("DCB DSORG RECFM LRECL BLKSIZE SPACE CYL TRK UNIT SYSDA VOL SER DISP NEW CATLG "
         "DELETE KEEP PGM IEFBR14 IEBGENER SYSIN SYSPRINT SYSUT1 SYSUT2 EXEC JOB CLASS "
         "MSGCLASS REGION TIME COND PARM LOAD STORE BALR USING DROP MVC CLC LA LR ST L "
         "CP SPOOL READER PUNCH PRINT QUERY LINK ACCESS FILEDEF MOVEFILE COPYFILE").split()


def _text_block(rng: random.Random, size: int) -> bytes:
    lines: list[str] = []
    while len(lines) * 80 < size:
        n = rng.randint(3, 12)
        line = " ".join(rng.choice(WORDS) for _ in range(n))
        if rng.random() < 0.3:
            line += " %08d" % rng.randint(0, 99999999)
        lines.append(line[:72].ljust(72) + "%08d" % (len(lines) * 10))
    return "".join(lines).encode("cp037")[:size]


def block_pool(seed: int = 1, n: int = 48, size: int = 4096) -> list[bytes]:
    """``n`` blocks: mostly text, every 8th one binary-ish (less compressible)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        if i % 8 == 7:
            out.append(bytes(rng.getrandbits(8) & 0x3F for _ in range(size)))
        else:
            out.append(_text_block(rng, size))
    return out


def fill_volume(img: DasdImage, fraction: float = 0.7, seed: int = 1,
                tracks: Optional[int] = None, pool: Optional[list[bytes]] = None) -> int:
    """Write 4 KiB-record tracks on about ``fraction`` of the tracks from
    cylinder 1 (cylinder 0 keeps IPL records, VOL1 and the VTOC place) up to
    ``tracks`` (default all) of an image open ``"r+"``; returns tracks written."""
    rng = random.Random(seed)
    pool = pool or block_pool(seed)
    per = img.device.records_per_track(4096)
    total = img.total_tracks if tracks is None else tracks
    written = 0
    for trk in range(img.heads, total):
        if rng.random() >= fraction:
            continue
        cyl, head = divmod(trk, img.heads)
        k = rng.randint(1, per)
        recs = [(r + 1, None, pool[(trk * 7 + r) % len(pool)]) for r in range(k)]
        img.write_track(cyl, head, Track.from_records(cyl, head, recs))
        written += 1
    return written
