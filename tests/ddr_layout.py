"""The DDR tape layout as ../shared/docs/vm-formats.md §1.1 gives it, written
for the tests without any of spoolkit's DDR code: a decoder of DDR tape
blocks (field by field) and an encoder to craft DDR tapes.

VHR/EOV/EOJ: 80 bytes; id(4) BBCCHH(6) unused(6) TOD(8) MREC(2) CYLA(2) MTCK(2)
VOLSER(6) blanks(44).  THR buffer: id(4) NDRD(2) NDRT(2) DRL(2) FLAG(1) HA(5)
R0(16: count 8 + data 8), NDRD count fields, then the key and data of each
record; L = 32 + 8 NDRD + sum(KL+DL); NDRT = L // 4096 blocks of 4096 (the THR
first), then a block of DRL = max(L % 4096, 80) bytes when L % 4096 > 0."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

EB = "cp037"
ID_VHR, ID_EOV, ID_EOJ, ID_THR = (s.encode(EB) for s in ("VHR ", "EOV ", "EOJ ", "THR "))


@dataclass
class Header:
    kind: str
    cc: int
    hh: int
    clock: int
    mrec: int
    cyla: int
    mtck: int
    volser: str


@dataclass
class Rec:
    cc: int
    hh: int
    r: int
    key: bytes
    data: bytes


@dataclass
class Trk:
    cyl: int
    head: int
    haflag: int
    flag: int
    r0count: bytes
    r0data: bytes
    recs: list[Rec]
    ndrd: int
    ndrt: int
    drl: int
    block_lengths: list[int] = field(default_factory=list)

    @property
    def special(self) -> bool:
        return bool(self.flag & 1)


def header_bytes(kind: str, cc: int, hh: int, clock: int, mrec: int, cyla: int, mtck: int,
                 volser: str) -> bytes:
    out = (kind.ljust(4).encode(EB) + struct.pack(">HHH", 0, cc, hh) + b"\x40" * 6 +
           struct.pack(">QHHH", clock, mrec, cyla, mtck) + volser.ljust(6).encode(EB) +
           b"\x40" * 44)
    assert len(out) == 80
    return out


def decode_header(b: bytes) -> Header:
    assert len(b) == 80, len(b)
    kind = b[:4].decode(EB).strip()
    assert kind in ("VHR", "EOV", "EOJ"), b[:4]
    bb, cc, hh = struct.unpack(">HHH", b[4:10])
    assert bb == 0
    clock, mrec, cyla, mtck = struct.unpack(">QHHH", b[16:30])
    return Header(kind, cc, hh, clock, mrec, cyla, mtck, b[30:36].decode(EB).rstrip())


def thr_buffer(cyl: int, head: int, recs: list[Rec], *, special: bool = False,
               r0data: bytes = bytes(8), r0count: bytes | None = None) -> bytes:
    """A track's THR buffer padded as DMKDDR pads it (the blocks' bytes)."""
    counts = b"".join(struct.pack(">HHBBH", r.cc, r.hh, r.r, len(r.key), len(r.data))
                      for r in recs)
    kd = b"".join(r.key + r.data for r in recs)
    length = 32 + len(counts) + len(kd)
    ndrt, rest = divmod(length, 4096)
    drl = 0 if rest == 0 else max(rest, 80)
    r0c = r0count if r0count is not None else struct.pack(">HHBBH", cyl, head, 0, 0, 8)
    buf = (ID_THR + struct.pack(">HHHB", len(recs), ndrt, drl, 1 if special else 0) +
           bytes([0]) + struct.pack(">HH", cyl, head) + r0c + r0data + counts + kd)
    assert len(buf) == length
    return buf + bytes(ndrt * 4096 + drl - length)


def cut_blocks(buf: bytes) -> list[bytes]:
    return [buf[i:i + 4096] for i in range(0, len(buf), 4096)]


def decode_dump(blocks: list[bytes | None]) -> tuple[Header, list[Trk], Header]:
    """VHR, tracks, trailer of one reel's blocks (None = a tapemark);
    asserts every rule of the layout."""
    hdr = decode_header(blocks[0])
    assert hdr.kind == "VHR"
    tracks: list[Trk] = []
    i = 1
    while True:
        b = blocks[i]
        assert b is not None, f"tapemark at block {i + 1} before the trailer"
        if b[:4] in (ID_EOV, ID_EOJ):
            end = decode_header(b)
            assert end.clock == hdr.clock
            assert blocks[i + 1] is None, "a tapemark follows the trailer"
            return hdr, tracks, end
        assert b[:4] == ID_THR, b[:8]
        ndrd, ndrt, drl = struct.unpack(">HHH", b[4:10])
        flag, haflag = b[10], b[11]
        cyl, head = struct.unpack(">HH", b[12:16])
        nblocks = ndrt + (1 if drl else 0)
        lengths = [len(x) for x in blocks[i:i + nblocks]]
        if ndrt == 0:
            assert nblocks == 1 and len(b) == drl >= 80
        else:
            assert lengths[:ndrt] == [4096] * ndrt
            if drl:
                assert 80 <= drl < 4096 and lengths[ndrt] == drl
        buf = b"".join(blocks[i:i + nblocks])
        r0count, r0data = buf[16:24], buf[24:32]
        recs = []
        pos = 32 + 8 * ndrd
        for k in range(ndrd):
            cc, hh, r, kl, dl = struct.unpack(">HHBBH", buf[32 + 8 * k:40 + 8 * k])
            recs.append(Rec(cc, hh, r, buf[pos:pos + kl], buf[pos + kl:pos + kl + dl]))
            pos += kl + dl
        length = pos
        assert ndrt == length // 4096
        assert drl == (0 if length % 4096 == 0 else max(length % 4096, 80))
        if length < 80:
            assert buf[length:80] == bytes(80 - length), "short THR zero-padded to 80"
        tracks.append(Trk(cyl, head, haflag, flag, r0count, r0data, recs, ndrd, ndrt, drl,
                          lengths))
        i += nblocks


def track_records(image: bytes) -> tuple[bytes, list[tuple[Rec, bool]]]:
    """R0 (count + data) and the records of a Hercules track image, each with
    its track-overflow flag (CC bit X'8000'), parsed here from the bytes."""
    r0 = image[5:21]
    pos = 21
    out = []
    while image[pos:pos + 8] != b"\xff" * 8:
        cc, hh, r, kl, dl = struct.unpack(">HHBBH", image[pos:pos + 8])
        key = image[pos + 8:pos + 8 + kl]
        data = image[pos + 8 + kl:pos + 8 + kl + dl]
        out.append((Rec(cc & 0x7FFF, hh, r, key, data), bool(cc & 0x8000)))
        pos += 8 + kl + dl
    return r0, out
