"""VM/370 CP volumes: the allocation record, cylinder 0 and the page format
as VM/370's FORMAT/ALLOCATE (DMKFMT) write them, checked against the real
VM/370 volume ../shared/fixtures/vm50u1.cckd."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

from spoolkit import Track, open_dasd
from spoolkit.cp import (
    build_vm370_allocation,
    format_vm370,
    layout_for,
    parse_vm370_allocation,
    read_cp_allocation,
    read_cp_extents,
    scan_page_format,
    volume_info,
)
from spoolkit.cp.pagelayout import FILLER_BASE, SUPPORTED, is_page_track, page_track
from spoolkit.cp.vm370 import vol1
from spoolkit.dasd.track import Record
from spoolkit.errors import ExistsError, FormatError, InvalidArgumentError, UnsupportedError
from spoolkit.overlay import build_map, parse_directory, protected_extents
from spoolkit.overlay import volume_info as overlay_volume_info

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "spoolkit", *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=300)


def with_r4(path, data: bytes) -> None:
    """Replace the data of cylinder 0 head 0 R4 (the allocation record)."""
    with open_dasd(path, "r+") as dev:
        old = dev.read_track(0, 0)
        recs = [Record(r.cyl, r.head, r.r, r.key, memoryview(data) if r.r == 4 else r.data)
                for r in old.records]
        dev.write_track(0, 0, Track.from_records(0, 0, recs, r0=bytes(old.r0.data)))


@pytest.fixture
def small(tmp_path):
    """A 2305-1 VM/370 volume: TEMP 1-9, TDSK 10-19, DRCT 20, PERM 21-47."""
    p = tmp_path / "small.cckd"
    format_vm370(p, "2305-1", volser="SMALL1", extents=[
        ("TEMP", 1, 9), ("TDSK", 10, 19), ("DRCT", 20, 20), ("PERM", 21, 47)])
    return p


# -- the real volume -----------------------------------------------------------

def test_fixture_allocation_is_perm_over_the_volume(fixtures):
    path = fixtures / "vm50u1.cckd"
    info = volume_info(path)
    assert info.layout == "vm370" and info.volser == "VM50U1" and info.devtype == "3350"
    assert [(e.kind, e.first_cyl, e.last_cyl) for e in info.extents] == [("PERM", 0, 554)]
    assert info.allocation.mapped == 555 and info.findings == []
    assert [r.code for r in info.allocation.runs] == [0x01]
    ov = overlay_volume_info(path)
    assert (ov.cp_owned, ov.cp_areas, ov.findings) == (True, [("PERM", 0, 554)], [])
    with open_dasd(path) as dev:
        assert [(e.kind, e.first_cyl, e.last_cyl) for e in read_cp_extents(dev)] == [
            ("PERM", 0, 554)]
        # PERM is the minidisks' space: only cylinder 0 (label, allocation) is protected
        assert [(p.first, p.last, p.kind) for p in protected_extents(dev)] == [(0, 0, "CYL0")]


def test_fixture_overlay_map_classifies_a_minidisk_perm(fixtures):
    d = parse_directory("USER MAINT PASSWORD 4M 16M G\n MDISK 191 3350 001 010 VM50U1 MR\n"
                        " MDISK 192 3350 011 544 VM50U1 MR\n")
    m = build_map(d, None, [overlay_volume_info(fixtures / "vm50u1.cckd")])
    vol = m.volumes["VM50U1"]
    got = sorted((o.classification, o.area, o.second.vaddr) for o in vol.overlaps
                 if "MAINT" in (o.first.owner, o.second.owner))
    assert got == [("perm", "PERM", "191"), ("perm", "PERM", "192")]
    assert m.ok and m.findings == []


def test_fixture_page_format_scan(fixtures):
    info = volume_info(fixtures / "vm50u1.cckd", scan=True)
    assert info.formatted == [(0, 0)]            # FORMAT of cylinder 0 only, then ALLOCATE
    assert info.page_layout is not None and info.page_layout.name == "3350"
    assert info.findings == []                   # PERM cylinders need no page format


def test_vm14_3_is_a_dasdinit_2314_not_a_cp_volume(fixtures):
    """The second real VM/370 CE volume is a 2314 as dasdinit leaves it
    (IPL1/IPL2/VOL1 with owner HERCULES, no R4): no VM/370 layout to read."""
    path = fixtures / "vm14-3.cckd"
    with open_dasd(path) as dev:
        assert (dev.devtype, dev.cylinders, dev.heads) == ("2314", 203, 20)
        recs = dev.read_track(0, 0).records
        assert [bytes(r.key).decode("cp037") for r in recs] == ["IPL1", "IPL2", "VOL1"]
        assert b"HERCULES".decode() in bytes(recs[2].data).decode("cp037")
        assert read_cp_allocation(dev).layout is None and read_cp_extents(dev) == []
        assert protected_extents(dev) == []
    info = volume_info(path, scan=True)
    assert info.layout is None and info.formatted is None and info.findings == []


# -- cylinder 0 byte for byte ---------------------------------------------------------

#: Fields of cylinder 0 allowed to differ from the fixture, (head, record, part) ->
#: why.  None: DMKFMT writes no time stamp, device address or serial anywhere on
#: cylinder 0 (the Format-4 DSCB is one fixed image, the VOL1 label's only variable
#: field is the volser, the page and filler records are zeros), so the same
#: device type, volser and allocation give the same bytes.
ALLOWED_DIFFERENCES: dict[tuple[int, int, str], str] = {}


def _parts(track: Track) -> dict[tuple[int, str], bytes]:
    """Every field of a track: home address, R0's count and data, each record's
    count, key and data (by record number and place on the track)."""
    img = track.image
    out = {(-1, "home address"): img[:5], (0, "count"): img[5:13], (0, "data"): img[13:21]}
    for i, r in enumerate(track.records):
        tag = r.r if all(x.r != r.r for x in track.records[:i]) else 1000 + i
        out[(tag, "count")] = img[r.offset:r.offset + 8]
        out[(tag, "key")] = bytes(r.key)
        out[(tag, "data")] = bytes(r.data)
    out[(-2, "end of track")] = img[-8:]
    return out


def _cylinder0_differences(a_path, b_path) -> dict[tuple[int, int, str], tuple[bytes, bytes]]:
    diffs = {}
    with open_dasd(a_path) as a, open_dasd(b_path) as b:
        assert (a.devtype, a.cylinders, a.heads) == (b.devtype, b.cylinders, b.heads)
        for head in range(a.heads):
            pa, pb = _parts(a.read_track(0, head)), _parts(b.read_track(0, head))
            for key in pa.keys() | pb.keys():
                if pa.get(key) != pb.get(key):
                    diffs[(head, *key)] = (pa.get(key), pb.get(key))
    return diffs


def test_format_writes_the_fixtures_cylinder_0(tmp_path, fixtures):
    real = fixtures / "vm50u1.cckd"
    ours = tmp_path / "vm50u1.cckd"
    format_vm370(ours, "3350", volser="VM50U1", extents=[("PERM", 0, 554)])
    diffs = _cylinder0_differences(ours, real)
    assert set(diffs) == set(ALLOWED_DIFFERENCES), sorted(diffs)
    with open_dasd(ours) as a, open_dasd(real) as b:
        for head in range(30):
            ta, tb = a.read_track(0, head), b.read_track(0, head)
            assert len(ta.records) == len(tb.records) == 7
            if not set(ALLOWED_DIFFERENCES):
                assert ta.image == tb.image
    # the comparison sees a one-field change: another volser differs in R3's data only
    other = tmp_path / "vm50u2.cckd"
    format_vm370(other, "3350", volser="VM50U2", extents=[("PERM", 0, 554)])
    assert set(_cylinder0_differences(other, real)) == {(0, 3, "data")}


def test_cylinder_0_records(tmp_path):
    p = tmp_path / "v.3350"
    format_vm370(p, "3350", volser="abc1", extents=[("DRCT", 1, 1), ("TDSK", 2, 3)],
                 pages=[(0, 0)])
    with open_dasd(p) as dev:
        t = dev.read_track(0, 0)
        assert bytes(t.r0.data) == b"\xF0" + bytes(7)
        assert [(r.r, r.kl, r.dl) for r in t.records] == [
            (1, 0, 24), (2, 0, 4096), (3, 4, 80), (4, 0, 1024), (5, 44, 96), (6, 44, 96),
            (243, 0, 4096)]
        label = bytes(t.records[2].data)
        assert label == vol1("ABC1")
        assert label[4:10].decode("cp037") == "ABC1  " and label[11:16] == bytes([0] * 4 + [5])
        assert label[46:51].decode("cp037") == "CP370"
        alloc = bytes(t.records[3].data)
        assert alloc[:4] == bytes([0x00, 0x04, 0x02, 0x02]) and alloc[4:555] == bytes(551)
        assert alloc[555] == 0xFF and alloc[556:] == bytes(468)
        assert dev.volser == "ABC1"


# -- page layouts --------------------------------------------------------------------

@pytest.mark.parametrize("device", SUPPORTED)
def test_page_layout_of_each_device(tmp_path, device):
    """A formatted cylinder holds the layout's pages, numbered through the
    cylinder, within the real device's track capacity (write_track checks it)."""
    layout = layout_for(device)
    p = tmp_path / "v.cckd"
    format_vm370(p, device, volser="PG0001", extents=[("PERM", 0, 0)], pages=[(2, 2)])
    with open_dasd(p) as dev:
        assert (dev.cylinders, dev.heads) == (layout.cylinders, layout.heads)
        pages: dict[int, int] = {}
        for head in range(dev.heads):
            t = dev.read_track(2, head)
            assert is_page_track(layout, t.image, 2, head)
            assert not is_page_track(layout, dev.read_track(3, head).image, 3, head)
            assert bytes(t.r0.data) == bytes(8)
            for r in t.records:
                assert (r.cyl, r.head, r.kl) == (2, head, 0) and not any(r.data)
                if r.r < FILLER_BASE:
                    pages[r.r] = pages.get(r.r, 0) + r.dl
                else:
                    assert r.r - FILLER_BASE in pages and not r.overflow
        # every page is 4096 bytes (whole, or its overflow segments), numbered 1..n
        assert pages == {n: 4096 for n in range(1, layout.pages_per_cylinder + 1)}
        assert sum(layout.page_counts()) == layout.pages_per_cylinder
        assert scan_page_format(dev, layout) == [0, 2]


def test_3350_and_2314_layouts_as_dmkfmt_writes_them():
    l3350 = layout_for("3350")
    for head in (0, 1, 17, 29):
        assert l3350.records(head) == [
            (4 * head + 1, 4096, False), (4 * head + 129, 300, False),
            (4 * head + 2, 4096, False), (4 * head + 130, 300, False),
            (4 * head + 3, 4096, False), (4 * head + 131, 300, False),
            (4 * head + 4, 4096, False)]
    l2314 = layout_for("2319")
    assert l2314.name == "2314" and l2314.cylinders == 203
    assert [l2314.records(h) for h in (5, 6)] == [
        [(9, 4096, False), (10, 2472, True)], [(10, 1624, False), (11, 4096, False),
                                               (12, 824, True)]]
    assert l2314.records(19) == [(31, 2448, False), (32, 4096, False)]


def test_2314_cylinder_0_head_1(tmp_path):
    p = tmp_path / "v.2314"
    format_vm370(p, "2314", volser="VM14-3")
    with open_dasd(p) as dev:
        t0, t1 = dev.read_track(0, 0), dev.read_track(0, 1)
        assert bytes(t0.r0.data) == b"\xE0" + bytes(7)
        assert [(r.r, r.dl) for r in t0.records] == [(1, 24), (2, 4096), (3, 80), (4, 1024),
                                                     (5, 96), (6, 96)]
        assert [(r.r, r.dl, r.overflow) for r in t1.records] == [
            (243, 4096, False), (244, 1624, False), (4, 824, True)]
        assert [(r.r, r.dl) for r in dev.read_track(0, 2).records] == [(4, 3272), (5, 3296)]
        assert bytes(t0.records[3].data)[203] == 0xFF


def test_hercules_accepts_the_formatted_tracks(tmp_path, herc):
    for device in ("2314", "3350", "3340-35"):
        p = tmp_path / f"{device}.cckd"
        format_vm370(p, device, volser="HERC01", pages=[(0, 3)],
                     extents=[("TEMP", 1, 3), ("PERM", 4, layout_for(device).cylinders - 1)])
        herc("cckdcdsk", "-3", p)
        assert "VOLSER=HERC01" in herc("dasdls", p).stdout


def test_scan_finds_unformatted_cp_space(small, tmp_path):
    info = volume_info(small, scan=True)
    assert info.formatted == [(0, 20)] and info.findings == []
    with open_dasd(small, "r+") as dev:
        dev.write_track(5, 3, Track.null(5, 3))
        dev.write_track(20, 0, Track.from_records(20, 0, [(1, b"", b"not a page")]))
    info = volume_info(small, scan=True)
    assert info.formatted == [(0, 4), (6, 19)]
    assert [(f.code, f.message) for f in info.findings] == [
        ("unformatted", "TEMP cylinders 5 are not page-formatted: CP cannot use them"),
        ("unformatted", "DRCT cylinders 20 are not page-formatted: CP cannot use them")]


# -- allocation records --------------------------------------------------------------

def test_build_and_parse_allocation():
    data = build_vm370_allocation(10, [("PERM", 0, 2), ("DRCT", 5, 5), ("TDSK", 8, 9)])
    assert data == bytes([1, 1, 1, 0, 0, 4, 0, 0, 2, 2, 0xFF]) + bytes(1013)
    a = parse_vm370_allocation(data, 10)
    assert [(r.first, r.last, r.kind) for r in a.runs] == [
        (0, 2, "PERM"), (3, 4, "TEMP"), (5, 5, "DRCT"), (6, 7, "TEMP"), (8, 9, "TDSK")]
    assert a.mapped == 10 and a.findings == ()
    used = parse_vm370_allocation(bytes([4, 0x0C, 4, 0xFF]) + bytes(1020))
    assert [(r.kind, r.in_use) for r in used.runs] == [("DRCT", False), ("DRCT", True),
                                                       ("DRCT", False)]
    with pytest.raises(InvalidArgumentError):
        build_vm370_allocation(1024)
    with pytest.raises(InvalidArgumentError):
        build_vm370_allocation(10, [("PAGE", 1, 2)])


BAD_RECORDS = [
    # (data, cylinders, finding codes, runs (first, last, kind))
    (bytes([1, 1, 0x22, 0x22, 1, 0xFF]) + bytes(1018), 6, ["bad-code"],
     [(0, 1, "PERM"), (2, 3, "BAD"), (4, 4, "PERM")]),
    (bytes([1]) * 1024, 2000, ["no-end"], [(0, 1023, "PERM")]),
    (bytes([1]) * 1024, 10, ["no-end"], [(0, 9, "PERM")]),
    (bytes([0, 0xFF]), 1, ["length"], [(0, 0, "TEMP")]),
    (bytes([0, 0xFF]) + bytes(2000), 1, ["length"], [(0, 0, "TEMP")]),
    (b"", 5, ["length", "no-end"], []),
    (bytes([2, 0xFF, 0, 7]) + bytes(1020), 1, ["after-end"], [(0, 0, "TDSK")]),
    (bytes([1] * 20 + [0xFF]) + bytes(1003), 10, ["size"], [(0, 9, "PERM")]),
]


@pytest.mark.parametrize("data,cyls,codes,runs", BAD_RECORDS)
def test_bad_allocation_records_are_findings(data, cyls, codes, runs):
    a = parse_vm370_allocation(data, cyls)
    assert [f.code for f in a.findings] == codes
    assert [(r.first, r.last, r.kind) for r in a.runs] == runs
    with pytest.raises(FormatError, match="VM/370 allocation record") as exc:
        parse_vm370_allocation(data, cyls, path="x.cckd", strict=True)
    assert (exc.value.path, exc.value.track, exc.value.record) == ("x.cckd", (0, 0), 4)


def test_bad_record_on_an_image_protects_and_reports(small, tmp_path):
    codes = bytearray(build_vm370_allocation(48, [("PERM", 21, 47)]))
    codes[30:33] = b"\x33\x33\x33"
    with_r4(small, bytes(codes[:900]))
    info = volume_info(small)
    assert [f.code for f in info.findings] == ["length", "bad-code"]
    with open_dasd(small) as dev:
        kinds = [(p.first, p.last, p.kind) for p in protected_extents(dev)]
    assert (30, 32, "BAD") in kinds and all(k != "PERM" for _, _, k in kinds)
    assert (0, 0, "CYL0") in kinds
    ov = overlay_volume_info(small)
    m = build_map(parse_directory("USER U PASSWORD 1M 1M G\n MDISK 191 2305 031 001 SMALL1 "
                                  "MR\n"), None, [ov])
    assert [f.code for f in m.findings] == ["allocation", "allocation"]
    assert "SMALL1 allocation record: the record is 900 bytes" in str(m.findings[0])
    assert [o.classification for o in m.overlaps if o.second.owner == "U"] == ["into-cp"]
    r = cli("cp", "info", small)
    assert r.returncode == 1 and "finding: cylinders 30-32 have code X'33'" in r.stdout
    with pytest.raises(FormatError):
        with open_dasd(small) as dev:
            read_cp_allocation(dev, strict=True)


def test_cp370_label_without_allocation_record(small):
    with open_dasd(small, "r+") as dev:
        old = dev.read_track(0, 0)
        dev.write_track(0, 0, Track.from_records(0, 0, [r for r in old.records if r.r != 4]))
    info = volume_info(small)
    assert info.layout == "vm370" and info.extents == ()
    assert [f.code for f in info.findings] == ["missing"]
    with open_dasd(small) as dev:
        # the label alone makes the volume CP's: cylinder 0 stays protected
        assert [(p.first, p.last, p.kind) for p in protected_extents(dev)] == [(0, 0, "CYL0")]


# -- format arguments -----------------------------------------------------------------

def test_format_refuses_bad_arguments(tmp_path):
    p = tmp_path / "v.cckd"
    with pytest.raises(UnsupportedError, match="does not format a 3390"):
        format_vm370(p, "3390", volser="X")
    for extents in ([("PERM", 1, 555)], [("TEMP", 5, 9), ("PERM", 9, 10)], [("SPOL", 1, 2)],
                    [("PERM", 3, 2)], [("PERM", 1.5, 2)]):
        with pytest.raises(InvalidArgumentError):
            format_vm370(p, "3350", volser="X", extents=extents)
    with pytest.raises(InvalidArgumentError):
        format_vm370(p, "3350", volser="X", pages=[(0, 600)])
    with pytest.raises(InvalidArgumentError):
        format_vm370(p, "3350", volser="X", pages="some")
    with pytest.raises(InvalidArgumentError):
        format_vm370(p, "3350", volser="TOOLONG")
    assert list(tmp_path.iterdir()) == []


def test_format_default_pages_are_cp_space(small):
    with open_dasd(small) as dev:
        layout = layout_for("2305-1")
        assert scan_page_format(dev, layout) == list(range(21))     # cyl 0, TEMP, TDSK, DRCT
        assert len(dev.read_track(21, 0).records) <= 1               # PERM: as dasdinit left it


def test_format_refuses_existing_and_force_replaces(tmp_path, small):
    before = small.read_bytes()
    with pytest.raises(ExistsError):
        format_vm370(small, "2305-1", volser="OTHER1")
    assert small.read_bytes() == before
    format_vm370(small, "2305-1", volser="OTHER1", overwrite=True)
    assert volume_info(small).volser == "OTHER1"
    assert [p.name for p in small.parent.iterdir()] == [small.name]


# -- CLI ------------------------------------------------------------------------------

def test_cli_format_and_info(tmp_path, fixtures):
    p = tmp_path / "vm.cckd"
    r = cli("cp", "format", p, "3350", "--volser", "vm50u1", "--perm", "0-554", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["layout"], d["volser"], d["extents"]) == (
        "vm370", "VM50U1", [{"type": "PERM", "first": 0, "last": 554, "code": "01"}])
    assert _cylinder0_differences(p, fixtures / "vm50u1.cckd") == {}
    r = cli("cp", "format", p, "3350", "--volser", "vm50u1")
    assert r.returncode == 2 and r.stderr.startswith("spoolkit: error:") and "exists" in r.stderr
    r = cli("cp", "format", p, "2314", "--volser", "v14", "--temp", "1-10", "--drct", "11",
            "--perm", "12-202", "--pages", "0-3,11", "--force")
    assert r.returncode == 0, r.stderr
    r = cli("cp", "info", p, "--scan", "--json")
    d = json.loads(r.stdout)
    assert r.returncode == 1                            # TEMP 4-10 left unformatted
    assert d["page_formatted"] == [[0, 3], [11, 11]] and d["mapped_cylinders"] == 203
    assert [f["message"] for f in d["findings"]] == [
        "TEMP cylinders 4-10 are not page-formatted: CP cannot use them"]
    assert [(e["type"], e["first"], e["last"]) for e in d["extents"]] == [
        ("TEMP", 0, 10), ("DRCT", 11, 11), ("PERM", 12, 202)]
    r = cli("cp", "info", fixtures / "vm50u1.cckd")
    assert r.returncode == 0 and "PERM      0   554   555  01" in r.stdout
    assert "4 pages per track (120 per cylinder), 300-byte fillers" in r.stdout
    r = cli("cp", "info", fixtures / "vm14-3.cckd")
    assert r.returncode == 1 and "not a CP volume" in r.stdout
    for args in (("cp", "format", tmp_path / "x", "3390", "--volser", "A"),
                 ("cp", "format", tmp_path / "x", "3350", "--volser", "A", "--pages", "x"),
                 ("cp", "format", tmp_path / "x", "3350", "--volser", "A", "--temp", "9-1"),
                 ("cp", "info", tmp_path / "missing"), ("cp", "info", tmp_path)):
        r = cli(*args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, (args, r.stderr)
        assert "Traceback" not in r.stderr
    r = cli("cp", "info", tmp_path / "missing", "--json")
    assert r.returncode == 2 and json.loads(r.stdout)["error"]
    assert not (tmp_path / "x").exists()


def test_spool_verbs_name_a_vm370_volume(fixtures, tmp_path):
    shutil.copy(fixtures / "vm50u1.cckd", tmp_path / "v.cckd")
    r = cli("spool", "list", tmp_path / "v.cckd")
    assert r.returncode == 2 and "is a VM/370 CP volume VM50U1" in r.stderr


def test_page_track_builder_refuses_impossible_heads():
    layout = layout_for("3350")
    assert len(page_track(layout, 1, 29, 19456)) > 4 * 4096
    with pytest.raises(Exception, match="passes 255"):
        page_track(layout, 1, 40, 19456)


def test_kill_during_format_leaves_nothing_or_the_whole_volume(tmp_path):
    """cp format killed at 20 seeded moments: the destination is absent, or the
    old file, or the complete volume; the next run removes the killed run's temp."""
    import glob
    import random

    from conftest import IMPORT_ALL, run_killed

    from spoolkit.output import temp_pattern

    script = IMPORT_ALL + ("import sys; from spoolkit.cli import main; "
                           "print('ready', flush=True); sys.exit(main(sys.argv[1:]))")

    def argv(dst):
        return [sys.executable, "-c", script, "cp", "format", str(dst), "2305-2", "--volser",
                "KILL01", "--pages", "all", "--force"]

    first = tmp_path / "first.cckd"
    _, full, rc, err = run_killed(argv(first), None, ENV)
    assert rc == 0, err
    complete = first.read_bytes()            # the same arguments write the same bytes
    rng = random.Random(19)
    for i in range(20):
        dst = tmp_path / ("new.cckd" if i < 10 else "old.cckd")
        if i == 10:
            dst.write_bytes(b"the user's old file")
        old = dst.read_bytes() if dst.exists() else None
        _, _, rc, _ = run_killed(argv(dst), rng.uniform(0, full), ENV)
        now = dst.read_bytes() if dst.exists() else None
        assert now in (old, complete)
        if now == complete:
            assert volume_info(dst).volser == "KILL01"
    for dst in (tmp_path / "new.cckd", tmp_path / "old.cckd"):
        _, _, rc, err = run_killed(argv(dst), None, ENV)
        assert rc == 0, err
        assert dst.read_bytes() == complete and glob.glob(temp_pattern(dst)) == []


def test_dasd_write_is_guarded_by_the_vm370_allocation(small, tmp_path):
    """TEMP, TDSK, DRCT and cylinder 0 of a VM/370 volume need --override; PERM does not."""
    for cyl, refused in ((0, True), (5, True), (15, True), (20, True), (30, False)):
        f = tmp_path / f"t{cyl}.bin"
        f.write_bytes(Track.from_records(cyl, 1, [(1, b"", b"user data")]).image)
        r = cli("dasd", "write", small, cyl, 1, f)
        assert (r.returncode == 2) == refused, (cyl, r.stderr)
        with open_dasd(small) as dev:
            written = [bytes(x.data) for x in dev.read_track(cyl, 1).records] == [b"user data"]
        assert written != refused
        if refused:
            assert "protected" in r.stderr
            r = cli("dasd", "write", small, cyl, 1, f, "--override", "test")
            assert r.returncode == 0, r.stderr


def test_cp_verbs_and_stdio(tmp_path, fixtures):
    """cp format - writes the image to stdout (its message to stderr); cp info -
    reads one from stdin, piped or redirected."""
    r = subprocess.run([sys.executable, "-m", "spoolkit", "cp", "format", "-", "3350",
                        "--volser", "VM50U1", "--perm", "0-554", "--compress", "zlib"],
                       env=ENV, capture_output=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr.decode().startswith("<stdout>: VM50U1")
    (tmp_path / "out.cckd").write_bytes(r.stdout)
    assert _cylinder0_differences(tmp_path / "out.cckd", fixtures / "vm50u1.cckd") == {}
    r = subprocess.run([sys.executable, "-m", "spoolkit", "cp", "info", "-", "--json"],
                       env=ENV, capture_output=True, timeout=300, input=r.stdout)
    d = json.loads(r.stdout)
    assert r.returncode == 0 and d["path"] == "<stdin>" and d["layout"] == "vm370"
    with open(fixtures / "vm14-3.cckd", "rb") as f:
        r = subprocess.run([sys.executable, "-m", "spoolkit", "cp", "info", "-"], env=ENV,
                           capture_output=True, timeout=300, stdin=f, text=True)
    assert r.returncode == 1 and r.stdout.startswith("<stdin>: VM14-3 2314")
