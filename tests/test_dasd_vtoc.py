"""``dasd ls``: VTOC listings against Hercules' dasdls on volumes dasdload
builds, the Hercules test suite's z/OS-made 3390, the VM fixture volumes,
and hand-made VTOCs (format-3 chains, damage)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import spoolkit
from spoolkit import Track, open_dasd
from spoolkit.cli import main
from spoolkit.dasd.ckd import IPL1_DATA, vol1_data
from spoolkit.dasd.vtoc import dscb_date, dsorg_text, list_volume, recfm_text

E = "cp037"

CONTROL = """\
OSVOL1 3390 10
sys1.text.data   text  t.txt   trk 2 1 0 ps fb 80 800 0
my.seq.file      seq   seq.bin trk 3 0 0 ps f 800 800 0
sys1.emptypds    empty cyl 1 0 5 po fb 80 3120 0
sys1.da          empty trk 1 0 0 da f 176 176 0
sysvtoc          vtoc  trk 5
sys1.vb          empty trk 2 1 0 ps vb 255 3120 0
user.keyed       empty trk 1 2 0 da f 100 200 8
user.undef       empty cyl 1 1 0 ps u 0 6144 0
"""

# dasdls -info: name, CREDT, ORG, RECFM, LRECL (blank when 0), BLKSZ, Key, Trks, %Use,
# #Ext, 2ndry unit and quantity
INFO_LINE = re.compile(r"^(\S+)\s+(\d{5})\s+(\S*)\s+(\S+)\s+(\d*)\s+(\d+)\s+(\d+)\s+(\d+)"
                       r"\s+(-?\d+)\s+(\d+)\s+(\w+)\s+(\d+)$")


def dasdls_info(herc, path):
    out = herc("dasdls", "-info", path).stdout.splitlines()
    rows = []
    for ln in out[1:]:
        m = INFO_LINE.match(ln.strip())
        assert m, ln
        row = list(m.groups())
        row[8] = str(int(row[8]))   # "%3.0f" prints -0 for a small negative share
        rows.append(tuple(row))
    return rows


def as_dasdls(ds):
    """One of our data sets in dasdls -info's columns."""
    created = ds["created"] and dt.date.fromisoformat(ds["created"])
    credt = "%02d%03d" % (created.year % 100, created.timetuple().tm_yday)
    return (ds["dsname"], credt, ds["dsorg"], ds["recfm"], str(ds["lrecl"] or ""),
            str(ds["blksize"]), str(ds["keylen"]), str(ds["tracks"]),
            str(round(ds["used_percent"])), str(len(ds["extents"])),
            ds["secondary"]["unit"], str(ds["secondary"]["quantity"]))


def ls_json(capsys, *paths):
    rc = main(["dasd", "ls", *map(str, paths), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


@pytest.fixture
def osvol(tmp_path, herc):
    """An OS volume with a VTOC and eight data sets, made by Hercules' dasdload."""
    (tmp_path / "t.txt").write_text("hello world\nline two\n")
    (tmp_path / "seq.bin").write_bytes(bytes(range(256)) * 30)
    (tmp_path / "vol.ctl").write_text(CONTROL)

    def make(*opts: str):
        path = tmp_path / ("os.cckd" if opts else "os.3390")
        herc("dasdload", *opts, "vol.ctl", path.name, "0", cwd=tmp_path)
        return path

    return make


@pytest.mark.hercules
@pytest.mark.parametrize("opts", [("-lfs",), ("-z",)])
def test_dasdload_volume_equals_dasdls_info(osvol, herc, capsys, opts):
    path = osvol(*opts)
    listing = ls_json(capsys, path)
    assert listing["label"]["volser"] == "OSVOL1"
    assert [as_dasdls(d) for d in listing["datasets"]] == dasdls_info(herc, path)
    names = [d["dsname"] for d in listing["datasets"]]
    assert names == [ln.strip() for ln in herc("dasdls", path).stdout.splitlines()[1:]]
    # the extents lie where dasdload said it put the data sets, inside the volume
    for d in listing["datasets"]:
        assert len(d["extents"]) == 1 and d["notes"] == []
        assert sum(e["tracks"] for e in d["extents"]) == d["tracks"]
    seq = next(d for d in listing["datasets"] if d["dsname"] == "MY.SEQ.FILE")
    with open_dasd(path) as dev:
        begin = seq["extents"][0]["begin"]
        data = b"".join(bytes(r.data) for r in dev.read_track(*begin).records)
    assert data[:7680] == bytes(range(256)) * 30


@pytest.mark.hercules
def test_zos_volume_of_the_hercules_tests(fixtures, herc, capsys, tmp_path):
    """3390.cckd64 (made by z/OS for Hercules' test suite): Hercules 3.13
    reads no CCKD64, so dasdls reads a CCKD copy of it."""
    src = fixtures / "hercules-tests" / "3390.cckd64"
    copy = tmp_path / "zos.cckd"
    spoolkit.convert(src, copy, compress="zlib")
    listing = ls_json(capsys, src)
    assert [as_dasdls(d) for d in listing["datasets"]] == dasdls_info(herc, copy)
    assert [d["dsname"] for d in listing["datasets"]] == ["SYS1.VTOCIX.XXXXXX",
                                                         "FISHTEST.FOUR-K"]
    assert listing["vtoc"]["formats"] == {"F4": 1, "F5": 1, "F1": 2}


@pytest.mark.hercules
def test_vm_volume_with_a_cp_vtoc(fixtures, herc, capsys):
    """vm50u1: VOL1 'CP370' points to a format-4 DSCB on track 0 whose VTOC is
    track 0.  dasdls lists every keyed record there with a name-like key
    (VOL1's key); there is no format-1 DSCB, so no data set."""
    path = fixtures / "vm50u1.cckd"
    listing = ls_json(capsys, path)
    assert listing["datasets"] == []
    assert listing["label"]["cp_marker"] == "CP370" and listing["label"]["owner"] == "CP370"
    assert (listing["label"]["vtoc"], listing["vtoc"]["extent"]) == ("0/0/5", "0/0-0/0")
    assert listing["vtoc"]["formats"] == {"F4": 1, "F5": 1}
    names = [ln.strip() for ln in herc("dasdls", path).stdout.splitlines()[1:]]
    assert names == ["VOL1"]
    with open_dasd(path) as dev:
        vol1 = "VOL1".encode(E)
        assert [r.r for r in dev.read_track(0, 0).records if bytes(r.key) == vol1] == [3]
    rc = main(["dasd", "ls", str(path)])
    text = capsys.readouterr().out
    assert rc == 0 and "VOLSER=VM50U1" in text and "owner 'CP370' (CP370)" in text
    assert "no data sets" in text


@pytest.mark.hercules
@pytest.mark.parametrize("name", ["vm14-3.cckd", "hercules-tests/CCWILS.3390-1.comp-z"])
def test_volumes_without_a_vtoc_say_what_vol1_says(fixtures, herc, capsys, name):
    path = fixtures / name
    r = herc("dasdls", path, check=False)
    assert "F4DSCB record not found" in r.stderr + r.stdout
    listing = ls_json(capsys, path)
    assert listing["vtoc"] is None and listing["datasets"] == []
    with open_dasd(path) as dev:
        assert listing["label"]["volser"] == dev.volser
    assert listing["notes"] == [f"no OS VTOC: VOL1 points to 0/1/1, where there is no record "
                                f"(VOL1 owner {listing['label']['owner']!r})"]


def test_cms_minidisk_has_no_vol1(fixtures, capsys):
    listing = ls_json(capsys, fixtures / "cms" / "cmsuser_191.cckd")
    assert listing["label"] is None and listing["datasets"] == []
    assert "it starts 'CMS=CMS1'" in listing["notes"][0]


# -- hand-made VTOCs ----------------------------------------------------------

def ext(seq, bc, bh, ec, eh, kind=1):
    return bytes([kind, seq]) + b"".join(x.to_bytes(2, "big") for x in (bc, bh, ec, eh))


def f1(name, extents, *, noepv=None, ptr=bytes(5), dsorg=0x40, recfm=0x90, lrecl=80,
       blksize=800, created=(124, 45), fmt=0xF1):
    d = bytearray(96)
    d[0] = fmt
    d[1:7] = "HAND01".encode(E)
    d[7:9] = (1).to_bytes(2, "big")
    d[9:12] = bytes([created[0]]) + created[1].to_bytes(2, "big")
    d[15] = len(extents) if noepv is None else noepv
    d[38], d[40] = dsorg, recfm
    d[42:44], d[44:46] = blksize.to_bytes(2, "big"), lrecl.to_bytes(2, "big")
    d[50], d[51:54] = 0x80, (5).to_bytes(3, "big")
    d[57:59] = (1000).to_bytes(2, "big")
    d[61:91] = b"".join(extents[:3]).ljust(30, b"\0")
    d[91:96] = ptr
    return name.encode(E).ljust(44, b"\x40"), bytes(d)


def f3(extents, ptr=bytes(5)):
    key = b"\x03" * 4 + b"".join(extents[:4]).ljust(40, b"\0")
    d = bytearray(96)
    d[0] = 0xF3
    d[1:91] = b"".join(extents[4:]).ljust(90, b"\0")
    d[91:96] = ptr
    return key, bytes(d)


def f4(vtoc_extent):
    d = bytearray(96)
    d[0], d[15] = 0xF4, 1
    d[61:71] = vtoc_extent
    return b"\x04" * 44, bytes(d)


def hand_volume(path, dscbs, *, vtoc_ptr=(0, 1, 1), vtoc_extent=None):
    """A 3390 of 6 cylinders: VOL1 pointing at ``vtoc_ptr``, track 0/1 the VTOC
    (F4 as R1, then ``dscbs`` as R2.., then empty DSCBs)."""
    with spoolkit.create_dasd(path, "3390", "HAND01", cylinders=6) as dev:
        vol1 = bytearray(vol1_data("HAND01"))
        vol1[11:16] = vtoc_ptr[0].to_bytes(2, "big") + vtoc_ptr[1].to_bytes(2, "big") + \
            bytes([vtoc_ptr[2]])
        dev.write_track(0, 0, Track.from_records(0, 0, [
            (1, "IPL1".encode(E), IPL1_DATA), (2, "IPL2".encode(E), bytes(144)),
            (3, "VOL1".encode(E), bytes(vol1))]))
        recs = [(1, *f4(vtoc_extent or ext(0, 0, 1, 0, 1)))]
        recs += [(r, k, d) for r, (k, d) in enumerate(dscbs, start=2)]
        recs += [(r, bytes(44), bytes(96)) for r in range(len(recs) + 1, 20)]
        dev.write_track(0, 1, Track.from_records(0, 1, recs))
    return path


@pytest.mark.hercules
def test_format3_chain_extents(tmp_path, herc, capsys):
    exts = [ext(0, 1, 0, 1, 1), ext(1, 2, 0, 2, 0), ext(2, 3, 5, 3, 7), ext(3, 4, 0, 4, 0),
            ext(4, 4, 2, 4, 3), ext(5, 5, 0, 5, 14)]
    # F1 holds 3 extents, the F3 at 0/1/3 the other three (two in its key, one after)
    path = hand_volume(tmp_path / "f3.3390", [
        f1("MULTI.EXT", exts[:3], noepv=6, ptr=bytes([0, 0, 0, 1, 3])),
        f3(exts[3:5] + [bytes(10)] * 2 + exts[5:6])])
    ds, = ls_json(capsys, path)["datasets"]
    assert [(e["begin"], e["end"]) for e in ds["extents"]] == [
        ([1, 0], [1, 1]), ([2, 0], [2, 0]), ([3, 5], [3, 7]), ([4, 0], [4, 0]),
        ([4, 2], [4, 3]), ([5, 0], [5, 14])]
    assert ds["tracks"] == 2 + 1 + 3 + 1 + 2 + 15 and ds["notes"] == []
    # dasdls 3.13 follows the same chain to the same size
    assert as_dasdls(ds)[7] == dasdls_info(herc, path)[0][7] == "24"


@pytest.mark.parametrize("dscbs,note", [
    ([f1("LOOP.F3", [ext(0, 1, 0, 1, 0)], noepv=4, ptr=bytes([0, 0, 0, 1, 3])),
      f3([ext(1, 2, 0, 2, 0)], ptr=bytes([0, 0, 0, 1, 3]))], "loops"),
    ([f1("MISSING.F3", [ext(0, 1, 0, 1, 0)], noepv=2, ptr=bytes([0, 9, 0, 1, 3]))],
     "format-3 DSCB at 9/1/3 not found"),
    ([f1("NOT.F3", [ext(0, 1, 0, 1, 0)], noepv=2, ptr=bytes([0, 0, 0, 1, 3])),
      f1("OTHER", [ext(0, 2, 0, 2, 0)])], "not a format-3 DSCB"),
    ([f1("OUTSIDE", [ext(0, 1, 0, 99, 0)])], "outside the volume"),
    ([f1("FEWER", [ext(0, 1, 0, 1, 0)], noepv=3)], "3 extents declared, 1 found"),
])
def test_damaged_dscbs_give_notes(tmp_path, capsys, dscbs, note):
    listing = ls_json(capsys, hand_volume(tmp_path / "d.3390", dscbs))
    assert any(note in n for d in listing["datasets"] for n in d["notes"]), listing


@pytest.mark.parametrize("kwargs,note", [
    ({"vtoc_ptr": (900, 1, 1)}, "no OS VTOC: VOL1 points to 900/1/1, where there is no record"),
    ({"vtoc_ptr": (0, 1, 2)}, "where there is no format-4 DSCB"),
    ({"vtoc_extent": ext(0, 50, 0, 60, 0)}, "outside the volume"),
    ({"vtoc_extent": ext(0, 0, 1, 900, 0)}, "runs past the volume"),
    ({"vtoc_extent": ext(0, 0, 5, 0, 1)}, "outside the volume"),
])
def test_damaged_vtoc_pointers_give_notes(tmp_path, capsys, kwargs, note):
    listing = ls_json(capsys, hand_volume(tmp_path / "p.3390", [f1("A.B", [ext(0, 1, 0, 1, 0)])],
                                          **kwargs))
    assert any(note in n for n in listing["notes"]), listing["notes"]


def test_format8_and_field_decoding(tmp_path):
    path = hand_volume(tmp_path / "f8.3390", [
        f1("EAV.DATA", [ext(0, 1, 0, 1, 0)], fmt=0xF8, dsorg=0x02, recfm=0xC0, lrecl=0,
           blksize=6144, created=(99, 365)),
        f1("BAD.DATE", [ext(0, 2, 0, 2, 0)], created=(123, 400))])
    with open_dasd(path) as dev:
        a, b = list_volume(dev).datasets
    assert (a.format, a.dsorg, a.recfm, a.created) == (8, "PO", "U", dt.date(1999, 12, 31))
    assert b.created is None


def test_field_texts():
    assert [dsorg_text(*d) for d in ((0x40, 0), (0x02, 0), (0x20, 0), (0x80, 0), (0, 0x08),
                                     (0x41, 0), (0x42, 0), (0, 0))] == \
        ["PS", "PO", "DA", "IS", "VS", "PSU", "??", ""]
    assert [recfm_text(b) for b in (0x80, 0x90, 0x98, 0x54, 0x52, 0xC0, 0xA0, 0x00)] == \
        ["F", "FB", "FBS", "VBA", "VBM", "U", "FT", "U"]
    assert dscb_date(bytes([126, 1, 80])) == dt.date(2026, 12, 2)
    assert dscb_date(bytes(3)) is None and dscb_date(bytes([100, 1, 111])) is None


def test_cli_text_and_many_images(tmp_path, capsys):
    a = hand_volume(tmp_path / "a.3390", [f1("FIRST.ONE", [ext(0, 1, 0, 1, 4)])])
    b = tmp_path / "b.fba"
    assert main(["dasd", "init", str(b), "3370", "FBA001", "1000"]) == 0
    capsys.readouterr()
    assert main(["dasd", "ls", str(a), str(b)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"^FIRST\.ONE\s+2024-02-14\s+PS\s+FB\s+80\s+800\s+0\s+5\s", text, re.M)
    assert "an FBA volume (VOL1 volser FBA001, 1000 blocks)" in text
    both = ls_json(capsys, a, b)
    assert [x["path"] for x in both] == [str(a), str(b)]
    assert main(["dasd", "ls", str(tmp_path / "none.3390")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.fuzz
@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=96, max_size=96), st.binary(min_size=44, max_size=44),
       st.binary(min_size=96, max_size=96), st.binary(min_size=80, max_size=80))
def test_any_dscb_bytes_list_without_error(tmp_path_factory, f1data, f3key, f3data, vol1):
    """Whatever the DSCBs and VOL1 hold, the listing is made (notes, no exception)."""
    path = _FUZZ_VOLUME.get("path")
    if path is None:
        path = _FUZZ_VOLUME["path"] = tmp_path_factory.mktemp("fz") / "z.3390"
        spoolkit.create_dasd(path, "3390", "FUZZ01", cylinders=2).close()
    f4key, f4data = f4(ext(0, 0, 1, 0, 1))
    with open_dasd(path, "r+") as dev:
        v = "VOL1".encode(E) + vol1[4:]
        dev.write_track(0, 0, Track.from_records(0, 0, [(3, "VOL1".encode(E), v)]))
        dev.write_track(0, 1, Track.from_records(0, 1, [
            (1, f4key, f4data), (2, "X".encode(E) * 44, b"\xf1" + f1data[1:]),
            (3, f3key, f3data), (4, f3key, b"\xf3" + f3data[1:])]))
    with open_dasd(path) as dev:
        listing = list_volume(dev)
    json.dumps(listing.to_dict())


_FUZZ_VOLUME: dict[str, object] = {}


def _alloc_runs(path):
    """The runs of a VM/370 allocation record read straight from its bytes
    (keyless R4 of track 0/0: one code per cylinder up to X'FF')."""
    with open_dasd(path) as dev:
        r4 = next(r for r in dev.read_track(0, 0).records if r.r == 4 and not r.kl)
    codes = bytes(r4.data[:bytes(r4.data).index(0xFF)])
    kinds = {0x00: "TEMP", 0x01: "PERM", 0x02: "TDSK", 0x04: "DRCT", 0x0C: "DRCT"}
    runs = []
    for cyl, code in enumerate(codes):
        if runs and runs[-1][3] == code:
            runs[-1][2] = cyl
        else:
            runs.append([kinds[code], cyl, cyl, code])
    return [(k, a, b, f"{c:02X}") for k, a, b, c in runs]


def test_ls_shows_vm370_allocation_of_fixture(fixtures, capsys):
    path = fixtures / "vm50u1.cckd"
    d = ls_json(capsys, path)
    assert d["cp_layout"] == "vm370" and d["cp_findings"] == []
    assert d["cp_allocation"] == [{"type": "PERM", "first": 0, "last": 554, "code": "01"}]
    assert [tuple(e.values()) for e in d["cp_allocation"]] == _alloc_runs(path)
    assert main(["cp", "info", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["extents"] == d["cp_allocation"]
    assert main(["dasd", "ls", str(path)]) == 0
    text = capsys.readouterr().out
    assert "CP VM/370 allocation (VOL1 owner CP370):" in text
    assert re.search(r"^\s+PERM\s+0\s+554\s+555\s+01$", text, re.M)


def test_ls_shows_allocation_cp_format_wrote(tmp_path, capsys):
    path = tmp_path / "vm.3350"
    assert main(["cp", "format", str(path), "3350", "--volser", "LSV001", "--layout", "vm370",
                 "--drct", "0", "--temp", "1-10", "--tdsk", "11-20", "--perm", "21-554"]) == 0
    capsys.readouterr()
    d = ls_json(capsys, path)
    assert d["label"]["volser"] == "LSV001" and d["cp_layout"] == "vm370"
    got = [(e["type"], e["first"], e["last"], e["code"]) for e in d["cp_allocation"]]
    assert got == _alloc_runs(path)
    assert [g[:3] for g in got] == [("DRCT", 0, 0), ("TEMP", 1, 10), ("TDSK", 11, 20),
                                    ("PERM", 21, 554)]
    assert main(["dasd", "ls", str(path)]) == 0
    text = capsys.readouterr().out
    for kind, first, last in [g[:3] for g in got]:
        assert re.search(rf"^\s+{kind}\s+{first}\s+{last}\s+{last - first + 1}\s", text, re.M)
    plain = hand_volume(tmp_path / "os.3390", [f1("NOT.CP", [ext(0, 1, 0, 1, 4)])])
    d = ls_json(capsys, plain)
    assert (d["cp_layout"], d["cp_allocation"], d["cp_findings"]) == (None, [], [])
    assert main(["dasd", "ls", str(plain)]) == 0
    assert "allocation record" not in capsys.readouterr().out.replace(str(tmp_path), "")
