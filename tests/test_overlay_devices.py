"""Volume sizes from MDISK device types: full packs of every supported type."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import ROOT
from overlay_data import VM370CE_DIRECTORY

from spoolkit.geometry import ckd_devices, fba_devices
from spoolkit.overlay import VolumeInfo, build_map, parse_directory


def _map(text, volumes=()):
    return build_map(parse_directory(text), None, volumes)


def _user(mdisks):
    return "USER ALICE X 1M 2M G\n" + "".join(f" MDISK {m}\n" for m in mdisks)


def test_cli_map_of_vm370_ce_directory_has_only_full_packs(tmp_path):
    d = tmp_path / "USER.DIRECT"
    d.write_text(VM370CE_DIRECTORY)
    r = subprocess.run([sys.executable, "-m", "spoolkit", "overlay", "map", "--directory",
                        str(d), "--json"], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr
    j = json.loads(r.stdout)
    assert j["ok"] and j["unintended"] == 0 and j["findings"] == []
    vols = {v["volser"]: v for v in j["volumes"]}
    packs = {(e["volume"], e["vaddr"]): e for v in j["volumes"] for e in v["extents"]
             if e["owner"] == "MAINT" and e["vaddr"].startswith("6")}
    assert len(packs) == 8
    assert all(e["kind"] == "full-pack" and e["start"] == 0 for e in packs.values())
    for name in ("VM14-0", "VM14-1", "VM14-2", "VM14-3"):
        assert vols[name]["size"] == 203 and packs[(name, "6D" + name[-1])]["end"] == 202
        assert vols[name]["size_source"].endswith("(2314-1: 200 + 3 alternate cyls)")
    for name in ("VM50-1", "VM50-2", "VM50U0", "VM50U1"):
        assert vols[name]["size"] == 555
        assert vols[name]["size_source"].endswith("(3350-1: 555 cyls)")
    # the 2314 without a full-pack minidisk: the device type alone gives its 200 cylinders
    assert vols["VM14-9"]["size"] == 200
    assert vols["VM14-9"]["size_source"] == "device type 2314 (2314-1: 200 cyls)"
    assert vols["VM14-9"]["gaps"] == [{"start": 0, "end": 9, "size": 10},
                                      {"start": 60, "end": 199, "size": 140}]
    # full-pack overlaps are intended, as are the $-users inside them
    assert {o["classification"] for v in j["volumes"] for o in v["overlaps"]} == {"full-pack"}


@pytest.mark.parametrize("dev", [d for d in ckd_devices() if "-" in d.name
                                 and not d.name.endswith("-x")], ids=lambda d: d.name)
def test_every_ckd_model_full_pack_with_and_without_alternates(dev):
    base = dev.devtype
    for size in {dev.cylinders, dev.cylinders + dev.alt_cylinders}:
        m = _map(_user([f"0100 {base} 0 {size} PACK01 MW", f"0191 {base} 1 1 PACK01 MR"]))
        v = m.volumes["PACK01"]
        assert v.size == size and m.ok and m.findings == []
        assert [e.kind for e in v.extents] == ["full-pack", "minidisk"]
        # the model name itself (3390-3) works as the device type too
        m = _map(_user([f"0100 {dev.name} 0 {size} PACK01 MW"]))
        assert m.volumes["PACK01"].size == size


@pytest.mark.parametrize("dev", [d for d in fba_devices() if d.blocks],
                         ids=lambda d: d.name)
def test_every_fba_model_full_pack_in_blocks(dev):
    t = dev.devtype
    m = _map(_user([f"0100 {t} 0 {dev.blocks} FBA001 MW", f"0191 {t} 100 50 FBA001 MR"]))
    v = m.volumes["FBA001"]
    assert (v.size, v.unit) == (dev.blocks, "block") and m.ok
    assert [e.kind for e in v.extents] == ["full-pack", "minidisk"]


def test_primary_cylinders_are_a_full_pack_on_an_image_with_alternates():
    # dasdinit -a: a 3350 image of 555 + 5 cylinders; the pack map MDISK says 555
    m = _map(_user(["0100 3350 0 555 VOL001 MW", "0191 3350 10 10 VOL001 MR"]),
             [VolumeInfo("VOL001", 560, devtype="3350")])
    assert [e.kind for e in m.volumes["VOL001"].extents] == ["full-pack", "minidisk"] and m.ok
    # 1113 cylinders at 0 on a 3390-9 image is an ordinary minidisk, not a full pack
    m = _map(_user(["0100 3390 0 1113 VOL002 MW", "0191 3390 10 10 VOL002 MR"]),
             [VolumeInfo("VOL002", 10017, devtype="3390")])
    assert [e.kind for e in m.volumes["VOL002"].extents] == ["minidisk", "minidisk"]
    assert [o.classification for o in m.unintended] == ["user"]
    # a pack map with the alternates on an image of only the primary cylinders: past its end
    m = _map(_user(["0100 2314 0 203 VOL003 MW"]), [VolumeInfo("VOL003", 200, devtype="2314")])
    assert [(f.code, f.line) for f in m.findings] == [("past-end", 2)]


def test_alternate_cylinders_widen_a_volume_sized_by_its_type():
    m = _map(_user(["0191 3350 550 8 VOL001 MR"]))
    v = m.volumes["VOL001"]
    assert v.size == 560 and m.findings == []
    assert v.size_source == "device type 3350 (3350-1: 555 + 5 alternate cyls)"
    m = _map(_user(["0191 3350 550 20 VOL001 MR"]))
    assert [f.code for f in m.findings] == ["past-end"]
    assert "(560 cyls)" in m.findings[0].message


def test_multi_model_type_without_full_pack_stays_unknown_but_bounded():
    m = _map(_user(["0191 3390 100 50 VOL001 MR", "0192 3390 65500 30 VOL001 MR"]))
    v = m.volumes["VOL001"]
    assert v.size is None and v.size_source is None
    assert [(f.code, f.line) for f in m.findings] == [("past-end", 3)]
    assert "largest 3390 (3390-54: 65520 + 3 alternate cyls)" in m.findings[0].message


def test_devno_and_end_on_a_single_model_type_reach_its_end():
    m = _map(_user(["0100 3350 DEVNO 0A40 MW", "0101 3350 0 END VOL001 MW",
                    "0191 3350 5 5 VOL001 MR"]))
    assert m.volumes["DEVNO:0A40"].extents[0].end == 554
    v = m.volumes["VOL001"]
    assert v.size == 555 and [(e.kind, e.end) for e in v.extents] == [
        ("full-pack", 554), ("minidisk", 9)] and m.ok


def test_device_type_mismatch_is_a_finding():
    m = _map(_user(["0100 2314 0 203 VOL001 MW", "0191 3350 1 10 VOL001 MR",
                    "0200 FB-512 0 1000 FBA001 MR", "0201 9336 1000 10 FBA001 MR"]))
    assert [(f.code, f.line) for f in m.findings] == [("devtype-mismatch", 3)]
    assert m.findings[0].message == "ALICE MDISK 0191 is a 3350, but VOL001 is a 2314 (line 2)"
    # the size still comes from the 2314 pack map
    assert m.volumes["VOL001"].size == 203


def test_pack_models_by_type_and_model():
    from spoolkit.overlay.devices import full_pack_model, pack_models
    assert [(x.name, x.primary, x.alternates) for x in pack_models("2314")] == [
        ("2314-1", 200, 3)]
    assert [x.primary for x in pack_models("3330")] == [404, 808]
    assert [x.primary for x in pack_models("3330-11")] == [808]
    assert pack_models("2319") == pack_models("2314")
    assert pack_models("FB-512") == () and pack_models("NOSUCH") == ()
    assert full_pack_model("3380", 2658).name == "3380-3"
    assert full_pack_model("3390", 3338) is None
