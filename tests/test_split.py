"""Split plain CKD volumes by their base name, as Hercules' utilities open
them (``dasdls vol.3390`` for ``vol_1.3390``, ``vol_2.3390``): API, CLI,
conversion outputs, sizes and messages of the whole set."""

from __future__ import annotations

import json
import os

import pytest

import spoolkit
from spoolkit import Track, open_dasd
from spoolkit.cli import main
from spoolkit.dasd import CKDImage, ckd, ddr, read_devheader
from spoolkit.dasd.check import check_dasd
from spoolkit.dasd.split import family, first_split_name, locate, split_name
from spoolkit.errors import FormatError, InvalidArgumentError

HERE = os.sep


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def small_split(monkeypatch):
    """Split plain volumes at 2 cylinders of a 3380 instead of at 2 GB."""
    monkeypatch.setattr(ckd, "SPLIT_LIMIT", 512 + 2 * 15 * 47616)


# -- names, as dasdutil.c open_ckd_image and ckddasd.c make them ---------------
@pytest.mark.parametrize("base, first, second, tenth", [
    ("vol.3390", "vol_1.3390", "vol_2.3390", "vol_A.3390"),
    ("d/vol.3390", "d/vol_1.3390", "d/vol_2.3390", "d/vol_A.3390"),
    ("vol.a.b", "vol_1.a.b", "vol_2.a.b", "vol_A.a.b"),          # first dot
    ("vol_x.3390", "vol_1.3390", "vol_2.3390", "vol_A.3390"),    # "_c" is the place
    ("vol_1.3390", "vol_1.3390", "vol_2.3390", "vol_A.3390"),
    ("vol", "vol_1", "vol_2", "vol_A"),                          # no dot: appended
    ("vo_x", "vo_1", "vo_2", "vo_A"),                            # "_c" at the end
    ("vol_", "vol__1", "vol__2", "vol__A"),
    ("d.x/vol", "d.x/vol_1", "d.x/vol_2", "d.x/vol_A"),          # a dot in a directory
    ("_a.3390", "_a_1.3390", "_a_2.3390", "_a_A.3390"),          # i > 2 on the whole path
    ("d/_a.3390", "d/_1.3390", "d/_2.3390", "d/_A.3390"),
    ("d/.v.3390", "d/_1.v.3390", "d/_2.v.3390", "d/_A.v.3390"),
])
def test_split_names_follow_hercules(base, first, second, tenth):
    base, first, second, tenth = (s.replace("/", HERE) for s in (base, first, second, tenth))
    assert first_split_name(base) == first
    assert [split_name(first, k) for k in (1, 2, 10)] == [first, second, tenth]
    pos = next(i for i, (a, b) in enumerate(zip(first, tenth)) if a != b)
    assert split_name(first, 27) == first[:pos] + "R" + first[pos + 1:]
    fam = family(base)
    assert fam[0] == base and set(fam) == {base} | {split_name(first, k) for k in range(1, 28)}


def test_27_files_at_most():
    first = "v_1.3390"
    assert [split_name(first, k)[2] for k in range(1, 28)] == \
        list("123456789ABCDEFGHIJKLMNOPQR")
    with pytest.raises(ValueError):
        split_name(first, 28)


def test_locate_prefers_the_name_itself(tmp_path, small_split):
    spoolkit.create_dasd(tmp_path / "v.3380", "3380", cylinders=3).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v_1.3380", "v_2.3380"]
    assert locate(tmp_path / "v.3380") == str(tmp_path / "v_1.3380")
    # a file with the base name itself wins, as open() in Hercules does
    (tmp_path / "v.3380").write_bytes(b"x")
    assert locate(tmp_path / "v.3380") == str(tmp_path / "v.3380")
    # only a CKD image is taken for file 1
    (tmp_path / "w_1.fba").write_bytes(bytes(4096))
    assert locate(tmp_path / "w.fba") == str(tmp_path / "w.fba")
    assert locate(tmp_path / "nothing.3380") == str(tmp_path / "nothing.3380")


# -- the API by base name ----------------------------------------------------------
@pytest.fixture
def split_vol(tmp_path, small_split):
    """A 5-cylinder 3380 in three files (2+2+1 cylinders), a record on each file."""
    base = tmp_path / "vol.3380"
    with spoolkit.create_dasd(base, "3380", "SPL001", cylinders=5) as d:
        for cyl in (1, 3, 4):
            d.write_track(cyl, 14, Track.from_records(cyl, 14, [(1, b"", b"cyl%d" % cyl)]))
    return base


def test_open_by_base_name_reads_the_whole_set(split_vol):
    names = ["vol_1.3380", "vol_2.3380", "vol_3.3380"]
    for how in (split_vol, str(split_vol), split_vol.with_name("vol_1.3380")):
        with open_dasd(how) as d:
            assert [os.path.basename(f) for f in d.files] == names
            assert (d.cylinders, d.volser) == (5, "SPL001")
            assert [bytes(d.read_track(c, 14).records[0].data) for c in (1, 3, 4)] == \
                [b"cyl1", b"cyl3", b"cyl4"]
            info = d.info()
            assert info["files"] == d.files
            assert info["file_size"] == sum(os.path.getsize(f) for f in d.files)
    with CKDImage(split_vol) as d:
        assert d.cylinders == 5
    assert read_devheader(split_vol).fileseq == 1
    with open_dasd(split_vol, "r+") as d:      # written through the base name
        d.write_track(4, 0, Track.from_records(4, 0, [(1, b"", b"new")]))
    with open_dasd(split_vol.with_name("vol_1.3380")) as d:
        assert bytes(d.read_track(4, 0).records[0].data) == b"new"


def test_file_k_of_a_set_names_file_1(split_vol):
    with pytest.raises(FormatError, match=r"file 2 of a split volume; open file 1 \(.*vol_1"):
        open_dasd(split_vol.with_name("vol_2.3380"))


def test_check_by_base_name(split_vol):
    r = check_dasd(split_vol, 3)
    assert r["ok"] and r["stats"]["tracks"] == 75 and r["stats"]["records"] == 3 + 3
    assert [os.path.basename(f) for f in r["files"]] == ["vol_1.3380", "vol_2.3380",
                                                         "vol_3.3380"]
    # a damaged last file is found through the base name
    last = split_vol.with_name("vol_3.3380")
    data = bytearray(last.read_bytes())
    data[512 + 14 * 47616 + 27] = 0xFF     # the DL of R1 on cylinder 4 head 14
    last.write_bytes(data)
    r = check_dasd(split_vol, 1)
    assert not r["ok"] and r["errors"][0]["track"] == [4, 14]


def test_convert_from_and_to_base_names(split_vol, tmp_path):
    r = spoolkit.convert(split_vol, tmp_path / "c.cckd", compress="zlib")
    assert r["source"] == str(tmp_path / "vol_1.3380")
    assert [os.path.basename(f) for f in r["source_files"]] == ["vol_1.3380", "vol_2.3380",
                                                                "vol_3.3380"]
    assert r["files"] == [str(tmp_path / "c.cckd")]
    assert r["bytes_out"] == os.path.getsize(tmp_path / "c.cckd")
    # a plain output that splits reports all its files and their size together
    r = spoolkit.convert(tmp_path / "c.cckd", tmp_path / "p.3380")
    assert [os.path.basename(f) for f in r["files"]] == ["p_1.3380", "p_2.3380", "p_3.3380"]
    assert r["bytes_out"] == sum(os.path.getsize(f) for f in r["files"]) > 0
    with open_dasd(tmp_path / "p.3380") as a, open_dasd(split_vol) as b:
        assert all(a.read_track(c, h) == b.read_track(c, h) for c in range(5)
                   for h in range(15))


@pytest.mark.parametrize("src, dst, extra", [
    ("vol.3380", "vol_1.3380", {}),
    ("vol_1.3380", "vol.3380", {"lfs": True, "overwrite": True}),
    ("vol.3380", "vol_2.3380", {"overwrite": True}),
])
def test_convert_onto_its_own_set_is_refused(split_vol, tmp_path, src, dst, extra):
    before = sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir())
    with pytest.raises(InvalidArgumentError, match="same"):
        spoolkit.convert(tmp_path / src, tmp_path / dst, **extra)
    assert sorted((p.name, p.read_bytes()) for p in tmp_path.iterdir()) == before


def test_ddr_restore_onto_a_set_by_base_name(split_vol, tmp_path):
    tape = tmp_path / "v.aws"
    ddr.dump(split_vol, tape)
    with open_dasd(split_vol, "r+") as d:
        d.write_track(3, 14, Track.from_records(3, 14, [(1, b"", b"changed")]))
    info = ddr.restore(tape, split_vol)
    assert info["tracks"] == 75
    # restored onto the existing set: no single file appeared beside it
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("vol")) == \
        ["vol_1.3380", "vol_2.3380", "vol_3.3380"]
    with open_dasd(split_vol) as d:
        assert bytes(d.read_track(3, 14).records[0].data) == b"cyl3"


# -- the CLI by base name ------------------------------------------------------------
def test_cli_verbs_take_the_base_name(split_vol, tmp_path, capsys):
    rc, out, err = run(capsys, "dasd", "info", split_vol)
    assert rc == 0, err
    assert "vol_1.3380..vol_3.3380" in out and "SPL001" in out
    rc, out, _ = run(capsys, "dasd", "info", split_vol, "--json")
    info = json.loads(out)
    assert len(info["files"]) == 3 and info["file_size"] == sum(
        os.path.getsize(f) for f in info["files"])
    rc, out, _ = run(capsys, "dasd", "tracks", split_vol, "--cyl", "3-4", "--nonempty",
                     "--json")
    assert [(t["cyl"], t["head"]) for t in json.loads(out)] == [(3, 14), (4, 14)]
    rc, _, err = run(capsys, "dasd", "read", split_vol, 4, 14, "-o", tmp_path / "r.bin")
    assert rc == 0, err
    assert (tmp_path / "r.bin").read_bytes() == Track.from_records(4, 14, [(1, b"", b"cyl4")]).image
    img = tmp_path / "t.bin"
    img.write_bytes(Track.from_records(4, 1, [(1, b"", b"via cli")]).image)
    rc, _, err = run(capsys, "dasd", "write", split_vol, 4, 1, img)
    assert rc == 0, err
    rc, out, _ = run(capsys, "dasd", "check", split_vol, "--level", "3")
    assert rc == 0 and out.startswith(f"{tmp_path / 'vol_1.3380'}..vol_3.3380: OK")
    rc, out, err = run(capsys, "dasd", "copy", split_vol, tmp_path / "o.cckd", "-z")
    assert rc == 0, err
    assert out.startswith(f"{tmp_path / 'vol_1.3380'}..vol_3.3380 -> ")
    rc, out, err = run(capsys, "dasd", "copy", tmp_path / "o.cckd", tmp_path / "n.3380")
    assert rc == 0, err
    size = sum(os.path.getsize(tmp_path / f"n_{k}.3380") for k in (1, 2, 3))
    assert f"CKD, {size} bytes in 3 files" in out and "n_3.3380" in out
    rc, out, err = run(capsys, "dasd", "dump", split_vol, tmp_path / "d.aws")
    assert rc == 0, err


def test_cli_spool_verbs_take_the_base_name(tmp_path, capsys, small_split):
    one = tmp_path / "one.3380"
    rc, _, err = run(capsys, "spool", "format", one, "3380", "--volser", "SPOOL1",
                     "--cylinders", "5", "--drct", "1", "--spol", "2-4")
    assert rc == 0, err
    rc, _, err = run(capsys, "dasd", "copy", one, tmp_path / "sp.3380")
    assert rc == 0, err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("sp")) == \
        ["sp_1.3380", "sp_2.3380", "sp_3.3380"]
    text = tmp_path / "hello.txt"
    text.write_text("hello from a split volume\n")
    base = tmp_path / "sp.3380"
    rc, out, err = run(capsys, "spool", "add", base, text, "--type", "PRT")
    assert rc == 0, err
    rc, out, err = run(capsys, "spool", "list", base, "--json")
    assert rc == 0, err
    files = json.loads(out)
    files = files if isinstance(files, list) else files.get("files", files)
    spoolid = files[0]["spoolid"]
    rc, out, err = run(capsys, "spool", "get", base, spoolid, "--text")
    assert rc == 0 and "hello from a split volume" in out


def test_missing_set_says_no_such_file(tmp_path, capsys):
    rc, _, err = run(capsys, "dasd", "info", tmp_path / "none.3390")
    assert rc == 2 and "No such file" in err and "none.3390" in err


# -- Hercules: dasdls opens our sets by base name, we open dasdinit's ------------------
def _vtoc_in_file_2(dev, cyl: int) -> None:
    """A VTOC on cylinder ``cyl`` (in file 2): VOL1 points at a format-4 DSCB
    there, followed by one format-1 DSCB named SPLIT.TEST.DATA."""
    vol1 = bytearray(ckd.vol1_data(dev.volser))
    vol1[11:16] = cyl.to_bytes(2, "big") + (0).to_bytes(2, "big") + b"\x01"
    t0 = dev.read_track(0, 0)
    recs = [(r.r, bytes(r.key), bytes(r.data)) for r in t0.records]
    recs[2] = (3, recs[2][1], bytes(vol1))
    dev.write_track(0, 0, Track.from_records(0, 0, recs))
    f4 = bytearray(96)
    f4[0] = 0xF4
    f4[61:71] = b"\x01\x00" + cyl.to_bytes(2, "big") + b"\x00\x00" + cyl.to_bytes(2, "big") \
        + b"\x00\x00"
    f1 = bytearray(96)
    f1[0] = 0xF1
    dev.write_track(cyl, 0, Track.from_records(cyl, 0, [
        (1, b"\x04" * 44, bytes(f4)),
        (2, "SPLIT.TEST.DATA".ljust(44).encode("cp037"), bytes(f1))]))


def test_dasdls_opens_our_split_set_by_base_name(tmp_path, herc):
    base = tmp_path / "ours.3390"
    with spoolkit.create_dasd(base, "3390", "OURS01", cylinders=2520) as d:
        assert [os.path.basename(f) for f in d.files] == ["ours_1.3390", "ours_2.3390"]
        _vtoc_in_file_2(d, 2519)
    for name in (base, tmp_path / "ours_1.3390"):
        out = herc("dasdls", name)
        assert "SPLIT.TEST.DATA" in out.stdout, out.stdout + out.stderr
    # cckdcdsk accepts the compressed copy of the set made by base name
    r = spoolkit.convert(base, tmp_path / "ours.cckd", compress="zlib")
    assert r["tracks"] == 2520 * 15
    out = herc("cckdcdsk", "-3", "-ro", tmp_path / "ours.cckd")
    assert "error" not in (out.stdout + out.stderr).lower(), out.stdout + out.stderr
    assert "SPLIT.TEST.DATA" in herc("dasdls", tmp_path / "ours.cckd").stdout


@pytest.mark.slow
def test_we_open_dasdinits_split_set_by_base_name(tmp_path, herc):
    theirs = tmp_path / "h.3390"
    herc("dasdinit", "-a", theirs, "3390", "HSPLIT", 2520)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h_1.3390", "h_2.3390"]
    with open_dasd(theirs) as d:
        assert (d.cylinders, d.volser, len(d.files)) == (2520, "HSPLIT", 2)
        assert d.read_track(2519, 14).nrecs == 0
    rc = main(["dasd", "info", str(theirs)])
    assert rc == 0
    r = spoolkit.convert(theirs, tmp_path / "h.cckd", compress="zlib")
    assert r["source_files"] == [str(tmp_path / "h_1.3390"), str(tmp_path / "h_2.3390")]
    out = herc("cckdcdsk", "-3", "-ro", tmp_path / "h.cckd")
    assert "error" not in (out.stdout + out.stderr).lower(), out.stdout + out.stderr


def test_a_set_is_locked_whatever_name_opens_it(split_vol):
    from spoolkit.errors import InUseError
    with open_dasd(split_vol, "r+"):
        for name in ("vol.3380", "vol_1.3380"):
            with pytest.raises(InUseError):
                open_dasd(split_vol.with_name(name), "r+")
        with pytest.raises(InUseError):   # a reader waits for no writer of any file
            open_dasd(split_vol.with_name("vol_1.3380"))
    with open_dasd(split_vol), open_dasd(split_vol.with_name("vol_1.3380")):
        pass                              # readers share


def test_overlay_volume_info_by_base_name(split_vol):
    from spoolkit.overlay import volume_info
    info = volume_info(split_vol)
    assert (info.volser, info.size) == ("SPL001", 5)
