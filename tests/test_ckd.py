"""Plain CKD images: create like dasdinit, TRACKREAD / TRACKWRITE, split
volumes, bad input — checked against Hercules 3.13's own tools."""

import os
import struct

import pytest

import spoolkit
from spoolkit import Track, create_dasd, open_dasd
from spoolkit.dasd.ckd import CKDImage, split_name
from spoolkit.errors import (
    AddressError,
    CapacityError,
    FormatError,
    ReadOnlyError,
    TruncatedError,
)

E = "cp037"


def slot_image(path, trk, trksize):
    """Independent reader: the bytes of a slot up to and including EOT."""
    with open(path, "rb") as f:
        f.seek(512 + trk * trksize)
        slot = f.read(trksize)
    off = 5
    while slot[off:off + 8] != b"\xff" * 8:
        off += 8 + slot[off + 5] + struct.unpack(">H", slot[off + 6:off + 8])[0]
    return slot[:off + 8]


@pytest.mark.hercules
@pytest.mark.parametrize("devtype,cyls", [("3390", 4), ("3380", 3), ("3350", 2)])
def test_create_equals_dasdinit(tmp_path, herc, devtype, cyls):
    theirs = tmp_path / f"h.{devtype}"
    herc("dasdinit", "-lfs", theirs, devtype, "VOL001", cyls)
    ours = tmp_path / f"s.{devtype}"
    with create_dasd(ours, devtype, volser="VOL001", cylinders=cyls):
        pass
    assert ours.read_bytes() == theirs.read_bytes()


@pytest.mark.hercules
@pytest.mark.parametrize("devtype,heads,trksize", [("3390", 15, 56832), ("3380", 15, 47616),
                                                   ("3350", 30, 19456)])
def test_reads_dasdinit_volume(tmp_path, herc, devtype, heads, trksize):
    path = tmp_path / f"h.{devtype}"
    herc("dasdinit", "-lfs", path, devtype, "HERC01", 3)
    with open_dasd(path) as dev:
        assert (dev.devtype, dev.cylinders, dev.heads, dev.track_size) == \
            (devtype, 3, heads, trksize)
        assert dev.volser == "HERC01"
        t0 = dev.read_track(0, 0)
        assert [(r.r, bytes(r.key).decode(E), r.dl) for r in t0.records] == \
            [(1, "IPL1", 24), (2, "IPL2", 144), (3, "VOL1", 80)]
        vol1 = bytes(t0.records[2].data)
        assert vol1[:10].decode(E) == "VOL1HERC01"
        assert vol1[41:49].decode(E) == "HERCULES"
        for t in dev.tracks():
            assert t.image == slot_image(path, t.cyl * heads + t.head, trksize)
            if (t.cyl, t.head) != (0, 0):
                assert t.nrecs == 0 and len(t) == 29


@pytest.mark.hercules
def test_spoolkit_volume_accepted_by_hercules(tmp_path, herc):
    path = tmp_path / "sk.3390"
    with create_dasd(path, "3390", volser="SKVOL1", cylinders=5) as dev:
        for head in range(15):
            recs = [(r, b"", bytes([r, head]) * 2048) for r in range(1, 13)]
            dev.write_track(2, head, Track.from_records(2, head, recs))
        dev.write_track(3, 0, Track.from_records(3, 0, [(r, b"", b"C" * 80)
                                                      for r in range(1, 79)]))
    # dasdls opens it; like on a dasdinit volume, it finds no VTOC to list
    ours = herc("dasdls", path)
    ref = tmp_path / "ref.3390"
    herc("dasdinit", "-lfs", ref, "3390", "SKVOL1", 5)
    theirs = herc("dasdls", ref)
    assert ours.returncode == theirs.returncode == 0
    assert ours.stderr.replace(str(path), "X") == theirs.stderr.replace(str(ref), "X")
    cckd = tmp_path / "sk.cckd"
    herc("dasdcopy", "-q", "-z", path, cckd)
    chk = herc("cckdcdsk", "-3", cckd, check=False)
    assert chk.returncode == 0, chk.stdout + chk.stderr
    back = tmp_path / "back.3390"
    herc("dasdcopy", "-q", cckd, back)
    with open_dasd(path) as a, open_dasd(back) as b:
        for ta, tb in zip(a.tracks(), b.tracks()):
            assert ta == tb


@pytest.mark.hercules
@pytest.mark.parametrize("name,model,volser", [("vm50u1.cckd", "3350-1", "VM50U1"),
                                               ("vm14-3.cckd", "2314-1", "VM14-3")])
def test_real_volumes_via_dasdcopy(tmp_path, herc, fixtures, name, model, volser):
    plain = tmp_path / "plain.ckd"
    herc("dasdcopy", "-q", fixtures / name, plain)
    with open_dasd(plain) as dev:
        assert dev.model == model
        assert dev.volser == volser
        listing = herc("dasdls", plain)
        if "VOLSER=" in listing.stdout:  # dasdls names the volser when it finds a VTOC
            assert f"VOLSER={volser}" in listing.stdout.replace(" ", "")
        else:
            assert "F4DSCB record not found" in listing.stderr
        nonempty = 0
        for t in dev.tracks():
            assert t.image == slot_image(plain, t.cyl * dev.heads + t.head, dev.track_size)
            nonempty += t.nrecs > 0
        stats = dev.scan()
    assert nonempty > 200
    assert stats.tracks == dev.total_tracks
    assert stats.records == sum(t.nrecs for t in open_dasd(plain).tracks())


def test_trackwrite_capacity_and_roundtrip(tmp_path):
    for devtype, n, dl in (("3390", 12, 4096), ("3380", 10, 4096), ("3350", 4, 4096),
                           ("3390", 78, 80)):
        path = tmp_path / f"c{devtype}{n}.img"
        with create_dasd(path, devtype, cylinders=2) as dev:
            ok = Track.from_records(1, 1, [(r, b"", bytes([r]) * dl) for r in range(1, n + 1)])
            dev.write_track(1, 1, ok)
            assert dev.read_track(1, 1) == ok
            too_many = [(r, b"", bytes(dl)) for r in range(1, n + 2)]
            with pytest.raises(CapacityError) as exc:
                dev.write_track(1, 2, Track.from_records(1, 2, too_many))
            assert exc.value.track == (1, 2) and exc.value.path == str(path)
            # raw bytes work as TRACKWRITE input too
            dev.write_track(1, 3, ok.image.replace(b"\x00\x01\x00\x01", b"\x00\x01\x00\x03"))
            assert dev.read_track(1, 3).nrecs == n


def test_rewrite_shorter_leaves_no_stale_bytes(tmp_path):
    path = tmp_path / "s.3390"
    with create_dasd(path, "3390", cylinders=1) as dev:
        dev.write_track(0, 5, Track.from_records(0, 5, [(1, b"", b"\x55" * 50000)]))
        dev.write_track(0, 5, Track.null(0, 5))
    slot = path.read_bytes()[512 + 5 * 56832:512 + 6 * 56832]
    assert slot[29:] == bytes(56832 - 29)


def test_trackwrite_structure_checks(tmp_path):
    path = tmp_path / "v.3390"
    with create_dasd(path, "3390", cylinders=2) as dev:
        good = Track.from_records(1, 0, [(1, b"", b"x")])
        with pytest.raises(FormatError, match="home address"):
            dev.write_track(1, 1, good)
        bad_r0 = bytearray(good.image)
        bad_r0[5 + 7] = 9  # R0 DL 9
        with pytest.raises(FormatError):
            dev.write_track(1, 0, bytes(bad_r0))
        # record numbers need not ascend (CP paging tracks interleave them); R0 is
        # not a data record
        interleaved = Track.from_records(1, 0, [(5, b"", b"a"), (133, b"", b"b"),
                                                (6, b"", b"c"), (5, b"", b"d")])
        dev.write_track(1, 0, interleaved)
        assert dev.read_track(1, 0).image == interleaved.image
        with pytest.raises(FormatError, match="record number 0"):
            dev.write_track(1, 0, Track.from_records(1, 0, [(1, b"", b"a"), (0, b"", b"b")]))
        with pytest.raises(AddressError):
            dev.read_track(2, 0)
        with pytest.raises(AddressError):
            dev.write_track(0, 15, good)
    with open_dasd(path) as dev, pytest.raises(ReadOnlyError):
        dev.write_track(1, 0, good)


def test_split_volume_like_dasdinit(tmp_path, herc):
    theirs = tmp_path / "h.3390"
    herc("dasdinit", theirs, "3390", "SPLIT1", 2600)
    ours = tmp_path / "s.3390"
    dev = create_dasd(ours, "3390", volser="SPLIT1", cylinders=2600)
    assert [os.path.basename(f) for f in dev.files] == ["s_1.3390", "s_2.3390"]
    dev.write_track(2599, 14, Track.from_records(2599, 14, [(1, b"", b"end")]))
    dev.write_track(2518, 14, Track.from_records(2518, 14, [(1, b"", b"mid")]))
    dev.close()
    for k in (1, 2):
        a = (tmp_path / f"h_{k}.3390")
        b = (tmp_path / f"s_{k}.3390")
        assert a.stat().st_size == b.stat().st_size
        with open(a, "rb") as fa, open(b, "rb") as fb:
            assert fa.read(512 + 56832) == fb.read(512 + 56832)  # header (fileseq, highcyl)
    # either set opens by its base name too, as dasdls opens it
    with open_dasd(tmp_path / "h.3390") as h, open_dasd(tmp_path / "s.3390") as s:
        assert [len(h.files), len(s.files)] == [2, 2]
    with open_dasd(tmp_path / "h_1.3390") as h, open_dasd(tmp_path / "s_1.3390") as s:
        assert (h.cylinders, h.volser, s.cylinders, s.volser) == (2600, "SPLIT1", 2600, "SPLIT1")
        assert bytes(s.read_track(2599, 14).records[0].data) == b"end"
        assert bytes(s.read_track(2518, 14).records[0].data) == b"mid"
        assert h.read_track(2519, 0) == s.read_track(2519, 0)
        assert h.scan().tracks == 39000
    assert split_name(str(tmp_path / "s_1.3390"), 11) == str(tmp_path / "s_B.3390")


# -- bad input -----------------------------------------------------------------
def _small(tmp_path):
    path = tmp_path / "b.3390"
    create_dasd(path, "3390", cylinders=1).close()
    return path


def test_truncated_file(tmp_path):
    path = _small(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-100])
    with pytest.raises(TruncatedError, match="whole cylinders"):
        open_dasd(path)
    path.write_bytes(data[:300])
    with pytest.raises(TruncatedError):
        open_dasd(path)


def test_wrong_magic_and_header_fields(tmp_path):
    path = _small(tmp_path)
    data = bytearray(path.read_bytes())
    path.write_bytes(b"NOTADISK" + data[8:])
    with pytest.raises(FormatError, match="unknown disk image format"):
        open_dasd(path)
    bad = bytearray(data)
    bad[8:12] = struct.pack("<I", 0)
    path.write_bytes(bad)
    with pytest.raises(FormatError, match="heads"):
        open_dasd(path)
    bad = bytearray(data)
    bad[12:16] = struct.pack("<I", 47616)
    path.write_bytes(bad)
    with pytest.raises(FormatError):
        open_dasd(path)
    bad = bytearray(data)
    bad[17] = 3
    path.write_bytes(bad)
    with pytest.raises(FormatError, match="file 3 of a split volume"):
        open_dasd(path)


@pytest.mark.parametrize("damage", ["dl", "eot", "ha"])
def test_damaged_track_names_file_and_track(tmp_path, damage):
    path = _small(tmp_path)
    with open_dasd(path, "r+") as dev:
        dev.write_track(0, 7, Track.from_records(0, 7, [(1, b"", b"q" * 100)]))
    data = bytearray(path.read_bytes())
    slot = 512 + 7 * 56832
    if damage == "dl":
        data[slot + 21 + 6:slot + 21 + 8] = struct.pack(">H", 60000)
    elif damage == "eot":
        data[slot + 137:slot + 56832] = b"\x00" * (56832 - 137)
        data[slot + 21 + 6:slot + 21 + 8] = struct.pack(">H", 56832 - 37)
    else:
        data[slot + 3:slot + 5] = b"\x00\x09"
    path.write_bytes(data)
    with open_dasd(path) as dev:
        with pytest.raises(FormatError) as exc:
            dev.read_track(0, 7)
        assert exc.value.path == str(path) and exc.value.track == (0, 7)
        with pytest.raises(FormatError) as exc:
            dev.scan()
        assert exc.value.track == (0, 7)
        assert f"{path}, track 0/7" in str(exc.value)
        dev.read_track(0, 6)  # neighbours still read


def test_context_manager_and_close(tmp_path):
    path = _small(tmp_path)
    dev = open_dasd(path)
    assert isinstance(dev, CKDImage)
    dev.close()
    with pytest.raises(spoolkit.SpoolkitError, match="closed"):
        dev.read_track(0, 0)


def test_ckd_p064_same_layout(tmp_path):
    from spoolkit.dasd.ckd import create_ckd
    from spoolkit.geometry import lookup_ckd

    names = create_ckd(tmp_path / "v.ckd64", lookup_ckd("3390"), 2, "P64VOL", devid="CKD_P064")
    assert open(names[0], "rb").read(8) == b"CKD_P064"
    with open_dasd(names[0], "r+") as dev:
        assert dev.devid == "CKD_P064" and dev.volser == "P64VOL"
        t = Track.from_records(1, 1, [(1, b"", b"x" * 500)])
        dev.write_track(1, 1, t)
        assert dev.read_track(1, 1) == t
