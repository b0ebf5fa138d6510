"""Real DDR tapes (spoolkit.ddr): fixture volumes round-trip, the written
records decode field by field with the test-side decoder (tests/ddr_layout.py),
track overflow, extents, reels, size and device checks."""

from __future__ import annotations

import hashlib
import os

import pytest
from ddr_layout import Rec, decode_dump, decode_header, track_records

from spoolkit import Track, create_dasd, open_dasd
from spoolkit.dasd.track import Record
from spoolkit.ddr import Dump, dump, restore
from spoolkit.ddr.devices import max_records
from spoolkit.errors import ExistsError, InvalidArgumentError
from spoolkit.tape import open_tape

SMALL = ["vm14-3.cckd", "cms/gcccms_201.cckd", "cms/cmsuser_191.cckd",
         "hercules-tests/3330.cckd64"]
BIG = ["vm50u1.cckd", "hercules-tests/3380.cckd64", "hercules-tests/3390.cckd64",
       "hercules-tests/CCWILS.3390-1.comp-z"]


def images(path, lo=0, hi=None):
    with open_dasd(path) as dev:
        return [t.image for t in dev.tracks(lo, hi)]


def blocks_of(tape_path):
    """Every block of a tape image, None for a tapemark (read by the tape layer)."""
    with open_tape(tape_path) as t:
        return [None if b.is_tapemark else b.data for b in t]


def digest(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def round_trip(fixtures, tmp_path, name, ext):
    src = fixtures / name
    tape = tmp_path / f"dump.{ext}"
    info = dump(src, tape)
    out = tmp_path / "restored.ckd"
    res = restore(tape, out)
    with open_dasd(src) as a, open_dasd(out) as b:
        assert (a.devtype, a.cylinders, a.heads) == (b.devtype, b.cylinders, b.heads)
        assert info["tracks"] == res["tracks"] == a.cylinders * a.heads
    assert images(out) == images(src)


@pytest.mark.parametrize("ext", ["aws", "het"])
@pytest.mark.parametrize("name", SMALL)
def test_fixture_volumes_round_trip(fixtures, tmp_path, name, ext):
    round_trip(fixtures, tmp_path, name, ext)


@pytest.mark.slow
@pytest.mark.parametrize("ext", ["aws", "het", "fkt"])
@pytest.mark.parametrize("name", BIG)
def test_big_fixture_volumes_round_trip(fixtures, tmp_path, name, ext):
    round_trip(fixtures, tmp_path, name, ext)


def test_fakestape_round_trip(fixtures, tmp_path):
    round_trip(fixtures, tmp_path, "vm14-3.cckd", "fkt")


def check_against_volume(src, tape_path):
    """Decode the tape with the test-side decoder and compare every field
    with the source volume's tracks (parsed here, too)."""
    blocks = blocks_of(tape_path)
    hdr, tracks, end = decode_dump(blocks)
    with open_dasd(src) as dev:
        vol_tracks = list(dev.tracks())
        assert (hdr.cc, hdr.hh) == (0, 0)
        assert hdr.cyla == dev.cylinders - 1 and hdr.mtck == dev.heads - 1
        assert hdr.mrec == max_records(dev.device)
        r3 = [r for r in vol_tracks[0].records if r.r == 3]
        assert hdr.volser == (bytes(r3[0].data[4:10]).decode("cp037").rstrip() if r3 else "")
        assert end.kind == "EOJ" and (end.cc, end.hh) == (dev.cylinders - 1, dev.heads - 1)
        assert len(tracks) == len(vol_tracks)
        for trk, t in zip(tracks, vol_tracks):
            assert (trk.cyl, trk.head, trk.haflag) == (t.cyl, t.head, 0)
            r0, recs = track_records(t.image)
            assert trk.r0count + trk.r0data == r0
            assert trk.ndrd == len(recs)
            assert trk.recs == [r for r, _ in recs]
            assert trk.special == (bool(recs) and recs[-1][1])
    return hdr, tracks


def test_written_records_decode_field_by_field(fixtures, tmp_path):
    tape = tmp_path / "v.aws"
    dump(fixtures / "vm14-3.cckd", tape)
    hdr, tracks = check_against_volume(fixtures / "vm14-3.cckd", tape)
    assert hdr.mrec == 75 and hdr.volser == "VM14-3"      # DMKDDR's 2314 table row


def overflow_volume(path, cyls=2):
    """A 2314 with multi-record tracks, some ending with a track-overflow segment."""
    with create_dasd(path, "2314", volser="OVF001", cylinders=cyls) as dev:
        for cyl in range(cyls):
            for head in range(dev.heads):
                if cyl == 0 and head == 0:
                    continue
                n = 1 + (cyl * 7 + head) % 4
                recs = []
                for r in range(1, n + 1):
                    key = b"K%02d" % r if r % 2 else b""
                    data = bytes([(cyl + head + r) & 0xFF]) * (700 + 150 * r)
                    last = r == n and head % 3 == 1
                    recs.append(Record(cyl, head, r, memoryview(key), memoryview(data),
                                       overflow=last))
                dev.write_track(cyl, head, Track.from_records(cyl, head, recs))
        dev.write_track(0, 1, Track.from_records(0, 1, [(1, b"", b"")]))   # an EOF record
    return path


def test_track_overflow_round_trips_with_special(tmp_path):
    src = overflow_volume(tmp_path / "ovf.ckd")
    tape = tmp_path / "ovf.aws"
    dump(src, tape)
    _, tracks = check_against_volume(src, tape)
    special = [t for t in tracks if t.special]
    assert len(special) == 2 * 20 // 3 and all(t.head % 3 == 1 for t in special)
    for t in special:      # the tape carries the overflow as THRFLAG only
        assert all(r.cc < 0x8000 for r in t.recs)
    out = tmp_path / "back.ckd"
    restore(tape, out)
    assert images(out) == images(src)
    with open_dasd(out) as dev:
        assert dev.read_track(0, 4).records[-1].overflow


def test_multi_block_tracks_cut_as_dmkddr(tmp_path):
    src = tmp_path / "big.3390"
    with create_dasd(src, "3390", volser="BIG001", cylinders=1) as dev:
        sizes = {1: [56664], 2: [4096 - 40], 3: [4000, 4000, 4000], 4: [10], 5: [4096 - 30]}
        for head, ds in sizes.items():
            recs = [(r + 1, b"", bytes([r + 1]) * d) for r, d in enumerate(ds)]
            dev.write_track(0, head, Track.from_records(0, head, recs))
    tape = tmp_path / "big.het"
    dump(src, tape)
    _, tracks = check_against_volume(src, tape)
    by_head = {t.head: t for t in tracks}
    # L = 32 + 8n + data
    assert by_head[1].block_lengths == [4096] * 13 + [(32 + 8 + 56664) % 4096]
    assert by_head[2].block_lengths == [4096] and by_head[2].drl == 0    # L = 4096 exactly
    assert by_head[5].block_lengths == [4096, 80]     # 10 bytes left: a block of 80
    assert by_head[3].block_lengths == [4096, 4096, 32 + 24 + 12000 - 8192]
    assert by_head[4].block_lengths == [80]                   # a short track: one 80-byte block
    assert by_head[6].block_lengths == [80]                   # R0 only
    out = tmp_path / "big2.3390"
    restore(tape, out)
    assert images(out) == images(src)


def test_several_extents_and_restore_with_reorder(fixtures, tmp_path):
    src = fixtures / "vm14-3.cckd"
    tape = tmp_path / "ext.aws"
    info = dump(src, tape, [(0, 1), (5, 7), (100, 100)])
    assert info["tracks"] == 6 * 20
    s = Dump([str(tape)]).summary()
    assert [(e.first_cyl, e.last_cyl) for e in s.extents] == [(0, 1), (5, 7), (100, 100)]
    # onto a new volume: the VHR's size; cylinders not dumped stay empty
    new = tmp_path / "new.ckd"
    restore(tape, new)
    with open_dasd(new) as dev, open_dasd(src) as a:
        assert dev.cylinders == a.cylinders
        for c in (0, 1, 5, 6, 7, 100):
            assert [t.image for t in dev.tracks(c, c)] == [t.image for t in a.tracks(c, c)]
        assert dev.read_track(3, 0).nrecs == 0
    # --cyl 5-6 --reorder 50 onto an existing volume
    dst = tmp_path / "dst.ckd"
    create_dasd(dst, "2314", volser="DST001", cylinders=203).close()
    before = images(dst)
    res = restore(tape, dst, cyl=(5, 6), reorder=50)
    assert res["tracks"] == 40
    after = images(dst)
    moved = images(src, 5, 6)
    for i, img in enumerate(after):
        cyl, head = divmod(i, 20)
        if 50 <= cyl <= 51:
            got = bytearray(img)
            want = bytearray(moved[(cyl - 50) * 20 + head])
            # DDR relocates the home address (and on a 2314 writes R0 as dumped);
            # record count fields keep their dumped CCHH
            assert got[1:5] == bytes([0, cyl, 0, head])
            assert got[5:] == want[5:]
        else:
            assert img == before[i]


def test_reels_eov_and_next_reel(fixtures, tmp_path):
    src = fixtures / "cms/cmsuser_191.cckd"
    tape = tmp_path / "reel.aws"
    info = dump(src, tape, reel_size=12 << 20)
    reels = info["reels"]
    assert len(reels) >= 4 and reels[1] == str(tmp_path / "reel.2.aws")
    hdrs = []
    prev_end = None
    for i, path in enumerate(reels):
        assert os.path.getsize(path) <= 12 << 20
        hdr, tracks, end = decode_dump(blocks_of(path))
        hdrs.append(hdr)
        assert end.kind == ("EOJ" if i == len(reels) - 1 else "EOV")
        if i:
            assert (hdr.cc, hdr.hh) == (tracks[0].cyl, tracks[0].head) == prev_end
        if end.kind == "EOV":
            prev_end = (end.cc, end.hh)
    assert len({h.clock for h in hdrs}) == 1
    out = tmp_path / "back.ckd"
    restore(reels, out)
    assert images(out) == images(src)
    out2 = tmp_path / "back2.ckd"
    restore(tape, out2)           # the next reels found by their names
    assert images(out2) == images(src)


def test_restore_refuses_smaller_volume_and_other_device(fixtures, tmp_path):
    tape = tmp_path / "v.aws"
    dump(fixtures / "vm14-3.cckd", tape)
    small = tmp_path / "small.ckd"
    create_dasd(small, "2314", volser="SMALL1", cylinders=50).close()
    other = tmp_path / "other.3350"
    create_dasd(other, "3350", volser="OTHER1", cylinders=5).close()
    sums = {p: digest(p) for p in (small, other)}
    with pytest.raises(InvalidArgumentError, match="has 50 cylinders") as e:
        restore(tape, small)
    assert e.value.track == (50, 0)
    with pytest.raises(InvalidArgumentError, match="20 heads, the volume is a 3350-1 with 30"):
        restore(tape, other)
    t3380 = tmp_path / "3380.aws"
    dump(fixtures / "hercules-tests/3380.cckd64", t3380, [(0, 0)])
    v3390 = tmp_path / "v.3390"
    create_dasd(v3390, "3390", volser="V3390", cylinders=2).close()
    before = digest(v3390)
    with pytest.raises(InvalidArgumentError, match="the dump is of a 3380, the volume is a 3390"):
        restore(t3380, v3390)
    assert digest(v3390) == before
    with pytest.raises(InvalidArgumentError, match="a 3390"):
        restore(t3380, tmp_path / "new.3390", device="3390")
    assert not (tmp_path / "new.3390").exists()
    assert {p: digest(p) for p in (small, other)} == sums
    # a part that fits is restored
    assert restore(tape, small, cyl=(0, 49))["tracks"] == 50 * 20


def test_dump_refuses_existing_tape(fixtures, tmp_path):
    tape = tmp_path / "t.aws"
    tape.write_bytes(b"keep")
    with pytest.raises(ExistsError):
        dump(fixtures / "cms/gcccms_201.cckd", tape)
    assert tape.read_bytes() == b"keep"
    dump(fixtures / "cms/gcccms_201.cckd", tape, overwrite=True)
    assert decode_header(blocks_of(tape)[0]).volser == "GCC201"


def test_decoder_sees_documented_rec_layout():
    # the test-side decoder's own example: THR of a 2-record track
    from ddr_layout import thr_buffer
    buf = thr_buffer(3, 4, [Rec(3, 4, 1, b"AB", b"x" * 10), Rec(3, 4, 2, b"", b"")])
    assert len(buf) == 80 and buf[4:10] == bytes([0, 2, 0, 0, 0, 80])
