"""An independent test-side model of CMS minidisk layouts (vm-formats.md 2.1,
2.2): encoders that build VM/370 and EDF disks block by block and decoders
that take written disks apart field by field, written from the documented
layout and never through spoolkit.cms.  Track images go through spoolkit's
DASD layer (tested on its own).
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Callable, Optional

from spoolkit import Track, open_dasd

E = "cp037"

#: CMS blocks per track: DMSFOR/DMSDIO (800-byte VM/370 blocks) and the IBM
#: capacity tables for the EDF block sizes
PER_TRACK = {
    ("3330", 800): 14, ("3340", 800): 8, ("3350", 800): 19, ("3380", 800): 36,
    ("3390", 512): 49, ("3390", 1024): 33, ("3390", 2048): 21, ("3390", 4096): 12,
    ("3350", 512): 27, ("3350", 1024): 15, ("3350", 2048): 8, ("3350", 4096): 4,
    ("3380", 4096): 10,
}
HEADS = {"2314": 20, "3330": 19, "3340": 12, "3350": 30, "3380": 15, "3390": 15}
UNIT = {"2314": 0x08, "3330": 0x09, "3340": 0x07, "3350": 0x0B, "3380": 0x0E}


def ebc(text: str, n: int) -> bytes:
    return text.ljust(n).encode(E)


def bcd(v: int) -> int:
    return (v // 10) << 4 | v % 10


# -- block access on an extent ----------------------------------------------------

class CKDBlocks:
    """CMS blocks on cylinders first.. of a CKD image (1-based block numbers).
    The 2314 keeps 15 blocks per track pair, R8 split across the two.
    ``physical`` is the size of the records written (CP-67: 829-byte records
    whose first 800 bytes are the block, the 2314's R8 split 414 + 415)."""

    SPLIT = {800: 749, 829: 414}        # bytes of a 2314's R8 on the even track

    def __init__(self, dev, first: int, blksize: int, physical: Optional[int] = None):
        self.dev, self.first, self.blksize = dev, first, blksize
        self.physical = physical or blksize
        self.devtype = dev.devtype
        self.pair = self.devtype == "2314"
        self.per = 15 if self.pair else PER_TRACK[(self.devtype, blksize)]

    def place(self, n: int) -> tuple[int, int]:
        """(extent track, record) of block n."""
        g, k = divmod(n - 1, self.per)
        r = k + 1
        if self.pair:
            return 2 * g + (1 if r > 8 else 0), r
        return g, r

    def abs_track(self, t: int) -> tuple[int, int]:
        c, h = divmod(t, self.dev.heads)
        return self.first + c, h

    def read(self, n: int) -> bytes:
        t, r = self.place(n)
        trk = self.dev.read_track(*self.abs_track(t))
        for rec in trk.records:
            if rec.r == r:
                data = bytes(rec.data)
                if rec.overflow:         # the 2314's R8: its rest on the next track
                    nxt = self.dev.read_track(*self.abs_track(t + 1)).records[0]
                    assert nxt.r == r
                    data += bytes(nxt.data)
                return data[:self.blksize]
        raise KeyError(f"block {n}: no R{r} on extent track {t}")

    def build(self, ncyl: int, blocks: dict[int, bytes]) -> None:
        """Write every track of ncyl cylinders: the given blocks, zeros elsewhere;
        count fields with minidisk-relative cylinders."""
        bs, heads = self.blksize, self.dev.heads
        for t in range(ncyl * heads):
            rc, rh = divmod(t, heads)
            recs = []
            if self.pair:
                g, sub = divmod(t, 2)
                rng = range(1, 9) if sub == 0 else range(8, 16)
            else:
                g, sub = t, 0
                rng = range(1, self.per + 1)
            for r in rng:
                data = blocks.get(g * self.per + r, bytes(bs))
                data += bytes((t * 7 + r + k) & 0xFF for k in range(self.physical - bs))
                if self.pair and r == 8:      # 749 bytes fit after R1-R7 of a 2314 track
                    cut = self.SPLIT[self.physical]
                    data = data[:cut] if sub == 0 else data[cut:]
                recs.append((rc, rh, r, b"", data))
            trk = Track.from_records(*self.abs_track(t), recs)
            if self.pair and sub == 0:    # mark R8 as continuing on the next track
                img = bytearray(trk.image)
                off = trk.records[-1].offset
                img[off] |= 0x80
                trk = Track(bytes(img), *self.abs_track(t))
            self.dev.write_track(*self.abs_track(t), trk)


class FBABlocks:
    """CMS blocks of blksize on 512-byte blocks first.. of an FBA image."""

    def __init__(self, dev, first: int, blksize: int):
        self.dev, self.first, self.blksize = dev, first, blksize
        self.k = blksize // 512

    def read(self, n: int) -> bytes:
        return self.dev.read_blocks(self.first + (n - 1) * self.k, self.k)

    def read_raw(self, off: int, n: int) -> bytes:
        blk = self.dev.read_blocks(self.first + off // 512, 1)
        return blk[off % 512:off % 512 + n]

    def build(self, nblocks: int, blocks: dict[int, bytes]) -> None:
        zero = bytes(self.blksize)
        for n in range(1, nblocks + 1):
            self.dev.write_blocks(self.first + (n - 1) * self.k, blocks.get(n, zero))


def bits_used(bitmap: bytes, nbits: int) -> set[int]:
    return {i + 1 for i in range(nbits) if bitmap[i // 8] & (0x80 >> (i % 8))}


def bitmap_of(blocks: set[int], nbytes: int) -> bytes:
    out = bytearray(nbytes)
    for b in blocks:
        out[(b - 1) // 8] |= 0x80 >> ((b - 1) % 8)
    return bytes(out)


# -- records ------------------------------------------------------------------------

def stream(records: list[bytes], recfm: str, lrecl: int) -> bytes:
    if recfm == "F":
        assert all(len(r) == lrecl for r in records)
        return b"".join(records)
    return b"".join(struct.pack(">H", len(r)) + r for r in records)


def unstream(data: bytes, recfm: str, lrecl: int, n: int) -> list[bytes]:
    if recfm == "F":
        return [data[i * lrecl:(i + 1) * lrecl] for i in range(n)]
    out, pos = [], 0
    for _ in range(n):
        ln = struct.unpack_from(">H", data, pos)[0]
        assert ln, "zero-length V record"
        out.append(data[pos + 2:pos + 2 + ln])
        pos += 2 + ln
    return out


def chunks(data: bytes, bs: int) -> list[bytes]:
    n = max(1, math.ceil(len(data) / bs))
    return [data[i * bs:(i + 1) * bs].ljust(bs, b"\0") for i in range(n)]


@dataclass
class CMSFile:
    fname: str
    ftype: str
    recfm: str
    lrecl: int
    records: list[bytes]
    fmode: str = "A1"
    # decoded extras
    fst: dict = field(default_factory=dict)
    blocks_used: list[int] = field(default_factory=list)


# -- VM/370 -----------------------------------------------------------------------------

def vm370_fst(f: CMSFile, nblocks: int, fcl: int, date=(3, 14, 15, 9, 26, 53)) -> bytes:
    """The 40-byte FST (SY20-0887 fig. 13 / Data Areas FSTSECT)."""
    yy, mm, dd, hh, mi = date[0], date[1], date[2], date[3], date[4]
    return (ebc(f.fname, 8) + ebc(f.ftype, 8) + bytes([bcd(mm), bcd(dd), bcd(hh), bcd(mi)])
            + struct.pack(">HH", len(f.records) + 1, 1) + f.fmode.encode(E)
            + struct.pack(">HH", len(f.records), fcl) + f.recfm.encode(E) + b"\0"
            + struct.pack(">IH", f.lrecl, nblocks) + f"{yy:02d}".encode(E))


def vm370_encode(devtype: str, ncyl: int, label: str, files: list[CMSFile],
                 date=(3, 14, 15, 9, 26, 53)) -> dict[int, bytes]:
    """A VM/370 disk laid out simply (everything from block 5 up, in order):
    FST block(s), then per file its first chain link, its Nth chain links and
    data.  On the 2314 first chain links are quarters, four to a block."""
    per = 15 if devtype == "2314" else PER_TRACK[(devtype, 800)]
    per_cyl = per * HEADS[devtype] // (2 if devtype == "2314" else 1)
    adtnum = min(per_cyl * ncyl, 65531)
    blocks: dict[int, bytes] = {3: ("CMS=" + label.ljust(6)).encode(E) + bytes(790)}
    nfst = max(1, math.ceil(len(files) / 20))
    fst_blocks = list(range(5, 5 + nfst))
    nxt = 5 + nfst
    fsts = []
    quarter_block, quarter = None, 4
    for f in files:
        data = chunks(stream(f.records, f.recfm, f.lrecl), 800)
        nd = len(data)
        nlinks = max(0, math.ceil((nd - 60) / 400))
        if devtype == "2314":
            if quarter == 4:
                quarter_block, quarter = nxt, 0
                blocks[quarter_block] = bytes(800)
                nxt += 1
            fcl_block, fcl_off = quarter_block, quarter * 200
            fcl_value = quarter << 14 | quarter_block
            quarter += 1
        else:
            fcl_block, fcl_off, fcl_value = nxt, 0, nxt
            nxt += 1
        links = list(range(nxt, nxt + nlinks))
        nxt += nlinks
        dblocks = list(range(nxt, nxt + nd))
        nxt += nd
        fcl = struct.pack(">40H", *(links + [0] * (40 - len(links))))
        head = dblocks[:60]
        fcl += struct.pack(">60H", *(head + [0] * (60 - len(head))))
        base = bytearray(blocks.get(fcl_block, bytes(800)))
        base[fcl_off:fcl_off + 200] = fcl
        blocks[fcl_block] = bytes(base)
        for i, lb in enumerate(links):
            part = dblocks[60 + 400 * i:60 + 400 * (i + 1)]
            blocks[lb] = struct.pack(f">{len(part)}H", *part).ljust(800, b"\0")
        for b, d in zip(dblocks, data):
            blocks[b] = d
        fsts.append(vm370_fst(f, nd, fcl_value, date))
    fstdata = b"".join(fsts).ljust(nfst * 800, b"\0")
    for i, b in enumerate(fst_blocks):
        blocks[b] = fstdata[i * 800:(i + 1) * 800]
    qlen = math.ceil(adtnum / 8)
    ext = []
    if (nxt - 2) // 8 >= 215:          # the QMSK goes on past the MFD's 215 bytes
        ext = list(range(nxt, nxt + math.ceil((qlen - 215) / 800)))
        nxt += len(ext)
    used = set(range(1, nxt))
    qmsk = bitmap_of(used, qlen)
    last = max(i for i, v in enumerate(qmsk) if v)
    rest = qmsk[215:].ljust(len(ext) * 800, b"\0")
    for i, b in enumerate(ext):
        blocks[b] = rest[i * 800:(i + 1) * 800]
    mfd = bytearray(800)
    hw = fst_blocks + ([0xFFFD] + ext if ext else []) + [0xFFFF]
    struct.pack_into(f">{len(hw)}H", mfd, 0, *hw)
    struct.pack_into(">5I", mfd, 364, adtnum, len(used), adtnum - len(used), last, ncyl)
    mfd[384:384 + min(last + 1, 215)] = qmsk[:min(last + 1, 215)]
    mfd[599] = UNIT[devtype]
    blocks[4] = bytes(mfd)
    return blocks


def vm370_decode(read: Callable[[int], bytes]) -> dict:
    """Everything on a VM/370 disk, taken apart field by field."""
    out: dict = {"label": None}
    b3 = read(3)
    assert b3[:4] == "CMS=".encode(E), b3[:4]
    out["label"] = b3[4:10].decode(E).rstrip()
    mfd = read(4)
    hw = struct.unpack_from(">182H", mfd)
    fst_blocks, ext, target = [], [], None
    target = fst_blocks
    for v in hw:
        if v in (0xFFFF, 0, 0xFFFE):
            break
        if v == 0xFFFD:
            target = ext
            continue
        target.append(v)
    num, used, left, last, cyl = struct.unpack_from(">5I", mfd, 364)
    unit = mfd[599]
    qlen = math.ceil(num / 8)
    qmsk = bytes(mfd[384:384 + min(215, qlen)])
    if ext:
        qmsk += b"".join(read(b) for b in ext)
    qmsk = qmsk[:qlen].ljust(qlen, b"\0")
    out.update(fst_blocks=fst_blocks, ext_blocks=ext, adtnum=num, adtused=used, adtleft=left,
               adtlast=last, adtcyl=cyl, unit=unit, qmsk=qmsk, qq=struct.unpack_from(
                   ">100H", mfd, 600), mfd=mfd)
    referenced = {1, 2, 3, 4, *fst_blocks, *ext}
    files = []
    is2314 = unit == 0x08
    for fb in fst_blocks:
        blk = read(fb)
        for s in range(20):
            raw = blk[s * 40:(s + 1) * 40]
            if raw[:8] == bytes(8):
                continue
            (fn, ft, mmdd, hhmm, wp, rp, fm, items, fcl, recfm, flags, lrecl, nblk,
             year) = struct.unpack(">8s8s2s2sHH2sHHBBIH2s", raw)
            if is2314 and not fcl & 0x2000:
                fcl_block, off = fcl & 0x1FFF, (fcl >> 14) * 200
            elif is2314 and fcl & 0x8000:
                fcl_block, off = fcl - 0x6000, 0
            else:
                fcl_block, off = fcl, 0
            first = read(fcl_block)[off:off + 200]
            links = [v for v in struct.unpack_from(">40H", first)][:max(0, math.ceil(
                (nblk - 60) / 400))]
            dblocks = list(struct.unpack_from(">60H", first, 80))[:nblk]
            for i, lb in enumerate(links):
                k = min(400, nblk - 60 - 400 * i)
                dblocks += list(struct.unpack_from(f">{k}H", read(lb)))
            data = b"".join(read(b) for b in dblocks)
            rf = bytes([recfm]).decode(E)
            recs = unstream(data, rf, lrecl, items)
            used_here = [fcl_block, *links, *dblocks]
            referenced |= set(used_here)
            files.append(CMSFile(fn.decode(E).rstrip(), ft.decode(E).rstrip(), rf, lrecl, recs,
                                 fm.decode(E), fst=dict(
                                     mmdd=mmdd, hhmm=hhmm, wp=wp, rp=rp, items=items, fcl=fcl,
                                     flags=flags, blocks=nblk, year=year.decode(E),
                                     where=(fb, s)),
                                 blocks_used=used_here))
    out["files"] = files
    out["referenced"] = referenced
    return out


# -- EDF --------------------------------------------------------------------------------

def edf_ppb(bs: int, var: bool) -> int:
    return bs // 12 if var else bs // 4


def edf_levels(n: int, bs: int, var: bool) -> int:
    if n <= 1:
        return 0
    lv, reach = 1, edf_ppb(bs, var)
    while reach < n:
        lv += 1
        reach *= edf_ppb(bs, var)
    return lv


def var_block_info(data: bytes, bs: int, nrec: int) -> list[tuple[int, int]]:
    """Per data block of a V stream: (displacement of the first record
    starting in it or X'FFFFFFFF', number of the last record seen in it)."""
    nblk = math.ceil(len(data) / bs)
    disp = [0xFFFFFFFF] * nblk
    hi = [0] * nblk
    pos = 0
    for i in range(nrec):
        ln = struct.unpack_from(">H", data, pos)[0]
        b0, b1 = pos // bs, (pos + 2 + ln - 1) // bs
        if disp[b0] == 0xFFFFFFFF:
            disp[b0] = pos % bs
        for b in range(b0, b1 + 1):
            hi[b] = i + 1
        pos += 2 + ln
    return list(zip(disp, hi))


def edf_fst(name: bytes, ftype: bytes, fmode: bytes, recfm: str, lrecl: int, nrec: int,
            nblk: int, fop: int, levels: int, date=(2024, 5, 6, 7, 8, 9)) -> bytes:
    y, mo, d, h, mi, s = date
    base = (name + ftype + bytes([bcd(mo), bcd(d), bcd(h), bcd(mi)])
            + struct.pack(">HH", min(nrec + 1, 0xFFFF), 1) + fmode
            + struct.pack(">HH", min(nrec, 0xFFFF), 0) + recfm.encode(E)
            + bytes([0x08 if y >= 2000 else 0]) + struct.pack(">IH", lrecl, min(nblk, 0xFFFF))
            + f"{y % 100:02d}".encode(E))
    ext = struct.pack(">IIIBB", fop, nblk, nrec, levels, 4 if recfm == "F" else 12)
    ext += bytes(bcd(v) for v in (y % 100, mo, d, h, mi, s)) + bytes(4)
    assert len(base) == 40 and len(ext) == 24
    return base + ext


class EDFBuilder:
    """Lays out an EDF disk: blocks taken from 6 up in order."""

    def __init__(self, bs: int, nblocks: int):
        self.bs, self.num = bs, nblocks
        self.blocks: dict[int, bytes] = {}
        self.nxt = 6

    def take(self, n: int) -> list[int]:
        out = list(range(self.nxt, self.nxt + n))
        self.nxt += n
        return out

    def tree(self, dblocks: list[int], info: Optional[list[tuple[int, int]]]) -> tuple[int, int]:
        var = info is not None
        n = len(dblocks)
        lv = edf_levels(n, self.bs, var)
        if lv == 0:
            return (dblocks[0] if n else 0), 0
        ppb = edf_ppb(self.bs, var)
        entries = [(b, *(info[i] if var else (0, 0))) for i, b in enumerate(dblocks)]
        for _ in range(lv):
            groups = [entries[i:i + ppb] for i in range(0, len(entries), ppb)]
            pblocks = self.take(len(groups))
            up = []
            for pb, grp in zip(pblocks, groups):
                raw = bytearray(self.bs)
                for k, (child, disp, hi) in enumerate(grp):
                    if var:
                        struct.pack_into(">III", raw, k * 12, child, hi, disp)
                    else:
                        struct.pack_into(">I", raw, k * 4, child)
                if var:
                    struct.pack_into(">I", raw, self.bs - 4, (len(grp) - 1) * 12)
                self.blocks[pb] = bytes(raw)
                up.append((pb, grp[0][1], grp[-1][2]))
            entries = up
        return entries[0][0], lv

    def add_file(self, f: CMSFile) -> bytes:
        data = stream(f.records, f.recfm, f.lrecl)
        parts = chunks(data, self.bs)
        dblocks = self.take(len(parts))
        for b, p in zip(dblocks, parts):
            self.blocks[b] = p
        info = var_block_info(data.ljust(len(parts) * self.bs, b"\0"), self.bs,
                              len(f.records)) if f.recfm == "V" else None
        fop, lv = self.tree(dblocks, info)
        return edf_fst(ebc(f.fname, 8), ebc(f.ftype, 8), f.fmode.encode(E), f.recfm, f.lrecl,
                       len(f.records), len(parts), fop, lv)


def edf_encode(bs: int, nblocks: int, label: str, files: list[CMSFile], *, fba: bool,
               dop: int = 4) -> dict[int, bytes]:
    """An EDF disk: label, directory starting at block ``dop``, allocation map."""
    b = EDFBuilder(bs, nblocks)
    fsts = [b.add_file(f) for f in files]
    per = bs // 64
    ndir = math.ceil((len(files) + 2) / per)
    dir_blocks = [dop] + b.take(ndir - 1)
    mlen = math.ceil(nblocks / 8)
    nmap = math.ceil(mlen / bs)
    map_blocks = b.take(nmap)
    dir_fop, dir_lv = b.tree(dir_blocks, None)
    map_fop, map_lv = b.tree(map_blocks, None)
    used = set(range(1, 6)) | set(range(6, b.nxt))
    bitmap = bitmap_of(used, mlen)
    A0 = "A0".encode(E)
    d_fst = edf_fst(bytes.fromhex("0000000100000000"), "DIRECTOR".encode(E), A0, "F", 64,
                    len(files) + 2, ndir, dir_fop, dir_lv)
    m_fst = edf_fst(bytes.fromhex("0000000200000000"), "ALLOCMAP".encode(E), A0, "F", bs,
                    nmap, nmap, map_fop, map_lv)
    dirdata = b"".join([d_fst, m_fst, *fsts]).ljust(ndir * bs, b"\0")
    for i, db in enumerate(dir_blocks):
        b.blocks[db] = dirdata[i * bs:(i + 1) * bs]
    mapdata = bitmap.ljust(nmap * bs, b"\0")
    for i, mb in enumerate(map_blocks):
        b.blocks[mb] = mapdata[i * bs:(i + 1) * bs]
    lab = ("CMS1".encode(E) + ebc(label, 6) + b"\0\0"
           + struct.pack(">IIIIIIII", bs, dop, 0, 0, nblocks, len(used), 64, bs // 64)
           + bytes([0x24, 0x05, 0x06, 0x07, 0x08, 0x09, 0x01, 0]) + bytes(28))
    assert len(lab) == 80
    if fba:                       # the label at byte 512
        blk, off = 512 // bs + 1, 512 % bs
    else:
        blk, off = 3, 0
    raw = bytearray(b.blocks.get(blk, bytes(bs)))
    raw[off:off + 80] = lab
    b.blocks[blk] = bytes(raw)
    return b.blocks


def edf_walk(read: Callable[[int], bytes], bs: int, fop: int, levels: int, n: int,
             var: bool) -> tuple[list[int], list[int], list[tuple[int, int, int]]]:
    """(pointer blocks, data blocks, level-1 V entries (block, hirec, disp))."""
    if levels == 0:
        return [], [fop] if n else [], []
    ppb = edf_ppb(bs, var)
    meta, cur, entries = [], [fop], []
    for lv in range(levels, 0, -1):
        count = math.ceil(n / ppb ** (lv - 1))
        nxt, ent = [], []
        for pb in cur:
            meta.append(pb)
            raw = read(pb)
            k_here = min(ppb, count - len(nxt))
            for k in range(k_here):
                if var:
                    child, hi, disp = struct.unpack_from(">III", raw, k * 12)
                    ent.append((child, hi, disp))
                else:
                    child = struct.unpack_from(">I", raw, k * 4)[0]
                nxt.append(child)
            if var:      # the offset of the block's last entry, in its last word
                assert struct.unpack_from(">I", raw, bs - 4)[0] == (k_here - 1) * 12
        cur, entries = nxt, ent
    return meta, cur, entries


def edf_decode(read: Callable[[int], bytes], bs: int, label_raw: bytes) -> dict:
    """Everything on an EDF disk, taken apart field by field; V pointer
    entries are checked against the data they describe."""
    assert label_raw[:4] == "CMS1".encode(E)
    (bsz, dop, cyl, mcyl, num, used, fstsz, nfst) = struct.unpack_from(">8I", label_raw, 12)
    out = {"label": label_raw[4:10].decode(E).rstrip(), "blocksize": bsz, "dop": dop,
           "cyl": cyl, "num": num, "used": used, "fstsz": fstsz, "nfst": nfst,
           "date": label_raw[44:50], "lflags": label_raw[50]}
    assert bsz == bs and fstsz == 64 and nfst == bs // 64 and dop in (4, 5)

    def fst_fields(raw):
        (fn, ft, mmdd, hhmm, wp, rp, fm, items, fcl, recfm, flags, lrecl, nblk16,
         year) = struct.unpack_from(">8s8s2s2sHH2sHHBBIH2s", raw)
        fop, nblk, nrec, lv, psz = struct.unpack_from(">IIIBB", raw, 40)
        return dict(fn=fn, ft=ft, mmdd=mmdd, hhmm=hhmm, wp=wp, rp=rp, fm=fm, items=items,
                    fcl=fcl, recfm=bytes([recfm]).decode(E), flags=flags, lrecl=lrecl,
                    nblk16=nblk16, year=year, fop=fop, nblk=nblk, nrec=nrec, levels=lv,
                    psz=psz, adati=raw[54:60])

    root = fst_fields(read(dop)[:64])
    assert root["fn"] == bytes.fromhex("0000000100000000"), root
    assert root["ft"] == "DIRECTOR".encode(E)
    dmeta, dblocks, _ = edf_walk(read, bs, root["fop"], root["levels"], root["nblk"], False)
    assert dblocks[0] == dop
    ddata = b"".join(read(x) for x in dblocks)
    entries = [ddata[i * 64:(i + 1) * 64] for i in range(root["nrec"])]
    amap = fst_fields(entries[1])
    assert amap["fn"] == bytes.fromhex("0000000200000000")
    mmeta, mblocks, _ = edf_walk(read, bs, amap["fop"], amap["levels"], amap["nblk"], False)
    bitmap = b"".join(read(x) for x in mblocks)[:math.ceil(num / 8)]
    referenced = {1, 2, 3, 4, 5, *dmeta, *dblocks, *mmeta, *mblocks}
    files = []
    for raw in entries[2:]:
        f = fst_fields(raw)
        var = f["recfm"] == "V"
        n = f["nblk"] if var else math.ceil(f["nrec"] * f["lrecl"] / bs)
        meta, data_blocks, ent = edf_walk(read, bs, f["fop"], f["levels"], n, var)
        data = b"".join(read(x) for x in data_blocks)
        if var and f["levels"]:
            info = var_block_info(data, bs, f["nrec"])
            assert [(h, d) for _, h, d in ent] == [(h, d) for d, h in info], f["fn"]
        recs = unstream(data, f["recfm"], f["lrecl"], f["nrec"])
        referenced |= {*meta, *data_blocks}
        files.append(CMSFile(f["fn"].decode(E).rstrip(), f["ft"].decode(E).rstrip(),
                             f["recfm"], f["lrecl"], recs, f["fm"].decode(E), fst=f,
                             blocks_used=[*meta, *data_blocks]))
    out.update(root=root, amap=amap, bitmap=bitmap, files=files, referenced=referenced,
               dir_blocks=dblocks)
    return out


def open_blocks(path, first: int, blksize: int, fba: bool, mode: str = "r"):
    dev = open_dasd(path, mode)
    return dev, (FBABlocks(dev, first, blksize) if fba else CKDBlocks(dev, first, blksize))
