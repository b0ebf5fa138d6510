"""``spoolkit dasd init`` with dasdinit's arguments, against Hercules' dasdinit:
the same argument list makes the same volume (device type, size, volser,
track or block contents), compressed outputs are cckdcdsk -3 clean."""

from __future__ import annotations

import json
import re
import shutil

import pytest

import spoolkit
from spoolkit.cli import main
from spoolkit.dasd import CCKDImage, CKDImage, FBAImage, open_dasd
from spoolkit.dasd.init import implied_compression, init_volume
from spoolkit.errors import InvalidArgumentError, NotFoundError

HERC_PROBLEM = re.compile(r"HHCCU\d+[WE]")


def run(capsys, *argv):
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def content(dev, trk):
    """A track's records, R0 data and keyed/data records; an EOF-only record
    list (dasdinit -z's unwritten tracks read as null format 0) counts as empty."""
    t = dev.read_track(*divmod(trk, dev.heads))
    recs = [(r.r, r.kl, r.dl, bytes(r.key), bytes(r.data)) for r in t.records
            if not (r.kl == 0 and r.dl == 0)]
    return bytes(t.r0.data), recs


def assert_same_volume(ours, theirs, tracks=None):
    with open_dasd(ours) as a, open_dasd(theirs) as b:
        assert type(a) is type(b)
        assert a.volser == b.volser
        if isinstance(a, FBAImage):
            assert a.blocks == b.blocks
            assert a.read_blocks(0, a.blocks) == b.read_blocks(0, b.blocks)
            return
        assert (a.devtype, a.cylinders, a.heads, a.track_size) == \
            (b.devtype, b.cylinders, b.heads, b.track_size)
        for trk in tracks if tracks is not None else range(a.total_tracks):
            assert content(a, trk) == content(b, trk), trk


def cdsk_clean(herc, path, tmp_path):
    copy = tmp_path / ("cdsk-" + path.name)
    shutil.copy(path, copy)
    text = herc("cckdcdsk", "-3", copy).stdout
    assert not HERC_PROBLEM.search(text), text
    assert copy.read_bytes() == path.read_bytes(), "cckdcdsk changed (repaired) the file"


# the same argument list for both tools; "{}" is the file name
CASES = [
    (["-lfs", "{}.3390", "3390", "herc01", "3"], CKDImage),
    (["-z", "{}.comp", "3390", "Z1", "10"], CCKDImage),
    (["-bz2", "{}.comp", "3380", "BZ1", "5"], CCKDImage),
    (["-0", "{}.comp", "3350", "N0", "4"], CCKDImage),
    (["-a", "-lfs", "{}.2311", "2311-1", "ALT1"], CKDImage),
    (["-a", "-z", "{}.comp", "3350-1", "ALT2"], CCKDImage),
    (["-r", "{}.3390", "3390", "2"], CKDImage),
    (["-linux", "{}.3390", "3390", "LNX1", "3"], CKDImage),
    (["-z", "-linux", "{}.comp", "3390", "LNX2", "3"], CCKDImage),
    (["-r", "-linux", "-z", "{}.comp", "3390", "2"], CCKDImage),
    (["{}.fba", "3370", "FBA001", "1000"], FBAImage),
    (["-z", "{}.comp", "9336", "FBA002", "2000"], FBAImage),
    (["-bz2", "{}.comp", "0671", "F3", "800"], FBAImage),
    (["-r", "{}.fba", "3310", "500"], FBAImage),
]


@pytest.mark.hercules
@pytest.mark.parametrize("argv,kind", CASES, ids=[" ".join(c[0]) for c in CASES])
def test_same_arguments_same_volume(tmp_path, herc, capsys, argv, kind):
    name = next(a for a in argv if a.startswith("{}"))
    theirs = tmp_path / name.format("theirs")
    ours = tmp_path / name.format("ours")
    herc("dasdinit", *[a.format(str(tmp_path / "theirs")) for a in argv])
    rc, out, err = run(capsys, "dasd", "init", *[a.format(str(tmp_path / "ours")) for a in argv],
                       "--json")
    assert rc == 0, err
    info = json.loads(out)
    assert info["files"] == [str(ours)]
    with open_dasd(ours) as dev:
        assert type(dev) is kind
    assert_same_volume(ours, theirs)
    if kind is not FBAImage:
        # dasdls finds the same (or the same lack of a) VTOC and volser
        assert herc("dasdls", ours, check=False).stdout.replace(str(ours), "F") == \
            herc("dasdls", theirs, check=False).stdout.replace(str(theirs), "F")
    with open_dasd(ours) as dev:
        compressed = isinstance(dev, CCKDImage) or getattr(dev, "compressed", False)
    if compressed:
        cdsk_clean(herc, ours, tmp_path)


@pytest.mark.hercules
def test_linux_over_65535_tracks_has_format7(tmp_path, herc, capsys):
    """Over 65535 tracks dasdinit -linux adds a format-7 DSCB to the VTOC."""
    herc("dasdinit", "-z", "-linux", tmp_path / "t.cckd", "3390", "BIG1", "4400")
    rc, _, err = run(capsys, "dasd", "init", "-z", "-linux", tmp_path / "o.cckd", "3390",
                     "BIG1", "4400")
    assert rc == 0, err
    assert_same_volume(tmp_path / "o.cckd", tmp_path / "t.cckd", tracks=[0, 1, 2, 65999])
    with open_dasd(tmp_path / "o.cckd") as d:
        assert [r.data[0] for r in d.read_track(0, 1).records[:3]] == [0xF4, 0xF5, 0xF7]
    cdsk_clean(herc, tmp_path / "o.cckd", tmp_path)


@pytest.mark.hercules
@pytest.mark.parametrize("name,fmt,dasdinit_opts", [
    ("v.cckd", "CCKD", ["-z"]), ("v.cckd64", "CCKD64", ["-z"]),
    ("v.cfba", "CFBA", ["-z"]), ("v.CFBA64", "CFBA64", ["-z"])])
def test_compressed_name_implies_compression(tmp_path, herc, capsys, name, fmt,
                                              dasdinit_opts):
    fba = "FBA" in fmt
    dev, size = ("3370", "1000") if fba else ("3390", "5")
    rc, out, err = run(capsys, "dasd", "init", tmp_path / name, dev, "NAME1", size, "--json")
    assert rc == 0, err
    assert json.loads(out)["format"] == fmt
    with open_dasd(tmp_path / name) as d:
        assert d.info().get("compression", "zlib") == "zlib"
    if not fmt.endswith("64"):   # Hercules 3.13 has no 64-bit tools
        theirs = tmp_path / ("theirs" + name[1:])
        herc("dasdinit", *dasdinit_opts, theirs, dev, "NAME1", size)
        assert_same_volume(tmp_path / name, theirs)
        cdsk_clean(herc, tmp_path / name, tmp_path)
    # an explicit method still wins over the name
    rc, out, _ = run(capsys, "dasd", "init", "-bz2", tmp_path / ("b" + name), dev, "B1", size)
    assert rc == 0
    if not fba:
        with open_dasd(tmp_path / ("b" + name)) as d:
            assert d.info()["compression"] == "bzip2"


def test_implied_compression():
    assert implied_compression("a/b.CCKD") == ("ckd", False)
    assert implied_compression("x.cfba64") == ("fba", True)
    assert implied_compression("x.cckd.bak") is None
    assert implied_compression("cckd") is None


def test_options_and_positionals_agree(tmp_path, capsys):
    img = tmp_path / "a.3390"
    # the spoolkit spellings still work, and match the positional ones
    rc, out, err = run(capsys, "dasd", "init", img, "3390", "--volser", "opt1",
                       "--cylinders", "2", "--json")
    assert rc == 0, err and json.loads(out)["volser"] == "OPT1"
    rc, out, err = run(capsys, "dasd", "init", tmp_path / "b.3390", "3390", "opt1", "2",
                       "--volser", "OPT1", "--cylinders", "2", "--json")
    assert rc == 0, err
    assert (json.loads(out)["volser"], json.loads(out)["cylinders"]) == ("OPT1", 2)
    # options anywhere, as the positional arguments of dasdinit follow them
    rc, out, err = run(capsys, "dasd", "init", tmp_path / "c.fba", "9336", "-r", "200",
                       "--json")
    assert rc == 0, err
    assert (json.loads(out)["blocks"], json.loads(out)["volser"]) == (200, None)
    rc, out, err = run(capsys, "dasd", "init", tmp_path / "d.fba", "9336-20", "F1", "64")
    assert rc == 0 and out.strip().endswith(": FBA 9336-20, 64 blocks, volser F1"), out + err


@pytest.mark.parametrize("argv,message", [
    (["3390", "A1", "2", "--volser", "B1"], "volser given twice"),
    (["3390", "A1", "2", "--cylinders", "3"], "cylinders given twice"),
    (["3390", "A1", "2", "--blocks", "3"], "--blocks does not size a CKD volume"),
    (["3370", "A1", "--cylinders", "3"], "--cylinders does not size a FBA volume"),
    (["3390", "-r", "A1", "2"], "too many arguments"),
    (["3390", "A1", "2", "3"], "too many arguments"),
    (["3390", "-r", "--volser", "A1"], "drop --volser"),
    (["3380", "-linux", "A1", "2"], "only for device type 3390, not 3380"),
    (["3380", "-z", "--nullfmt", "2", "A1", "2"], "only for device type 3390, not 3380"),
    (["3370", "-linux", "A1", "100"], "only for device type 3390, not FBA"),
    (["3390", "-linux", "--nullfmt", "1", "A1", "2"], "drop one"),
    (["3370", "A1", "63"], "at least 64 blocks"),
    (["3390", "A1", "0"], "1 to 65535"),
    (["3390", "A1", "--cylinders", "-1"], "1 to 65535"),
    (["3390", "A1", "-5"], "1 to 65535"),
    (["3390", "A1", "two"], "is not a number"),
    (["4711", "A1"], "unknown device type"),
    (["3390", "TOOLONG", "2"], "1-6 letters"),
])
def test_bad_arguments_are_one_line(tmp_path, capsys, argv, message):
    img = tmp_path / "bad.img"
    rc, out, err = run(capsys, "dasd", "init", img, *argv)
    assert rc == 2 and message in err and err.count("\n") == 1, err
    assert not img.exists()
    rc, out, _ = run(capsys, "dasd", "init", img, *argv, "--json")
    assert rc == 2 and message in json.loads(out)["message"]


def test_init_volume_api(tmp_path):
    with init_volume(tmp_path / "a.cfba64", "9336-20", "api1", 640) as d:
        assert isinstance(d, FBAImage) and d.blocks == 640 and d.kind == "CFBA64"
    with init_volume(tmp_path / "a.3350", "3350", "api2", alt_cylinders=True) as d:
        assert isinstance(d, CKDImage) and d.cylinders == 560
    with init_volume(tmp_path / "b.3350", "3350", "api3", 7, alt_cylinders=True) as d:
        assert d.cylinders == 7   # as dasdinit: -a is ignored when a size is given
    with pytest.raises(NotFoundError):
        init_volume(tmp_path / "x", "3999")
    with pytest.raises(InvalidArgumentError):
        init_volume(tmp_path / "y", "3390", "V", True)  # type: ignore[arg-type]


@pytest.mark.parametrize("compress", [None, "zlib"])
def test_linux_null_format_needs_a_3390(tmp_path, compress):
    """A dasdfmt track (12 x 4 KiB) does not fit a 3380 track: refused, no file
    (a compressed 3380 used to be made with tracks that could not be read)."""
    opts = {"compress": compress} if compress else {}
    with pytest.raises(InvalidArgumentError, match="not 3380"):
        spoolkit.create_dasd(tmp_path / "l.img", "3380", "L1", cylinders=2, nullfmt=2, **opts)
    assert list(tmp_path.iterdir()) == []
    with spoolkit.create_dasd(tmp_path / "l.img", "3390", "L1", cylinders=2, nullfmt=2,
                              **opts) as d:
        assert [r.dl for r in d.read_track(0, 0).records][3:] == [4096] * 9
        assert d.read_track(0, 1).records[0].data[0] == 0xF4
        assert [r.dl for r in d.read_track(1, 14).records] == [4096] * 12
