"""Compressed CKD (CCKD, CCKD64, shadows): real images, Hercules interop, updates."""

from __future__ import annotations

import re
import shutil
import struct

import pytest

import spoolkit
from spoolkit.dasd import CCKDImage, open_dasd
from spoolkit.dasd.cckd import shadow_name
from spoolkit.dasd.sample import fill_volume
from spoolkit.dasd.track import Track
from spoolkit.errors import ReadOnlyError

HERC_PROBLEM = re.compile(r"HHCCU\d+[WE]")


def same_tracks(a, b) -> int:
    """Number of tracks whose images (HA..EOT) differ between two open images."""
    assert (a.cylinders, a.heads) == (b.cylinders, b.heads)
    return sum(1 for trk in range(a.total_tracks)
               if a.read_track(*divmod(trk, a.heads)).image
               != b.read_track(*divmod(trk, a.heads)).image)


def cdsk_clean(herc, path, tmp_path) -> str:
    """cckdcdsk -3 on a copy (it repairs in place); asserts it found nothing."""
    copy = tmp_path / ("cdsk-" + path.name)
    shutil.copy(path, copy)
    out = herc("cckdcdsk", "-3", copy)
    text = out.stdout + out.stderr
    assert not HERC_PROBLEM.search(text), text
    assert copy.read_bytes() == path.read_bytes(), "cckdcdsk changed (repaired) the file"
    return text


@pytest.mark.hercules
@pytest.mark.parametrize("name", ["vm14-3.cckd", "vm50u1.cckd",
                                  "hercules-tests/CCWILS.3390-1.comp-z"])
def test_fixture_decodes_like_dasdcopy(fixtures, herc, tmp_path, name):
    src = fixtures / name
    plain = tmp_path / "plain.ckd"
    herc("dasdcopy", "-o", "ckd", src, plain)
    with open_dasd(src) as c, open_dasd(plain) as p:
        assert isinstance(c, CCKDImage)
        assert c.info()["format"] == "CCKD"
        assert same_tracks(c, p) == 0
        stats = c.scan()
        assert stats.tracks == c.total_tracks
        assert stats.records > 0
        volser = c.volser
    assert volser
    ls = herc("dasdls", src, check=False).stdout
    m = re.search(r"VOLSER=(\S+)", ls)
    if m:  # dasdls names the volser only when it finds a VTOC
        assert m.group(1) == volser
    assert spoolkit.check_dasd(src, 3)["ok"]


@pytest.mark.hercules
def test_vm50u1_volser_matches_dasdls(fixtures, herc):
    ls = herc("dasdls", fixtures / "vm50u1.cckd").stdout
    with open_dasd(fixtures / "vm50u1.cckd") as d:
        assert f"VOLSER={d.volser}" in ls
        assert d.volser == "VM50U1"


@pytest.mark.parametrize("dev,cyls", [("3330", 411), ("3380", 886), ("3390", 1114)])
def test_cckd64_fixtures(fixtures, dev, cyls):
    path = fixtures / "hercules-tests" / f"{dev}.cckd64"
    with open_dasd(path) as d:
        assert d.info()["format"] == "CCKD64"
        assert d.devtype == dev and d.cylinders == cyls
        assert d.volser
        t0 = d.read_track(0, 0)
        assert [r.r for r in t0.records][:3] == [1, 2, 3]
        stats = d.scan()
    assert stats.tracks == cyls * d.heads
    report = spoolkit.check_dasd(path, 3)
    assert report["ok"], report
    if dev == "3390":  # the image with 47 real tracks and a FREE_BLK table
        assert report["stats"]["stored_tracks"] == 47
        assert report["stats"]["free_blocks"] == 2
        assert stats.records > 1000


@pytest.fixture
def volume(tmp_path):
    """A 20-cylinder 3390 with realistic content on many tracks (plain)."""
    path = tmp_path / "vol.3390"
    with spoolkit.create_dasd(path, "3390", "SPK001", cylinders=20) as d:
        assert fill_volume(d, seed=7) > 150
    return path


@pytest.mark.hercules
@pytest.mark.parametrize("method", ["zlib", "bzip2"])
def test_written_cckd_passes_cckdcdsk_and_expands_equal(herc, tmp_path, volume, method):
    out = tmp_path / f"vol.{method}.cckd"
    spoolkit.convert(volume, out, compress=method)
    assert out.stat().st_size < volume.stat().st_size // 5
    cdsk_clean(herc, out, tmp_path)
    ours = tmp_path / "ours.3390"
    spoolkit.convert(out, ours)
    assert ours.read_bytes() == volume.read_bytes()
    for tool in (("cckd2ckd", out, tmp_path / "h1.3390"),
                 ("dasdcopy", "-o", "ckd", out, tmp_path / "h2.3390")):
        herc(*map(str, tool))
        with open_dasd(tool[-1]) as h, open_dasd(ours) as o:
            assert same_tracks(o, h) == 0


@pytest.mark.hercules
def test_big_endian_input(herc, tmp_path, volume):
    le = tmp_path / "le.cckd"
    spoolkit.convert(volume, le, compress="zlib")
    be = tmp_path / "be.cckd"
    shutil.copy(le, be)
    herc("cckdswap", be)
    assert be.read_bytes()[512 + 3] & 2  # the big-endian option bit
    with open_dasd(be) as b, open_dasd(volume) as p:
        assert same_tracks(b, p) == 0
    again = tmp_path / "again.cckd"
    spoolkit.convert(be, again, compress="zlib")
    assert again.read_bytes() == le.read_bytes()  # written little-endian, bit clear
    # an update open rewrites the metadata little-endian
    with open_dasd(be, "r+") as b:
        b.write_track(5, 5, Track.from_records(5, 5, [(1, b"K", b"d" * 900)]))
    assert not be.read_bytes()[512 + 3] & 2
    cdsk_clean(herc, be, tmp_path)
    with open_dasd(be) as b:
        assert b.read_track(5, 5).records[0].dl == 900
        assert b.read_track(6, 0) == open_dasd(volume).read_track(6, 0)


@pytest.mark.parametrize("devtype", ["3390", "3380", "3350"])
def test_round_trip_plain_cckd_plain(tmp_path, devtype):
    plain = tmp_path / f"v.{devtype}"
    with spoolkit.create_dasd(plain, devtype, "RT0001", cylinders=12) as d:
        assert fill_volume(d, seed=11) > 50
    for kw in ({"compress": "zlib"}, {"compress": "bzip2"}, {"cckd64": True}):
        c = tmp_path / "v.cckd"
        back = tmp_path / "back.img"
        spoolkit.convert(plain, c, **kw, workers=2, overwrite=True)
        spoolkit.convert(c, back, overwrite=True)
        assert back.read_bytes() == plain.read_bytes(), kw


@pytest.mark.hercules
def test_updates_keep_header_exact(herc, tmp_path):
    c = tmp_path / "u.cckd"
    p = tmp_path / "u.3390"
    cimg = spoolkit.create_dasd(c, "3390", "UPD001", cylinders=20, compress="zlib")
    pimg = spoolkit.create_dasd(p, "3390", "UPD001", cylinders=20)
    assert c.read_bytes()[512 + 3] & 0x80  # OPENED while open for update
    for img in (cimg, pimg):
        fill_volume(img, seed=3)
        fill_volume(img, seed=4, fraction=0.5)  # rewrites free the old space
        img.write_track(2, 3, Track.null(2, 3, 0))
    cimg.close()
    pimg.close()
    assert not c.read_bytes()[512 + 3] & 0x80
    report = spoolkit.check_dasd(c, 3)
    assert report["ok"], report
    assert report["stats"]["free_blocks"] > 0
    cdsk_clean(herc, c, tmp_path)
    with open_dasd(c) as a, open_dasd(p) as b:
        assert same_tracks(a, b) == 0
        assert a.read_track(2, 3).records[0].is_eof  # null format 0 kept


def test_null_track_with_r0_data_is_kept(tmp_path):
    """Hercules stores any 29/37-byte image as a null track and loses R0 data;
    spoolkit stores it as a real image (docs/formats.md)."""
    c = tmp_path / "n.cckd"
    with spoolkit.create_dasd(c, "3390", "NUL001", cylinders=2, compress="zlib") as d:
        t = Track.from_records(1, 2, [], r0=b"\x01\x02\x03\x04\x05\x06\x07\x08")
        assert len(t) == 29
        d.write_track(1, 2, t)
        d.write_track(1, 3, Track.null(1, 3, 1))
        f = d.files[0]
        assert f.l2[17].off != 0 and (f.l2[18].off, f.l2[18].len) == (0, 1)
    with open_dasd(c) as d:
        assert bytes(d.read_track(1, 2).r0.data) == b"\x01\x02\x03\x04\x05\x06\x07\x08"


def test_dasdinit_like_create(tmp_path, herc):
    ours = tmp_path / "ours.cckd"
    spoolkit.create_dasd(ours, "3390", "ABC123", cylinders=30, compress="zlib").close()
    theirs = tmp_path / "theirs.cckd"
    herc("dasdinit", "-z", theirs, "3390", "ABC123", "30")
    with open_dasd(ours) as a, open_dasd(theirs) as b:
        assert a.volser == b.volser == "ABC123"
        for trk in range(a.total_tracks):
            ta, tb = (x.read_track(*divmod(trk, 15)) for x in (a, b))
            if 2 <= trk < 256:
                # dasdinit -z leaves L2 #0 zero: those tracks read as null
                # format 0 (R0 + EOF); ours are the volume's null format 1
                assert tb.image[:21] == ta.image[:21] and tb.records[0].is_eof
                assert ta.nrecs == 0
            else:
                assert ta == tb, trk
    cdsk_clean(herc, ours, tmp_path)


def test_shadows(tmp_path, volume):
    base = tmp_path / "base.cckd"
    spoolkit.convert(volume, base, compress="zlib")
    before = base.read_bytes()
    sf = str(tmp_path / "sh_*.cckd")
    assert shadow_name(sf, 1).endswith("sh_1.cckd")
    with open_dasd(base, "r+", sf=sf) as d:
        assert d.info()["shadows"] == [shadow_name(sf, 1)]
        d.write_track(3, 3, Track.from_records(3, 3, [(1, b"", b"shadow" * 100)]))
        d.write_track(4, 0, Track.null(4, 0, 1))
    assert base.read_bytes() == before  # the base is never written
    assert open(shadow_name(sf, 1), "rb").read(8) == b"CKD_S370"
    with open_dasd(base, sf=sf) as d, open_dasd(volume) as p:
        assert d.read_track(3, 3).records[0].dl == 600
        assert d.read_track(4, 0).nrecs == 0
        assert d.read_track(5, 0) == p.read_track(5, 0)
        with pytest.raises(ReadOnlyError):
            d.write_track(5, 0, Track.null(5, 0))
    assert spoolkit.check_dasd(shadow_name(sf, 1), 3)["ok"]
    merged = tmp_path / "merged.3390"
    spoolkit.convert(base, merged, sf=sf)
    with open_dasd(merged) as m:
        assert m.read_track(3, 3).records[0].dl == 600
        assert m.read_track(4, 0).nrecs == 0


def test_header_fields_both_layouts(tmp_path, volume):
    for cckd64, fmt in ((False, "<3sBiiIIIIIiII"), (True, "<3sBiiIQQQQQqQ")):
        out = tmp_path / f"h{int(cckd64)}.cckd"
        spoolkit.convert(volume, out, compress="zlib", cckd64=cckd64)
        raw = out.read_bytes()
        f = struct.unpack_from(fmt, raw, 512)
        assert f[0] == b"\x00\x03\x01" and f[3] == 256
        size = len(raw)
        if cckd64:
            cyls, fsize, used = f[4], f[5], f[6]
        else:
            fsize, used, cyls = f[4], f[5], struct.unpack_from("<I", raw, 552)[0]
        assert (cyls, fsize, used) == (20, size, size)
        assert raw[:8] == (b"CKD_C064" if cckd64 else b"CKD_C370")


def test_opened_bit_refused_then_repaired(tmp_path, volume):
    c = tmp_path / "o.cckd"
    spoolkit.convert(volume, c, compress="zlib")
    raw = bytearray(c.read_bytes())
    raw[512 + 3] |= 0x80  # as left by a crash
    c.write_bytes(bytes(raw))
    with open_dasd(c) as d:  # reading is fine
        assert d.volser == "SPK001"
    with pytest.raises(spoolkit.FormatError, match="not closed cleanly"):
        open_dasd(c, "r+")
    rep = spoolkit.check_dasd(c, 3)
    assert rep["ok"] and rep["warnings"][0]["kind"] == "opened"
    rep = spoolkit.check_dasd(c, 1, repair=True)
    assert rep["repaired"]
    assert not c.read_bytes()[512 + 3] & 0x80
    with open_dasd(c, "r+") as d:
        d.write_track(0, 5, Track.null(0, 5, 0))


def test_cckd_4gb_limit(tmp_path):
    from spoolkit.dasd.cckd import CompressedFile
    from spoolkit.errors import NoSpaceError
    c = tmp_path / "l.cckd"
    spoolkit.create_dasd(c, "3390", "LIM001", cylinders=2, compress="zlib").close()
    f = CompressedFile(str(c), True, 0)
    try:
        f.hdr.size = 0xFFFFFF00  # pretend the file is nearly 4 GB
        with pytest.raises(NoSpaceError, match="CCKD64"):
            f.get_space(1000)
        f.hdr.size = c.stat().st_size
    finally:
        f.close()
    assert spoolkit.check_dasd(c, 3)["ok"]


@pytest.mark.hercules
def test_free_space_reused_across_sessions(herc, tmp_path):
    c = tmp_path / "r.cckd"
    p = tmp_path / "r.3390"
    spoolkit.create_dasd(c, "3390", "REUSE1", cylinders=40, compress="zlib").close()
    spoolkit.create_dasd(p, "3390", "REUSE1", cylinders=40).close()
    sizes = []
    for seed in range(4):  # each session frees what the previous one wrote
        for path in (c, p):
            with open_dasd(path, "r+") as d:
                fill_volume(d, seed=seed, fraction=0.4 + 0.1 * seed)
        report = spoolkit.check_dasd(c, 3)
        assert report["ok"], report
        sizes.append(c.stat().st_size)
    assert report["stats"]["imbedded"] >= 0 and report["stats"]["unaccounted"] == 0
    assert sizes[3] < 2 * sizes[1]  # space is reused, the file does not just grow
    cdsk_clean(herc, c, tmp_path)
    with open_dasd(c) as a, open_dasd(p) as b:
        assert same_tracks(a, b) == 0
