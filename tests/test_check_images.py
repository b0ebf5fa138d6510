"""The stored-image walk of ``check_dasd`` levels 2 and 3 in C
(``spk_cckd_check_images``): hostile L2 entries and images give the exact
findings, every layout of the images (adjacent, gaps, out of order, spans
past the read window) gives the findings of a track-by-track reference walk,
and ``cckdcdsk -3`` flags the same tracks."""

from __future__ import annotations

import bz2
import errno
import os
import random
import re
import struct
import zlib

import pytest
from conftest import small_cckd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spoolkit
from spoolkit import Track
from spoolkit._native import error_class, ffi, lib, new_err
from spoolkit.dasd.cckd import CompressedWriter, compressed_devid
from spoolkit.dasd.cckdfile import KIND_CKD, KIND_FBA, NOT_HERE, CompressedFile
from spoolkit.dasd.check import MAX_REPORTED
from spoolkit.dasd.ckd import DevHeader
from spoolkit.errors import SpoolkitError
from spoolkit.geometry import lookup_ckd

DEV = lookup_ckd("3390")
HEADS, TRKSIZE = DEV.heads, DEV.track_size
CYLS = 2
NTRK = CYLS * HEADS
L1 = 1024
FLAG_LINE = re.compile(r"HHCCU\d{3}[WE] .*?trk\[(\d+)\]")


def cchh(trk: int) -> tuple[int, int]:
    return divmod(trk, HEADS)


def image(trk: int, rng: random.Random, nrec: int = 4, size: int = 900) -> bytes:
    """A track image of nrec records of compressible data."""
    recs = [(r, b"", bytes(rng.choice(b"ABCD \x00") for _ in range(rng.randrange(1, size))))
            for r in range(1, nrec + 1)]
    return Track.from_records(*cchh(trk), recs).image


def head_too_big(trk: int) -> bytes:
    """R0 and one record whose count names head HEADS + 3: a track spoolkit
    reads and Hercules 3.x cckdcdsk -3 takes for damaged."""
    c, h = cchh(trk)
    ha = b"\0" + struct.pack(">HH", c, h)
    r0 = struct.pack(">HHBBH", c, h, 0, 0, 8) + bytes(8)
    r1 = struct.pack(">HHBBH", c, HEADS + 3, 1, 0, 700) + b"r" * 700
    return ha + r0 + r1 + b"\xff" * 8


def stored(img: bytes, code: int) -> bytes:
    if code == 0:
        return b"\0" + img[1:]
    body = zlib.compress(img[5:]) if code == 1 else bz2.compress(img[5:])
    return bytes([code]) + img[1:5] + body


def build(path, images: dict[int, bytes], nullfmt: int = 1) -> bytes:
    """A 3390 CCKD of CYLS cylinders whose tracks are stored exactly as given
    (images back to back after the L2 table); returns its bytes."""
    devhdr = DevHeader(compressed_devid(False, False), HEADS, TRKSIZE, DEV.devt & 0xFF)
    with open(path, "w+b") as f:
        w = CompressedWriter(f, devhdr, CYLS, NTRK, False, nullfmt, 1, -1)
        lens, data = [], []
        for trk in range(NTRK):
            if trk in images:
                lens.append(len(images[trk]))
                data.append(images[trk])
            else:
                lens.append(nullfmt)
        w.write_group(0, lens, b"".join(data))
        w.finish()
    return path.read_bytes()


def l2_off(raw: bytes) -> int:
    return struct.unpack_from("<I", raw, L1)[0]


def entry(raw: bytes, trk: int) -> tuple[int, int, int]:
    return struct.unpack_from("<IHH", raw, l2_off(raw) + 8 * trk)


def set_entry(raw: bytearray, trk: int, off: int, ln: int, size: int) -> None:
    struct.pack_into("<IHH", raw, l2_off(raw) + 8 * trk, off, ln, size)


def reference(path, level: int) -> tuple[list[dict], list[dict]]:
    """The walk track by track in Python (pread of each image, one C call to
    expand it, one to run the Hercules 3 check): the track errors and the
    hercules3 warnings the report must hold, in order."""
    try:
        f = CompressedFile(os.fspath(path), False, KIND_CKD, problems=[])
    except SpoolkitError:          # the report names it: no track is read
        return [], []
    try:
        fba = f.devhdr.devid.startswith("FBA")
        heads = 1 if fba else f.devhdr.heads
        trksize = 5 + lib.SPK_CFBA_GRP_SIZE if fba else f.devhdr.track_size
        flags = 1 if (not fba and f.hdr.cyls < 32768) else 0
        kind = KIND_FBA if fba else KIND_CKD
        out = bytearray(65536)
        err = new_err()
        errs: list[dict] = []
        warns: list[dict] = []
        for trk in range(f.num_l1 * 256):
            e = f.l2[trk]
            if e.off in (0, NOT_HERE) or e.len < 5 or e.size < e.len:
                continue
            try:
                data = os.pread(f.fd, e.len if level >= 3 else 5, e.off)
            except OSError as exc:
                errs.append({"kind": "track", "track": trk, "message": str(exc)})
                continue
            if level < 3:
                want = (int.from_bytes(data[1:5], "big") == trk if fba else
                        (int.from_bytes(data[1:3], "big"),
                         int.from_bytes(data[3:5], "big")) == divmod(trk, heads))
                if len(data) != 5 or data[0] > 2 or not want:
                    errs.append({"kind": "track", "track": trk, "offset": int(e.off),
                                 "message": "bad stored image header"})
                continue
            if len(data) != e.len:
                errs.append({"kind": "track", "track": trk, "offset": int(e.off),
                             "message": "image runs past the end of the file"})
                continue
            rc = lib.spk_cckd_trk_expand(data, len(data), kind, trk, heads, flags,
                                         ffi.from_buffer(out), trksize, err)
            if rc < 0:
                errs.append({"kind": "track", "track": trk, "offset": int(e.off),
                             "error": error_class(rc).__name__,
                             "message": ffi.string(err.msg).decode("utf-8", "replace")})
            elif not fba and lib.spk_cckd_herc_check(ffi.from_buffer(out), rc, trk, heads,
                                                     err) < 0:
                warns.append({"kind": "hercules3", "track": trk, "offset": int(e.off),
                              "message": ffi.string(err.msg).decode("utf-8", "replace")})
        return errs, warns
    finally:
        f.close()


def findings(path, level: int) -> tuple[list[dict], list[dict]]:
    r = spoolkit.check_dasd(path, level)
    return ([e for e in r["errors"] if e["kind"] == "track"],
            [w for w in r["warnings"] if w["kind"] == "hercules3"])


def same_as_reference(path) -> None:
    """check_dasd's track findings are the reference walk's (the report keeps
    the first MAX_REPORTED errors, track errors last, and as many warnings)."""
    for level in (2, 3):
        r = spoolkit.check_dasd(path, level)
        assert isinstance(r["ok"], bool)
        errs = [e for e in r["errors"] if e["kind"] == "track"]
        warns = [w for w in r["warnings"] if w["kind"] == "hercules3"]
        ref_errs, ref_warns = reference(path, level)
        if len(r["errors"]) < MAX_REPORTED:
            assert errs == ref_errs, level
        else:
            assert errs == ref_errs[:len(errs)], level
        assert warns == ref_warns[:MAX_REPORTED], level
        assert r["stats"].get("hercules3_flagged", 0) == len(ref_warns)


# -- hostile entries and images: the exact findings --------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """A volume with one hostile thing per track; returns (path, raw, expected
    level-2 errors, level-3 errors, level-3 warnings)."""
    d = tmp_path_factory.mktemp("hostile")
    rng = random.Random(7)
    imgs = {t: stored(image(t, rng), 1 if t % 3 else 2) for t in range(NTRK)}
    imgs[4] = bytes([1]) + imgs[4][1:5] + b"\x78\x9c\xff\xff\xff\xff"     # corrupt zlib
    c, h = cchh(5)
    imgs[5] = bytes([1]) + struct.pack(">HH", c, h + 4) + imgs[5][5:]     # wrong CCHH
    imgs[6] = stored(image(6, rng), 2)                                    # good bzip2
    good7 = stored(image(7, rng), 2)
    imgs[7] = good7[:20] + bytes(b ^ 0x55 for b in good7[20:40]) + good7[40:]  # bad bzip2
    imgs[8] = bytes([3]) + imgs[8][1:]                                    # compression 3
    imgs[9] = stored(head_too_big(9), 2)                     # readable; cckdcdsk flags it
    imgs[10] = stored(image(10, rng), 0)                                  # plain, good
    p = d / "hostile.cckd"
    raw = bytearray(build(p, imgs))
    size = len(raw)
    off1, ln1, _ = entry(raw, 1)
    set_entry(raw, 1, size + 4096, 300, 300)          # wholly past the end of the file
    set_entry(raw, 2, size - 3, 200, 200)             # 3 bytes in the file, 197 past it
    off3, ln3, _ = entry(raw, 3)
    set_entry(raw, 3, off3, ln3, ln3 - 1)             # len > size: an L2 error, not read
    p.write_bytes(bytes(raw))
    o = {t: entry(raw, t)[0] for t in range(NTRK)}
    l2 = [{"kind": "track", "track": t, "offset": o[t], "message": "bad stored image header"}
          for t in (1, 2, 5, 8)]
    l3 = [
        {"kind": "track", "track": 1, "offset": o[1],
         "message": "image runs past the end of the file"},
        {"kind": "track", "track": 2, "offset": o[2],
         "message": "image runs past the end of the file"},
        {"kind": "track", "track": 4, "offset": o[4], "error": "CompressionError",
         "message": f"track 4: zlib data is corrupt (libdeflate code 1) (slot {TRKSIZE} bytes)"},
        {"kind": "track", "track": 5, "offset": o[5], "error": "FormatError",
         "message": f"stored track header says cylinder {c} head {h + 4}, expected {c} {h}"},
        {"kind": "track", "track": 7, "offset": o[7], "error": "CompressionError",
         "message": f"track 7: bzip2 data is corrupt (code -4) (slot {TRKSIZE} bytes)"},
        {"kind": "track", "track": 8, "offset": o[8], "error": "FormatError",
         "message": "unknown compression code X'03'"},
    ]
    w3 = [{"kind": "hercules3", "track": 9, "offset": o[9], "message":
           f"record at offset 21 has head {HEADS + 3}, record number 1; Hercules 3.x "
           f"cckdcdsk -3 wants a head below {HEADS} and a record number above 0"}]
    return p, bytes(raw), l2, l3, w3


def test_hostile_level2_findings(hostile):
    p, raw, l2, _, _ = hostile
    r = spoolkit.check_dasd(p, 2)
    assert [e for e in r["errors"] if e["kind"] == "track"] == l2
    # the len > size entry is the L2 check's, never read
    assert [e["track"] for e in r["errors"] if e["kind"] == "l2"] == [3]
    assert not r["ok"]


def test_hostile_level3_findings(hostile):
    p, raw, _, l3, w3 = hostile
    r = spoolkit.check_dasd(p, 3)
    assert [e for e in r["errors"] if e["kind"] == "track"] == l3
    assert [w for w in r["warnings"] if w["kind"] == "hercules3"] == w3
    assert r["stats"]["hercules3_flagged"] == 1
    assert [e["track"] for e in r["errors"] if e["kind"] == "l2"] == [3]
    # the images past the end are also the space map's
    assert {e["offset"] for e in r["errors"] if e["kind"] == "bounds"} >= {
        entry(raw, 1)[0], entry(raw, 2)[0]}


def test_hostile_matches_reference(hostile):
    same_as_reference(hostile[0])


@pytest.mark.hercules
def test_hostile_tracks_are_the_ones_cckdcdsk_flags(hostile, herc, tmp_path):
    """cckdcdsk -3 -ro names the damaged and the flagged tracks; the L2 and
    past-the-end entries (which it takes for table damage) are left out."""
    p, raw, _, l3, w3 = hostile
    fixed = bytearray(raw)
    for t in (1, 2, 3):
        set_entry(fixed, t, 0, 1, 1)
    q = tmp_path / "hostile-in-file.cckd"
    q.write_bytes(bytes(fixed))
    out = herc("cckdcdsk", "-3", "-ro", q, check=False)
    text = out.stdout + out.stderr
    theirs = {int(m.group(1)) for m in map(FLAG_LINE.search, text.splitlines()) if m}
    errs, warns = findings(q, 3)
    assert errs == [e for e in l3 if e["track"] not in (1, 2)]
    assert warns == w3
    assert theirs == {e["track"] for e in errs} | {w["track"] for w in warns}, text


# -- the C call itself ------------------------------------------------------


def call(fd: int, ents: list[tuple[int, int, int]], level: int, first: int = 0,
         maxout: int = 256, heads: int = HEADS, trksize: int = TRKSIZE):
    l2 = ffi.new("spk_cckd_l2ent[]", max(1, len(ents)))
    for i, (off, ln, size) in enumerate(ents):
        l2[i].off, l2[i].len, l2[i].size = off, ln, size
    out = ffi.new("spk_cckd_finding[]", max(1, maxout))
    err = new_err()
    n = lib.spk_cckd_check_images(fd, l2, len(ents), first, KIND_CKD, heads, 1, trksize,
                                  level, out, maxout, err)
    got = [(out[i].trk, out[i].what, out[i].code, out[i].off) for i in range(min(max(n, 0),
                                                                                   maxout))]
    return n, got


def test_c_huge_offsets_and_skipped_entries(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(bytes(4096))
    fd = os.open(p, os.O_RDONLY)
    try:
        ents = [(2**64 - 2, 100, 100),      # past any file (no pread, no overflow)
                (2**63, 5, 5),
                (2**63 - 10, 65535, 65535),  # off + len past INT64_MAX
                (0, 5, 5), (2**64 - 1, 5, 5),  # null, "look lower": no image
                (100, 4, 4), (100, 10, 9)]    # len < 5, len > size: the L2 check's
        for level, what in ((2, lib.SPK_CCKD_FIND_HEADER), (3, lib.SPK_CCKD_FIND_EOF)):
            n, got = call(fd, ents, level, first=256)
            assert n == 3
            assert got == [(256, what, 0, 2**64 - 2), (257, what, 0, 2**63),
                           (258, what, 0, 2**63 - 10)]
    finally:
        os.close(fd)


def test_c_read_error_is_a_finding(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY)      # a directory: pread fails with EISDIR
    try:
        for level in (2, 3):
            n, got = call(fd, [(1000, 50, 50), (0, 1, 1), (2000, 60, 60)], level)
            assert got == [(0, lib.SPK_CCKD_FIND_READ, errno.EISDIR, 1000),
                           (2, lib.SPK_CCKD_FIND_READ, errno.EISDIR, 2000)]
    finally:
        os.close(fd)


def test_c_more_findings_than_room(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(bytes(100))
    fd = os.open(p, os.O_RDONLY)
    try:
        n, got = call(fd, [(10 ** 6 + i, 10, 10) for i in range(40)], 3, maxout=7)
        assert n == 40 and [g[0] for g in got] == list(range(7))
        n, got = call(fd, [(10 ** 6, 10, 10)], 3, maxout=0)
        assert n == 1 and got == []
    finally:
        os.close(fd)


@pytest.mark.parametrize("bad", [dict(level=1), dict(level=4), dict(heads=0),
                                 dict(trksize=4), dict(trksize=65537), dict(first=2**32 - 1)])
def test_c_bad_arguments(tmp_path, bad):
    p = tmp_path / "f"
    p.write_bytes(bytes(100))
    fd = os.open(p, os.O_RDONLY)
    try:
        kw = {"level": 3, **bad}
        n, _ = call(fd, [(10, 10, 10)] * 2, **kw)
        assert n == lib.SPK_EARG
    finally:
        os.close(fd)
    assert call(-1, [(10, 10, 10)], 3)[0] == lib.SPK_EARG


# -- layouts: what the reads cover --------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_layouts_match_reference(tmp_path, seed):
    """Images moved to the end in shuffled order with gaps of 0 to 40000 bytes,
    big plain images (a window's worth in a few tracks), some damaged: the
    report's track findings are the reference walk's."""
    rng = random.Random(seed)
    imgs = {}
    for t in range(NTRK):
        if rng.random() < 0.15:
            continue
        big = rng.random() < 0.3
        img = image(t, rng, nrec=rng.randrange(1, 6), size=12000 if big else 900)
        imgs[t] = stored(img, 0 if big else rng.choice((0, 1, 1, 2)))
    p = tmp_path / "lay.cckd"
    raw = bytearray(build(p, imgs))
    order = list(imgs)
    rng.shuffle(order)
    for t in order:
        off, ln, size = entry(raw, t)
        gap = rng.choice((0, 0, 0, 17, 5000, 16384, 16385, 40000))
        raw += bytes(gap)
        data = bytearray(raw[off:off + ln])
        if rng.random() < 0.15:               # damage: a byte of the image
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        set_entry(raw, t, len(raw), ln, size)
        raw += data
    if rng.random() < 0.5:                    # the last image cut short
        raw = raw[:-rng.randrange(1, 200)]
    p.write_bytes(bytes(raw))
    same_as_reference(p)


def test_clean_volume_has_no_findings(tmp_path):
    rng = random.Random(3)
    imgs = {t: stored(image(t, rng), t % 3) for t in range(NTRK)}
    p = tmp_path / "clean.cckd"
    build(p, imgs)
    for level in (2, 3):
        r = spoolkit.check_dasd(p, level)
        assert r["ok"] and r["errors"] == [] and r["stats"]["stored_tracks"] == NTRK, r


def test_cfba_matches_reference(tmp_path):
    from spoolkit.dasd import create_fba
    img = create_fba(tmp_path / "c.cfba", "3370", blocks=2000, volser="FBA009",
                     compress="zlib")
    rng = random.Random(9)
    for _ in range(20):
        start = rng.randrange(0, 1990)
        img.write_blocks(start, bytes(rng.getrandbits(8) & 0x0F for _ in range(512 * 8)))
    img.close()
    p = tmp_path / "c.cfba"
    raw = bytearray(p.read_bytes())
    f = CompressedFile(os.fspath(p), False, KIND_FBA, problems=[])
    try:
        ents = [(g, int(f.l2[g].off), int(f.l2[g].len)) for g in range(f.num_l1 * 256)
                if f.l2[g].off not in (0, NOT_HERE)]
    finally:
        f.close()
    assert len(ents) >= 4
    g0, off0, _ = ents[0]
    raw[off0 + 4] ^= 0x01                          # group number
    g1, off1, ln1 = ents[1]
    raw[off1 + ln1 // 2] ^= 0xFF                   # the stream
    p.write_bytes(bytes(raw))
    same_as_reference(p)
    errs, _ = findings(p, 3)
    assert [e["track"] for e in errs][:1] == [g0]
    assert findings(p, 2)[0] == [{"kind": "track", "track": g0, "offset": off0,
                                  "message": "bad stored image header"}]


# -- fuzz -------------------------------------------------------------------


class Small:
    """The bytes of a small valid CCKD (a short repr for hypothesis' reports)."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def __repr__(self) -> str:
        return f"<small CCKD, {len(self.raw)} bytes>"


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Small:
    return Small(small_cckd(tmp_path_factory.mktemp("small"), seed=11))


@pytest.mark.fuzz
@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 2**31), st.integers(0, 255)), min_size=1,
                max_size=16), st.sampled_from(["l2", "images", "anywhere"]),
       st.integers(0, 300))
def test_fuzz_corrupt_bytes_levels_2_and_3(small, tmp_path, muts, where, cut):
    """Bytes of the L2 table or of the images changed, the file maybe cut:
    check at levels 2 and 3 never crashes and finds what the reference does."""
    raw = bytearray(small.raw)
    lo = l2_off(small.raw)
    span = {"l2": (lo, lo + 2048), "images": (lo + 2048, len(raw)),
            "anywhere": (L1, len(raw))}[where]
    for pos, val in muts:
        raw[span[0] + pos % (span[1] - span[0])] = val
    if cut:
        raw = raw[:-cut]
    p = tmp_path / "fz.cckd"
    p.write_bytes(bytes(raw))
    same_as_reference(p)
