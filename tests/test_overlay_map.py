"""Directory, SYSTEM CONFIG and the classified DIRMAP-style map."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from overlay_data import VM370_DIRECTORY, ZVM_DIRECTORY, ZVM_SYSTEM_CONFIG

from spoolkit.cli import main
from spoolkit.dasd.track import Track
from spoolkit.overlay import (
    VolumeInfo,
    build_map,
    parse_directory,
    parse_system_config,
    volume_info,
)
from spoolkit.overlay.report import json_report, text_report, volume_svg, write_svgs


def flagged(m):
    """{(classification, area, owner/vaddr pair)} of the unintended overlaps."""
    return {(o.classification, o.area, o.volume,
             frozenset({f"{o.first.owner} {o.first.vaddr}", f"{o.second.owner} {o.second.vaddr}"}))
            for o in m.unintended}


# -- VM/370 ---------------------------------------------------------------------

def test_vm370_directory_parses():
    d = parse_directory(VM370_DIRECTORY)
    assert d.findings == []
    assert [u.name for u in d.users][:3] == ["$ALLOC$", "$DIRECT$", "$PAGE$"]
    assert d.directory_volumes == [{"vaddr": "123", "devtype": "3330", "volser": "VM370R",
                                    "line": 2}]
    assert len(d.minidisks) == 19
    md = [m for m in d.minidisks if m.owner == "MAINT" and m.vaddr == "194"][0]
    assert (md.start, md.size, md.end, md.volser, md.mode, md.unit) == (
        83, 100, 182, "VM370R", "MR", "cyl")


def test_vm370_map_classifies_exactly():
    m = build_map(parse_directory(VM370_DIRECTORY))
    assert sorted(m.volumes) == ["VM370R", "VM370S", "VM370U"]
    assert flagged(m) == {
        ("user", None, "VM370U", frozenset({"OPERATOR 191", "BADUSER 191"})),
        ("into-cp", "SPOL", "VM370S", frozenset({"SPOOLER 191", "$SPOOL$ A01"})),
    }
    u = [o for o in m.unintended if o.classification == "user"][0]
    assert (u.start, u.end) == (25, 30)
    s = [o for o in m.unintended if o.classification == "into-cp"][0]
    assert (s.start, s.end) == (260, 264)
    # every other overlap is a full-pack MAINT disk or a $-user marker
    intended = {o.classification for o in m.overlaps if o.intended}
    assert intended == {"full-pack"}
    for v in m.volumes.values():
        assert v.size == 404 and v.size_source.startswith("full-pack minidisk")
        fp = [e for e in v.extents if e.kind == "full-pack"]
        assert [(e.owner, e.start, e.end) for e in fp] == [("MAINT", 0, 403)]
        # each non-full-pack extent overlaps the full pack exactly once
        assert sum(o.classification == "full-pack" for o in v.overlaps) == len(v.extents) - 1
    r = m.volumes["VM370R"]
    kinds = [(e.owner, e.kind, e.area) for e in r.extents if e.kind == "locked-out"]
    assert kinds == [("$ALLOC$", "locked-out", "ALLOC"), ("$DIRECT$", "locked-out", "DRCT"),
                     ("$PAGE$", "locked-out", "PAGE")]
    assert r.gaps == [(283, 379)]
    assert m.volumes["VM370U"].gaps == [(35, 39), (60, 403)]
    assert m.findings == []
    assert not m.ok


def test_vm370_text_report_reads_like_dirmap():
    m = build_map(parse_directory(VM370_DIRECTORY))
    text = text_report(m)
    assert "VOLUME VM370R  404 cyls" in text
    assert text.count("*OVERLAP*") == 2
    assert "INTO CP-OWNED SPOL AREA" in text
    assert "BETWEEN USER MINIDISKS" in text
    assert "OVERLAP   full-pack  7 extents inside full-pack minidisks (intended)" in text
    # listing in address order with GAP lines
    block = text.split("VOLUME VM370R")[1].split("VOLUME")[0]
    rows = [ln.split() for ln in block.splitlines()[2:] if ln.strip()
            and not ln.strip().startswith(("OVERLAP", "*OVERLAP"))]
    starts = [int(r[1]) if r[0] == "GAP" else int(r[2]) for r in rows]
    assert starts == sorted(starts)
    assert ["GAP", "283", "379", "97"] in rows


def test_card_images_ignore_sequence_columns():
    cards = "\n".join(f"{ln:<72}{'VMD%05d' % (i * 10)}"[:80]
                      for i, ln in enumerate(VM370_DIRECTORY.splitlines(), 1))
    a = parse_directory(VM370_DIRECTORY)
    b = parse_directory(cards)
    assert b.findings == []
    assert [m.to_dict() for m in a.minidisks] == [m.to_dict() for m in b.minidisks]


def test_dollar_user_mdisks_alone_mark_cp_areas_for_guard():
    from spoolkit.overlay.guard import protected_extents

    class Dev:  # a volume without an allocation map: only the directory's locks count
        path, volser, cylinders = "vm370s.3330", "VM370S", 404

        def read_track(self, cyl, head):
            return Track.null(cyl, head)

    prot = protected_extents(Dev(), parse_directory(VM370_DIRECTORY))
    assert [(p.first, p.last, p.kind) for p in prot] == [
        (0, 0, "ALLOC"), (0, 0, "CYL0"), (200, 349, "SPOL"), (350, 403, "TDSK")]


# -- z/VM --------------------------------------------------------------------------

def test_system_config():
    c = parse_system_config(ZVM_SYSTEM_CONFIG)
    assert c.findings == []
    assert c.cp_owned == {"ZVMRES": 1, "ZVMPG1": 2, "ZVMSP1": 3}
    assert c.user_volumes == ["USR001", "FBA001"]
    assert c.knows("LX0001") and c.knows("usr001") and not c.knows("XYZ001")
    c2 = parse_system_config("CP_Owned Slot 0 BAD\nCP_Owned ZVMX01\nCP_Owned Slot\n"
                             "/* multi\n line */ User_Volume_List\n")
    assert c2.cp_owned == {"ZVMX01": None}
    assert [(f.line, f.code) for f in c2.findings] == [(1, "syntax"), (3, "syntax"),
                                                         (5, "syntax")]


def test_zvm_directory_parses():
    d = parse_directory(ZVM_DIRECTORY)
    assert d.findings == []
    by = {(m.owner, m.vaddr): m for m in d.minidisks}
    assert by[("LNXADMIN", "0191")].volser == "USR001"   # SUBCONFIG belongs to its identity
    assert by[("MAINT", "0122")].kind == "devno" and by[("MAINT", "0122")].volser == "DEVNO:0A40"
    assert by[("MAINT", "0123")].size is None            # END
    assert by[("MAINT", "0300")].kind == "v-disk" and by[("MAINT", "0300")].size == 512000
    assert by[("LINUX01", "0300")].kind == "t-disk"
    assert by[("MAINT", "0400")].unit == "block"
    assert [u.includes for u in d.users if u.name == "MAINT"] == ["IBMDFLT"]


def test_zvm_map_classifies_exactly():
    m = build_map(parse_directory(ZVM_DIRECTORY), parse_system_config(ZVM_SYSTEM_CONFIG))
    assert sorted(m.volumes) == ["DEVNO:0A40", "FBA001", "USR001", "ZVMPG1", "ZVMRES",
                                 "ZVMSP1"]
    assert flagged(m) == {
        ("user", None, "FBA001", frozenset({"MAINT 0401", "LINUX01 0200"})),
        ("into-cp", "CYL0", "ZVMPG1", frozenset({"LINUX01 0201", "CP "})),
    }
    res = m.volumes["ZVMRES"]
    assert res.cp_owned and sorted(e.kind for e in res.extents) == ["cp", "full-pack"]
    assert [o.classification for o in res.overlaps] == ["full-pack"]
    assert m.volumes["DEVNO:0A40"].extents[0].kind == "full-pack"
    assert m.volumes["DEVNO:0A40"].extents[0].to_end
    assert "MAINT    0123           0        END          ?  full-pack" in text_report(m)
    fba = m.volumes["FBA001"]
    assert fba.unit == "block" and [(e.start, e.end) for e in fba.extents] == [
        (0, 199999), (200000, 299999), (250000, 259999)]
    assert [(v.owner, v.vaddr, v.kind) for v in m.virtual] == [
        ("MAINT", "0300", "v-disk"), ("LINUX01", "0300", "t-disk")]
    assert m.findings == []


@pytest.fixture
def fake_cp(monkeypatch):
    """spoolkit.cp.read_cp_extents answering from a table (volser -> CP areas)."""
    maps = {}

    class Ext:
        def __init__(self, kind, first, last):
            self.kind, self.first_cyl, self.last_cyl = kind, first, last

    import spoolkit.cp

    monkeypatch.setattr(spoolkit.cp, "read_cp_extents",
                        lambda dev: [Ext(*x) for x in maps.get(dev.volser, [])])
    return maps


def test_volume_images_bring_size_and_allocation_map(tmp_path, fake_cp):
    import spoolkit
    spoolkit.create_dasd(tmp_path / "pg1.3390", "3390", "ZVMPG1", cylinders=700).close()
    fake_cp["ZVMPG1"] = [("PERM", 0, 0), ("PAGE", 1, 599), ("PERM", 600, 699)]
    info = volume_info(tmp_path / "pg1.3390")
    assert (info.volser, info.size, info.unit, info.cp_owned) == ("ZVMPG1", 700, "cyl", True)
    assert info.cp_areas == [("PERM", 0, 0), ("PAGE", 1, 599), ("PERM", 600, 699)]
    m = build_map(parse_directory(ZVM_DIRECTORY), parse_system_config(ZVM_SYSTEM_CONFIG), [info])
    pg = m.volumes["ZVMPG1"]
    got = {(o.classification, o.area, o.second.vaddr if o.second.owner == "LINUX01"
            else o.first.vaddr) for o in pg.overlaps if "LINUX01" in (o.first.owner,
                                                                       o.second.owner)}
    assert [(o.classification, {o.first.area, o.second.area}) for o in pg.overlaps
            if o.first.owner == o.second.owner == "CP"] == [("locked-out", {"CYL0", "PERM"})]
    assert got == {("perm", "PERM", "0201"), ("into-cp", "PAGE", "0201"),
                   ("into-cp", "CYL0", "0201"), ("into-cp", "PAGE", "0202"),
                   ("perm", "PERM", "0202")}
    # cylinder 0 stays protected although the map calls it PERM
    assert [e.area for e in pg.extents if e.kind == "cp"] == ["CYL0", "PERM", "PAGE", "PERM"]


def test_cli_map(tmp_path, capsys, fake_cp):
    d = tmp_path / "USER.DIRECT"
    d.write_text(VM370_DIRECTORY)
    assert main(["overlay", "map", "--directory", str(d), "--svg", str(tmp_path / "svg")]) == 1
    out = capsys.readouterr().out
    assert out.count("*OVERLAP*") == 2
    assert sorted(p.name for p in (tmp_path / "svg").iterdir()) == [
        "VM370R.svg", "VM370S.svg", "VM370U.svg"]
    svg = (tmp_path / "svg" / "VM370S.svg").read_text()
    assert svg.startswith("<svg") and 'stroke="#d00000"' in svg and "$SPOOL$" in svg
    from xml.dom.minidom import parseString
    rects = parseString(svg).getElementsByTagName("rect")
    titles = [r.getElementsByTagName("title")[0].firstChild.data for r in rects
              if r.getElementsByTagName("title")]
    assert len(titles) == 6 + 1          # 6 extents + 1 unintended overlap outline
    assert any("INTO CP-OWNED SPOL AREA" in t for t in titles)
    assert main(["overlay", "map", "--directory", str(d), "--json"]) == 1
    j = json.loads(capsys.readouterr().out)
    assert j["unintended"] == 2 and not j["ok"]
    good = tmp_path / "good.direct"
    good.write_text(VM370_DIRECTORY.split("USER BADUSER")[0])
    assert main(["overlay", "map", "--directory", str(good)]) == 0
    assert main(["overlay", "map", "--directory", str(tmp_path / "missing")]) == 2
    assert "missing" in capsys.readouterr().err
    junk = tmp_path / "junk.img"
    junk.write_bytes(b"CKD_X370" + bytes(100))
    assert main(["overlay", "map", "--directory", str(d), "--volume", str(junk)]) == 2
    assert "junk.img" in capsys.readouterr().err
    assert main(["overlay", "map", "--directory", str(d), "--system-config",
                 str(tmp_path / "nocfg")]) == 2
    assert main(["overlay", "map", "--directory", str(d), "--problems"]) == 1
    out = capsys.readouterr().out
    assert "OVERLAP   full-pack" not in out and out.count("*OVERLAP*") == 2


def test_cli_with_volume_and_system_config(tmp_path, capsys, fake_cp):
    import spoolkit
    spoolkit.create_dasd(tmp_path / "pg1.3390", "3390", "ZVMPG1", cylinders=700).close()
    fake_cp["ZVMPG1"] = [("PERM", 0, 0), ("PAGE", 1, 599), ("PERM", 600, 699)]
    (tmp_path / "d").write_text(ZVM_DIRECTORY)
    (tmp_path / "c").write_text(ZVM_SYSTEM_CONFIG)
    rc = main(["overlay", "map", "--directory", str(tmp_path / "d"), "--system-config",
               str(tmp_path / "c"), "--volume", str(tmp_path / "pg1.3390"), "--json"])
    assert rc == 1
    j = json.loads(capsys.readouterr().out)
    pg = [v for v in j["volumes"] if v["volser"] == "ZVMPG1"][0]
    assert pg["size"] == 700 and pg["size_source"] == "image"
    assert sum(not o["intended"] for o in pg["overlaps"]) == 3


# -- bad input -------------------------------------------------------------------

BAD_DIRECTORY = """\
USER ALICE X 1M 2M G
 MDISK 191 3390 10 -5 VOL001 MR
 MDISK 192 3390 abc 10 VOL001 MR
 MDISK 193 3390 10
 FROBNICATE ALL THE THINGS
 MDISK 194 3390 20 10 VOL001 MR
 MDISK 195 3390 2000 500 VOL001 MR
 MDISK 196 3390 30 10 NOSUCH MR
 MDISK 197 3390 V-DISK -1
 MDISK 198 3390 40 0 VOL001 MR
"""


def test_bad_input_named_by_line_and_rest_still_mapped(tmp_path):
    import spoolkit
    spoolkit.create_dasd(tmp_path / "v.3390", "3390", "VOL001", cylinders=2226).close()
    d = parse_directory(BAD_DIRECTORY)
    assert [(f.line, f.code) for f in d.findings] == [
        (2, "syntax"), (3, "syntax"), (4, "syntax"), (5, "unknown"), (9, "syntax"),
        (10, "syntax")]
    msgs = [str(f) for f in d.findings]
    assert msgs[0] == "directory line 2: MDISK 191: size '-5' is not a positive number or END"
    assert "'abc'" in msgs[1] and "FROBNICATE" in msgs[3]
    m = build_map(d, None, [volume_info(tmp_path / "v.3390")])
    extra = [(f.line, f.code) for f in m.findings[len(d.findings):]]
    assert extra == [(7, "past-end"), (8, "unknown-volser")]
    assert "past the end of VOL001 (2226 cyls)" in m.findings[6].message
    assert [(e.vaddr, e.start, e.end) for e in m.volumes["VOL001"].extents] == [
        ("194", 20, 29), ("195", 2000, 2499)]
    assert [(e.vaddr) for e in m.volumes["NOSUCH"].extents] == ["196"]
    assert "directory line 7" in text_report(m)


def test_mdisk_outside_user_and_bad_sysconfig_slot():
    d = parse_directory("MDISK 191 3390 1 10 V1 MR\nUSER\n")
    assert [(f.line, f.code) for f in d.findings] == [(1, "syntax"), (2, "syntax")]
    assert d.minidisks[0].owner == "?"


LINE = st.one_of(
    st.text(max_size=90),
    st.lists(st.sampled_from(["USER", "MDISK", "IDENTITY", "SUBCONFIG", "DEVNO", "END",
                              "V-DISK", "T-DISK", "DIRECTORY", "INCLUDE", "PROFILE", "3390",
                              "FB-512", "9336", "0", "-1", "10", "99999999999", "VOL001",
                              "$ALLOC$", "*", ",", "MR", "/*", "*/", "CP_Owned", "Slot",
                              "User_Volume_List", "User_Volume_Include"]),
             max_size=8).map(" ".join),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(LINE, max_size=30))
def test_parsers_never_crash(lines):
    text = "\n".join(lines) + "\n"
    d = parse_directory(text)
    c = parse_system_config(text)
    m = build_map(d, c, [VolumeInfo("VOL001", 100)])
    text_report(m)
    json.dumps(json_report(m))
    for v in m.volumes.values():
        volume_svg(v)
    assert all(f.line is None or 1 <= f.line <= text.count("\n") + 1 for f in m.findings)


def test_write_svgs_names(tmp_path):
    m = build_map(parse_directory(ZVM_DIRECTORY))
    paths = write_svgs(m, str(tmp_path))
    assert any(p.endswith("DEVNO_0A40.svg") for p in paths)


SPAN = st.tuples(st.integers(0, 60), st.integers(0, 20),
                 st.sampled_from(["minidisk", "full-pack", "locked-out", "cp"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(SPAN, max_size=25))
def test_sweep_finds_exactly_the_overlapping_pairs(spans):
    from spoolkit.overlay.extents import Extent, gaps, sweep
    ex = [Extent("V", f"U{i}", "191", s, s + n, k, "SPOL" if k in ("cp", "locked-out") else None)
          for i, (s, n, k) in enumerate(spans)]
    got = {frozenset({o.first.owner, o.second.owner}): (o.start, o.end) for o in sweep(ex)}
    want = {frozenset({a.owner, b.owner}): (max(a.start, b.start), min(a.end, b.end))
            for i, a in enumerate(ex) for b in ex[i + 1:]
            if a.start <= b.end and b.start <= a.end}
    assert got == want
    assert len(sweep(ex)) == len(want)
    covered = {c for e in ex if e.kind != "full-pack" for c in range(e.start, e.end + 1)}
    holes = {c for a, b in gaps(ex, 100) for c in range(a, b + 1)}
    assert holes == set(range(100)) - covered


def test_paths_and_fba_volume_info(tmp_path, fake_cp):
    from spoolkit.dasd.fba import create_fba
    p = tmp_path / "USER.DIRECT"
    p.write_text(ZVM_DIRECTORY)
    assert parse_directory(str(p)).path == str(p)
    assert len(parse_directory(p).minidisks) == 12
    with pytest.raises(FileNotFoundError):
        parse_directory(str(tmp_path / "NO.DIRECT"))
    create_fba(tmp_path / "f.fba", "9336", blocks=280000, volser="FBA001").close()
    info = volume_info(str(tmp_path / "f.fba"))
    assert (info.volser, info.size, info.unit, info.cp_owned) == ("FBA001", 280000, "block",
                                                                   False)
    m = build_map(parse_directory(p), parse_system_config(ZVM_SYSTEM_CONFIG), [info])
    assert [(f.line, f.code) for f in m.findings] == [(18, "past-end")]
    assert m.volumes["FBA001"].gaps == []


# -- PROFILE / INCLUDE -------------------------------------------------------------

def test_profile_mdisk_is_a_finding_not_a_minidisk():
    from overlay_data import PROFILE_DIRECTORY
    d = parse_directory(PROFILE_DIRECTORY)
    # the profile follows its users: INCLUDE resolved after parsing, no undefined-profile
    assert [(u.name, u.kind, u.includes, u.include_line) for u in d.users] == [
        ("ALICE", "USER", "LNXPROF", 2), ("BOB", "USER", "LNXPROF", 5),
        ("LNXPROF", "PROFILE", None, None), ("UNUSED", "PROFILE", None, None)]
    assert [(f.line, f.code) for f in d.findings] == [(10, "mdisk-in-profile")]
    assert str(d.findings[0]) == (
        "directory line 10: MDISK 0200 in PROFILE LNXPROF: z/VM allows MDISK only in USER, "
        "IDENTITY and SUBCONFIG entries (DIRECTXA rejects it); not mapped, not given to the "
        "2 users including it (ALICE, BOB)")
    # neither the profile nor its includers own the rejected disk
    assert [(m.owner, m.vaddr, m.start, m.end, m.line) for m in d.minidisks] == [
        ("ALICE", "0191", 1, 10, 3), ("BOB", "0191", 11, 20, 6), ("BOB", "0200", 100, 149, 7)]
    m = build_map(d)
    vol = m.volumes["USR002"]
    assert [(e.owner, e.vaddr, e.start, e.end, e.kind) for e in vol.extents] == [
        ("ALICE", "0191", 1, 10, "minidisk"), ("BOB", "0191", 11, 20, "minidisk"),
        ("BOB", "0200", 100, 149, "minidisk")]
    assert vol.overlaps == [] and m.ok
    assert vol.gaps == [(0, 0), (21, 99)]
    text = text_report(m)
    assert "LNXPROF" not in text.split("FINDINGS")[0]
    assert "directory line 10: MDISK 0200 in PROFILE LNXPROF" in text
    assert [f["code"] for f in json_report(m)["findings"]] == ["mdisk-in-profile"]


def test_unused_profile_gives_no_findings():
    from overlay_data import PROFILE_DIRECTORY
    unused = PROFILE_DIRECTORY[PROFILE_DIRECTORY.index("PROFILE UNUSED"):]
    d = parse_directory(unused + "USER CAROL X 1M 2M G\n MDISK 0191 3390 1 10 USR002 MR\n")
    assert d.findings == [] and [u.kind for u in d.users] == ["PROFILE", "USER"]
    m = build_map(d)
    assert m.findings == [] and m.overlaps == [] and m.ok
    # an unused profile holding a full-pack MDISK: one finding, no extent, no overlap
    spare = "PROFILE SPARE\n MDISK 0191 3390 0 END USR002 MR\n"
    d = parse_directory(spare + "USER CAROL X 1M 2M G\n MDISK 0191 3390 1 10 USR002 MR\n")
    assert [(f.line, f.code) for f in d.findings] == [(2, "mdisk-in-profile")]
    assert d.findings[0].message.endswith("not mapped, and no user includes the profile")
    m = build_map(d)
    assert [(e.owner, e.kind) for e in m.volumes["USR002"].extents] == [("CAROL", "minidisk")]
    assert m.overlaps == [] and len(m.findings) == 1


def test_include_of_undefined_profile_is_a_finding():
    d = parse_directory("USER DAVE X 1M 2M G\n INCLUDE NOSUCH\n MDISK 0191 3390 1 10 V1 MR\n"
                        "IDENTITY ERIN X 1M 2M G\n INCLUDE IBMDFLT\n BUILD ON SYSA USING "
                        "SUBCONFIG ERIN-1\nSUBCONFIG ERIN-1\n MDISK 0191 3390 20 5 V1 MR\n"
                        "PROFILE IBMDFLT\n SPOOL 000C 2540 READER *\n")
    # ERIN's profile comes later and is defined; the SUBCONFIG's identity link is not a profile
    assert [(f.line, f.code, f.message) for f in d.findings] == [
        (2, "undefined-profile",
         "USER DAVE includes PROFILE NOSUCH, which this directory does not define")]
    assert [(m.owner, m.vaddr) for m in d.minidisks] == [("DAVE", "0191"), ("ERIN", "0191")]


def test_cli_map_reports_profile_mdisk(tmp_path, capsys):
    from overlay_data import PROFILE_DIRECTORY
    p = tmp_path / "USER.DIRECT"
    p.write_text(PROFILE_DIRECTORY + "USER FRANK X 1M 2M G\n INCLUDE GONE\n")
    assert main(["overlay", "map", "--directory", str(p), "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert [(f["line"], f["code"]) for f in j["findings"]] == [
        (10, "mdisk-in-profile"), (16, "undefined-profile")]
    assert [(e["owner"], e["vaddr"]) for v in j["volumes"] for e in v["extents"]] == [
        ("ALICE", "0191"), ("BOB", "0191"), ("BOB", "0200")]
