"""A pure-Python reader of CMS minidisks (VM/370 and EDF on plain CKD images):
track images read with ``pread`` and parsed with ``struct``, chain links,
pointer blocks and F/V records decoded in Python - the baseline
bench_cms.py compares spoolkit.cms with."""

from __future__ import annotations

import os
import struct

E = "cp037"
EOT = b"\xff" * 8
COUNT = struct.Struct(">HHBBH").unpack_from


class Blocks:
    """CMS blocks of a plain CKD image, its tracks read with ``pread`` and
    parsed with ``struct`` (cached per track)."""

    def __init__(self, path: str, first_cyl: int, blksize: int, per_track: int) -> None:
        self.f = open(path, "rb")
        head = os.pread(self.f.fileno(), 512, 0)
        self.heads, self.trksize = struct.unpack_from("<II", head, 8)
        self.first, self.bs, self.per = first_cyl, blksize, per_track
        self.cache: dict[int, dict[int, bytes]] = {}

    def close(self) -> None:
        self.f.close()

    def _track(self, t: int) -> dict[int, bytes]:
        abs_t = self.first * self.heads + t
        img = os.pread(self.f.fileno(), self.trksize, 512 + abs_t * self.trksize)
        _, cc, hh = struct.unpack_from(">BHH", img, 0)
        if (cc, hh) != divmod(abs_t, self.heads):
            raise ValueError(f"bad home address on track {abs_t}")
        recs: dict[int, bytes] = {}
        off = 5
        while img[off:off + 8] != EOT:
            _, _, r, kl, dl = COUNT(img, off)
            if r:
                recs[r] = img[off + 8 + kl:off + 8 + kl + min(dl, self.bs)]
            off += 8 + kl + dl
        return recs

    def read(self, n: int) -> bytes:
        if n == 0:
            return bytes(self.bs)
        t, k = divmod(n - 1, self.per)
        recs = self.cache.get(t)
        if recs is None:
            recs = self.cache[t] = self._track(t)
        return recs[k + 1]


def records(data: bytes, recfm: str, lrecl: int, n: int) -> list[bytes]:
    if recfm == "F":
        return [data[i * lrecl:(i + 1) * lrecl] for i in range(n)]
    out, pos = [], 0
    for _ in range(n):
        ln = (data[pos] << 8) | data[pos + 1]
        out.append(data[pos + 2:pos + 2 + ln])
        pos += 2 + ln
    return out


def vm370_files(b: Blocks) -> list[tuple[str, list[bytes]]]:
    mfd = b.read(4)
    fst_blocks = []
    for i in range(0, 364, 2):
        v = (mfd[i] << 8) | mfd[i + 1]
        if v in (0, 0xFFFF, 0xFFFD, 0xFFFE):
            break
        fst_blocks.append(v)
    out = []
    for fb in fst_blocks:
        blk = b.read(fb)
        for s in range(20):
            raw = blk[s * 40:(s + 1) * 40]
            if raw[:8] == bytes(8):
                continue
            items, fcl = struct.unpack_from(">HH", raw, 26)
            recfm = bytes([raw[30]]).decode(E)
            lrecl, nblk = struct.unpack_from(">IH", raw, 32)
            first = b.read(fcl)[:200]
            dblocks = [(first[80 + 2 * i] << 8) | first[81 + 2 * i] for i in range(min(nblk, 60))]
            k = 0
            while len(dblocks) < nblk:
                link = b.read((first[2 * k] << 8) | first[2 * k + 1])
                for i in range(min(400, nblk - len(dblocks))):
                    dblocks.append((link[2 * i] << 8) | link[2 * i + 1])
                k += 1
            data = b"".join(b.read(x) for x in dblocks)
            out.append((raw[:16].decode(E), records(data, recfm, lrecl, items)))
    return out


def edf_files(b: Blocks) -> list[tuple[str, list[bytes]]]:
    lab = b.read(3)
    bs, dop = struct.unpack_from(">II", lab, 12)

    def walk(fop: int, levels: int, n: int, var: bool) -> list[int]:
        if levels == 0:
            return [fop] if n else []
        ppb, esz = (bs // 12, 12) if var else (bs // 4, 4)
        cur = [fop]
        for lv in range(levels, 0, -1):
            count = -(-n // ppb ** (lv - 1))
            nxt: list[int] = []
            for pb in cur:
                raw = b.read(pb)
                for k in range(min(ppb, count - len(nxt))):
                    nxt.append(struct.unpack_from(">I", raw, k * esz)[0])
            cur = nxt
        return cur

    root = b.read(dop)[:64]
    fop, nblk, nrec, lv = struct.unpack_from(">IIIB", root, 40)
    ddata = b"".join(b.read(x) for x in walk(fop, lv, nblk, False))
    out = []
    for i in range(2, nrec):
        raw = ddata[i * 64:(i + 1) * 64]
        if raw[:8] == bytes(8):
            continue
        recfm = bytes([raw[30]]).decode(E)
        lrecl = struct.unpack_from(">I", raw, 32)[0]
        fop, nblk, n, lv = struct.unpack_from(">IIIB", raw, 40)
        count = nblk if recfm == "V" else -(-(n * lrecl) // bs)
        data = b"".join(b.read(x) for x in walk(fop, lv, count, recfm == "V"))
        out.append((raw[:16].decode(E), records(data, recfm, lrecl, n)))
    return out
