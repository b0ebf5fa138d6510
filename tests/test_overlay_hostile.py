"""Hostile directories and SYSTEM CONFIGs: findings naming file and line, never a traceback."""

from __future__ import annotations

import json
import time
from xml.dom.minidom import parseString

import pytest

from spoolkit.cli import main
from spoolkit.errors import InvalidArgumentError
from spoolkit.overlay import (
    Directory,
    Minidisk,
    VolumeInfo,
    build_map,
    parse_directory,
    parse_system_config,
)
from spoolkit.overlay.report import json_report, text_report, volume_svg, write_svgs


def _everything(d, cfg=None, volumes=()):
    """Map and render every way: nothing may raise."""
    m = build_map(d, cfg, volumes)
    text_report(m)
    json.dumps(json_report(m))
    for v in m.volumes.values():
        parseString(volume_svg(v))
    return m


def _codes(findings):
    return [(f.line, f.code) for f in findings]


HUGE = "9" * 5000


@pytest.mark.parametrize("mdisk, code", [
    (f"191 3390 {HUGE} 10 VOL001 MR", "range"),      # 5000 digits: int() would refuse
    (f"191 3390 0 {'9' * 400} VOL001 MR", "range"),  # a float would overflow in the SVG
    ("191 3390 268435450 10 VOL001 MR", "range"),     # past the 28-bit cylinder number
    ("191 9336 2147483000 1000 FBA001 MR", "range"),  # past DIRECTXA's FBA limit
    ("191 FB-512 V-DISK 4194297 MR", "range"),        # past DIRECTXA's V-DISK limit
    (f"191 3390 T-DISK {HUGE}", "range"),
    ("191 3390 \u00b2 10 VOL001 MR", "syntax"),       # str.isdigit() says yes, int() no
    ("191 3390 1 \u0663 VOL001 MR", "syntax"),
    ("12345 3390 1 10 VOL001 MR", "range"),           # five hex digits
    ("G91 3390 1 10 VOL001 MR", "range"),
    ("191 3390 DEVNO 1A2B3 MR", "range"),
    ("191 3390 1 10 VOLUME01 MR", "range"),           # a volser has six characters
])
def test_mdisk_numbers_addresses_and_volsers_are_range_checked(mdisk, code):
    d = parse_directory(f"USER ALICE X 1M 2M G\n MDISK {mdisk}\n MDISK 192 3390 1 5 VOL001 MR\n")
    assert _codes(d.findings) == [(2, code)]
    assert [m.vaddr for m in d.minidisks] == ["192"]
    assert len(str(d.findings[0])) < 200          # long tokens are cut in the message
    _everything(d)


def test_numbers_at_the_limits_are_accepted():
    d = parse_directory("USER ALICE X 1M 2M G\n MDISK 191 3390 268435455 1 VOL001 MR\n"
                        " MDISK 192 9336 2147483639 1 FBA001 MR\n"
                        " MDISK 193 FB-512 V-DISK 4194296 MR\n"
                        f" MDISK 194 3390 {'0' * 5000}7 3 VOL002 MR\n")
    assert d.findings == []
    assert [(m.start, m.size) for m in d.minidisks] == [
        (268435455, 1), (2147483639, 1), (None, 4194296), (7, 3)]
    _everything(d)


def test_findings_name_the_file_and_line(tmp_path):
    p = tmp_path / "USER.DIRECT"
    p.write_text("USER ALICE X 1M 2M G\n MDISK 191 3390 1 99999999999999 VOL001 MR\n")
    d = parse_directory(p)
    assert str(d.findings[0]).startswith(f"directory {p} line 2: MDISK 191: start '1' size")
    c = tmp_path / "SYSTEM.CONFIG"
    c.write_text("CP_Owned Slot 1 TOOLONGVOL\n")
    cfg = parse_system_config(c)
    assert [str(f) for f in cfg.findings] == [
        f"system config {c} line 1: CP_Owned: volser 'TOOLONGVOL' is longer than 6 "
        "characters; ignored"]


def test_directory_statement_and_include_checks():
    d = parse_directory("DIRECTORY 12345 3390 VMRES\nDIRECTORY 123 3390 VMRES123\n"
                        "PROFILE P1\n INCLUDE P2\nPROFILE P2\n"
                        "USER ALICE X 1M 2M G\n INCLUDE P1\n INCLUDE P2\n")
    assert _codes(d.findings) == [(1, "range"), (2, "range"), (4, "syntax"), (8, "syntax")]
    assert d.directory_volumes == []
    assert [(u.name, u.includes) for u in d.users] == [
        ("P1", None), ("P2", None), ("ALICE", "P1")]


def test_empty_text_is_an_empty_directory():
    d = parse_directory("")
    assert d.users == [] and d.minidisks == [] and d.findings == []


@pytest.mark.parametrize("cfg, n", [
    (f"CP_Owned Slot {HUGE} VMRES\n", 1),
    ("CP_Owned Slot \u00b2 VMRES\n", 1),
    ("CP_Owned Slot 256 VMRES\n", 1),
    ("CP_Owned LONGVOLSER\n", 1),
    ("User_Volume_List USR001 USERVOL02 USR003\n", 1),
    ("User_Volume_Include USR* USERVOL*\n", 1),
])
def test_system_config_numbers_and_volsers_are_checked(cfg, n):
    c = parse_system_config(cfg)
    assert len(c.findings) == n and c.findings[0].line == 1
    assert all(len(v) <= 6 for v in [*c.cp_owned, *c.user_volumes, *c.user_patterns])


def test_system_config_continuations_join_in_linear_time():
    # 200,000 continuation lines took 24 s when each join copied the statement so far
    n = 200_000
    text = ("User_Volume_List " + " ,\n".join(f"U{i % 100000:05d}" for i in range(n))
            + "\nCP_Owned Slot 1 VMRES\n")
    t0 = time.perf_counter()
    c = parse_system_config(text)
    assert time.perf_counter() - t0 < 5.0
    assert len(c.user_volumes) == n and c.user_volumes[-1] == "U99999"
    assert c.cp_owned == {"VMRES": 1} and c.findings == []


def test_system_config_unclosed_comments_in_linear_time():
    # 50,000 unclosed comment openers took minutes when each one was searched to the end
    text = "CP_Owned Slot 1 VMRES /* a\n*/ CP_Owned Slot 2 VMPG1\n" + "/* x\n" * 50_000
    t0 = time.perf_counter()
    c = parse_system_config(text)
    assert time.perf_counter() - t0 < 5.0
    assert c.cp_owned == {"VMRES": 1, "VMPG1": 2}
    assert _codes(c.findings) == [(3, "syntax")] and "never closed" in c.findings[0].message


def test_hand_built_directory_with_huge_numbers_maps():
    d = Directory(minidisks=[Minidisk("ALICE", "191", "3390", 10 ** 400, 10, "VOL001", "MR"),
                             Minidisk("ALICE", "192", "3390", 1, 10, "VOL001", "MR", line=3)])
    m = _everything(d)
    assert [f.code for f in m.findings] == ["range"]
    assert [e.vaddr for e in m.volumes["VOL001"].extents] == ["192"]


def test_zero_size_volume_is_a_finding_and_negative_is_refused():
    d = parse_directory("USER ALICE X 1M 2M G\n MDISK 191 3390 0 END VOL001 MR\n")
    m = _everything(d, None, [VolumeInfo("VOL001", 0)])
    assert _codes(m.findings) == [(2, "empty-volume"), (2, "past-end")]
    with pytest.raises(InvalidArgumentError, match="size -1"):
        VolumeInfo("VOL001", -1)


def test_svg_names_never_collide_and_stay_short(tmp_path):
    long = "L" * 300                       # an unlabelled image gives its file name
    d = parse_directory("USER ALICE X 1M 2M G\n MDISK 191 3390 1 10 A.B MR\n"
                        " MDISK 192 3390 1 10 A_B MR\n MDISK 193 3390 1 10 A/B MR\n"
                        " MDISK 194 3390 1 10 C\x01 MR\n")
    m = build_map(d, None, [VolumeInfo(long, 100)])
    paths = write_svgs(m, str(tmp_path))
    assert len(set(paths)) == len(m.volumes) == 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["A_B.svg", "A_B-2.svg", "A_B-3.svg", "C_.svg", "L" * 64 + ".svg"])
    for p in tmp_path.iterdir():
        parseString(p.read_text())         # a control character is no invalid XML


def test_cli_map_of_hostile_directory_exits_with_findings(tmp_path, capsys):
    p = tmp_path / "USER.DIRECT"
    p.write_text(f"USER ALICE X 1M 2M G\n MDISK 191 3390 {HUGE} 10 VOL001 MR\n"
                 f" MDISK 192 3390 1 10 {'V' * 300} MR\n MDISK 193 3390 \u00b2 1 VOL001 MR\n")
    assert main(["overlay", "map", "--directory", str(p), "--svg", str(tmp_path / "svg"),
                 "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert [(f["line"], f["code"]) for f in j["findings"]] == [
        (2, "range"), (3, "range"), (4, "syntax")]


def test_mutually_overlapping_minidisks_are_counted_not_all_listed():
    # 1,500 identical minidisks: 1,124,250 pairs took 2.5 GB and minutes to list and draw
    import tracemalloc

    from spoolkit.overlay.map import OVERLAP_LIMIT
    n = 1500
    text = "USER A X 1M 1M G\n" + "".join(f" MDISK {i:04X} 3390 1 10 VOL001 MR\n"
                                          for i in range(n))
    t0 = time.perf_counter()
    tracemalloc.start()
    try:
        m = build_map(parse_directory(text))
        v = m.volumes["VOL001"]
        svg = volume_svg(v)
        js = json.dumps(json_report(m))
        report = text_report(m)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - t0 < 20.0
    assert peak < 150 << 20
    listed = len(v.unintended)
    assert listed == OVERLAP_LIMIT + 2 * n
    assert v.unintended_count == m.unintended_count == n * (n - 1) // 2 and not m.ok
    assert v.omitted == v.omitted_unintended == n * (n - 1) // 2 - listed
    assert json.loads(js)["unintended"] == n * (n - 1) // 2
    assert f"{n * (n - 1) // 2 - listed} more overlapping pairs not listed" in report
    assert svg.count('stroke="#d00000"') == listed
    # one lane per minidisk: they all overlap
    assert f'y="{50 + 22 * (n - 1)}"' in svg and f'y="{50 + 22 * n}"' not in svg


def test_svg_reuses_the_lowest_free_lane():
    d = parse_directory("USER A X 1M 1M G\n MDISK 0191 3390 1 10 V1 MR\n"
                        " MDISK 0192 3390 2 10 V1 MR\n MDISK 0193 3390 3 2 V1 MR\n"
                        " MDISK 0194 3390 6 20 V1 MR\n MDISK 0195 3390 12 3 V1 MR\n")
    svg = volume_svg(build_map(d).volumes["V1"])
    lanes = [int(r.getAttribute("y")) for r in parseString(svg).getElementsByTagName("rect")
             if r.getAttribute("fill") == "#8ecae6" and r.getElementsByTagName("title")]
    # 0193 ends at 4: 0194 takes its lane 2; 0191 and 0192 end at 10, 11: 0195 takes lane 0
    assert lanes == [50, 72, 94, 94, 50]


def test_overlap_listing_budget_is_for_the_whole_map():
    from spoolkit.overlay.map import OVERLAP_LIMIT
    vols, per = 300, 40
    text = "USER A X 1M 1M G\n" + "".join(f" MDISK {i:04X} 3390 1 10 V{v:05d} MR\n"
                                          for v in range(vols) for i in range(per))
    m = build_map(parse_directory(text))
    assert m.unintended_count == vols * per * (per - 1) // 2
    assert len(m.unintended) == OVERLAP_LIMIT + 2 * vols * per
    assert sum(v.omitted_unintended for v in m.volumes.values()) == (
        m.unintended_count - len(m.unintended))


@pytest.mark.parametrize("bad", [(1,), (5, 2), (-1, 3), ("a", "b"), (1.5, 2), None, 7,
                                 (0, float("inf")), (1, 2, "PAGE", "OWNER", "x")])
def test_guard_refuses_bad_protected_extents_with_a_typed_error(bad):
    from spoolkit.overlay import guard

    class Dev:
        path = "v.3390"

    with pytest.raises(InvalidArgumentError, match="bad protected extent"):
        guard(Dev(), [bad])


def test_cli_svg_refuses_existing_files_unless_forced(tmp_path, capsys):
    p = tmp_path / "USER.DIRECT"
    p.write_text("USER A X 1M 1M G\n MDISK 0191 3390 1 10 V1 MR\n MDISK 0192 3390 1 1 V2 MR\n")
    svg = tmp_path / "svg"
    assert main(["overlay", "map", "--directory", str(p), "--svg", str(svg)]) == 0
    (svg / "V2.svg").write_text("mine")
    (svg / "V1.svg").unlink()
    assert main(["overlay", "map", "--directory", str(p), "--svg", str(svg)]) == 2
    assert "V2.svg" in capsys.readouterr().err
    # all or nothing: V1.svg was not written either, V2.svg is untouched
    assert sorted(x.name for x in svg.iterdir()) == ["V2.svg"]
    assert (svg / "V2.svg").read_text() == "mine"
    assert main(["overlay", "map", "--directory", str(p), "--svg", str(svg), "--force"]) == 0
    assert (svg / "V2.svg").read_text().startswith("<svg")
    assert (svg / "V1.svg").read_text().startswith("<svg")
