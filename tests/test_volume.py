"""Spool volumes: round trips across devices, index updates, damage and recover."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spool_strategies import spoolfiles

from spoolkit.errors import (
    ChainLoopError,
    ChecksumError,
    FormatError,
    NoSpaceError,
    NotFoundError,
    ReadOnlyError,
    SpoolkitError,
    TruncatedError,
)
from spoolkit.spool import Selection, SpoolFile, System, create_volume, open_volume
from spoolkit.spool.pages import crc32c, page_crc, split_address

EXTENTS = [("SPOL", 1, 10), ("DRCT", 11, 11)]
DEVICES = [(m, s) for m in ("3390", "3380", "3350") for s in (".ckd", ".cckd")]


def _files(n=5):
    return [SpoolFile(type="PRT", owner="MAINT", spoolid=10 + i, fname=f"F{i}", ftype="LISTING",
                      records=[(0x09, b"LINE %d OF %d " % (j, i) * 8) for j in range(40 * i + 1)])
            for i in range(n)]


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(files=st.lists(spoolfiles(max_records=30), max_size=6), dev=st.sampled_from(DEVICES))
def test_round_trip_property(tmp_path_factory, files, dev):
    model, suffix = dev
    p = tmp_path_factory.mktemp("v") / ("vol" + suffix)
    with create_volume(p, model, volser="SPL001", extents=EXTENTS, cylinders=20) as vol:
        ids = [vol.add(sf) for sf in files]
    assert len(set(ids)) == len(ids)
    with open_volume(p) as vol:
        got = {sf.spoolid: sf for sf in vol.files()}
        assert sorted(got) == sorted(ids)
        for sf, sid in zip(files, ids):
            assert got[sid] == sf.with_attrs(spoolid=sid)


@pytest.mark.parametrize("model,suffix", DEVICES)
def test_add_remove_change(tmp_path, model, suffix):
    p = tmp_path / ("v" + suffix)
    files = _files()
    with create_volume(p, model, volser="SPL001", extents=EXTENTS, cylinders=20) as vol:
        for sf in files:
            assert vol.add(sf) == sf.spoolid
        assert vol.add(files[0]) == 15                 # taken ID: the next free one after it
        vol.remove(11)
        changed = vol.change(12, class_="Z", hold="user")
        assert changed.class_ == "Z" and changed == files[2].with_attrs(class_="Z", hold="user")
        free = vol.free_slots()
    with open_volume(p) as vol:
        assert vol.spoolids() == [10, 12, 13, 14, 15]
        assert vol.get(12).hold == "user"
        assert list(vol.get(13).records()) == list(files[3].records())
        with pytest.raises(NotFoundError):
            vol.get(11)
        with pytest.raises(ReadOnlyError):
            vol.remove(10)
    with open_volume(p, "r+") as vol:
        assert vol.free_slots() == free               # derived from the chains again
        sel = Selection(spoolid="12-13,15", class_="A")
        assert [sf.spoolid for sf in vol.files(sel)] == [13, 15]


def test_no_space(tmp_path):
    with create_volume(tmp_path / "v.ckd", "3350", volser="A", extents=[("SPOL", 1, 1),
                       ("DRCT", 2, 2)], cylinders=5) as vol:
        big = SpoolFile(owner="A", records=[(0x09, b"X" * 4000)] * 200)
        with pytest.raises(NoSpaceError):
            vol.add(big)
        assert vol.spoolids() == []


def test_many_files_multi_index_pages(tmp_path):
    p = tmp_path / "v.cckd"
    with create_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20) as vol:
        for i in range(300):
            vol.add(SpoolFile(owner="U%d" % i, type="PUN", records=[(0x41, b"C%d" % i)]))
        assert len(vol.cp.allocation.index_slot.to_bytes(8, "big")) == 8
        assert len(vol._index_slots) == 2
    with open_volume(p) as vol:
        assert [sf.owner for sf in vol.files()] == ["U%d" % i for i in range(300)]


def test_system_unique_ids(tmp_path):
    a = create_volume(tmp_path / "a.ckd", "3390", volser="A", extents=EXTENTS, cylinders=20)
    b = create_volume(tmp_path / "b.ckd", "3390", volser="B", extents=EXTENTS, cylinders=20)
    a.add(SpoolFile(owner="X", spoolid=7, records=[(0x09, b"a")]))
    with System([a, b]) as system:
        sid = system.add(SpoolFile(owner="Y", spoolid=7, records=[(0x09, b"b")]), volume=1)
        assert sid == 8
        assert [sf.owner for sf in system.files()] == ["X", "Y"]
        assert list(system.get(8).records()) == [(0x09, b"b")]


# -- damage --------------------------------------------------------------------

def _damaged(tmp_path, how):
    p = tmp_path / "v.ckd"
    files = _files()
    with create_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20) as vol:
        for sf in files:
            vol.add(sf)
        victim = vol.header(13)
        second = split_address(int.from_bytes(vol.read_page(victim.first)[0:4], "big"))[1]
        first = split_address(victim.first)[1]
        if how == "index":
            vol.cp.write_slots({vol.cp.allocation.index_slot: bytes(4096)})
        elif how == "link":
            page = bytearray(vol.cp.read_slot(first))
            struct.pack_into(">I", page, 0, 0)
            struct.pack_into(">I", page, 0xFD4, page_crc(page))    # only the link is wrong
            vol.cp.write_slots({first: bytes(page)})
        elif how == "crc":
            page = bytearray(vol.cp.read_slot(second))
            page[100] ^= 0xFF
            vol.cp.write_slots({second: bytes(page)})
        elif how == "loop":
            page = bytearray(vol.cp.read_slot(second))
            page[0:4] = victim.first.to_bytes(4, "big")
            struct.pack_into(">I", page, 0xFD4, page_crc(page))
            vol.cp.write_slots({second: bytes(page)})
    return p, files


@pytest.mark.parametrize("how,error", [("index", FormatError), ("link", TruncatedError),
                                       ("crc", ChecksumError), ("loop", ChainLoopError)])
def test_damage_and_recover(tmp_path, how, error):
    p, files = _damaged(tmp_path, how)
    with open_volume(p) as vol, pytest.raises(error):
        for sf in vol.files():
            list(sf.records())
    with open_volume(p, "r+") as vol:
        report = vol.recover()
    intact = [10, 11, 12, 13, 14] if how == "index" else [10, 11, 12, 14]
    assert report.kept == intact
    if how != "index":
        assert [b[1] for b in report.broken] == [13]
    with open_volume(p) as vol:
        got = list(vol.files())
        assert [sf.spoolid for sf in got] == intact
        for sf in got:
            assert sf == files[sf.spoolid - 10]


def test_recover_keeps_current_after_change(tmp_path):
    p = tmp_path / "v.ckd"
    with create_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20) as vol:
        vol.add(SpoolFile(owner="A", spoolid=3, records=[(0x09, b"x")]))
        vol.change(3, class_="Q")
        report = vol.recover()
        assert report.kept == [3] and report.broken == []
        assert vol.get(3).class_ == "Q"


def test_open_non_cp_volume(tmp_path):
    from spoolkit import create_dasd
    create_dasd(tmp_path / "p.ckd", "3390", "P", cylinders=2).close()
    with pytest.raises(SpoolkitError):
        open_volume(tmp_path / "p.ckd")


@pytest.fixture(scope="module")
def small_volume(tmp_path_factory):
    p = tmp_path_factory.mktemp("fz") / "v.ckd"
    with create_volume(p, "3350", volser="A", extents=[("SPOL", 1, 3), ("DRCT", 4, 4)],
                       cylinders=6) as vol:
        for sf in _files(3):
            vol.add(sf)
    return p


@pytest.mark.fuzz
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_hostile_index_and_header_pages(tmp_path_factory, small_volume, data):
    """Any damage to an index or header page gives a typed error or a correct listing."""
    import shutil
    p = tmp_path_factory.mktemp("h") / "v.ckd"
    shutil.copy(small_volume, p)
    with open_volume(p, "r+") as vol:
        target = data.draw(st.sampled_from(["index", "header"]))
        slot = (vol.cp.allocation.index_slot if target == "index"
                else vol.entries[data.draw(st.sampled_from(sorted(vol.entries)))].header)
        page = bytearray(vol.cp.read_slot(slot))
        for _ in range(data.draw(st.integers(1, 8))):
            off = data.draw(st.integers(0, 4095))
            page[off] = data.draw(st.integers(0, 255))
        if data.draw(st.booleans()):          # make the CRC match: parsers see the damage
            if target == "index":
                struct.pack_into(">I", page, 4092, crc32c(bytes(page[:4092])))
            else:
                struct.pack_into(">I", page, 0xFD4, page_crc(page))
        vol.cp.write_slots({slot: bytes(page)})
    with open_volume(p) as vol:
        try:
            for sf in vol.files():
                assert sum(len(b) for b in sf.record_blocks()) == sf.record_count
        except SpoolkitError:
            pass
    with open_volume(p, "r+") as vol:
        report = vol.recover()
        assert len(report.kept) >= 2 if target == "header" else len(report.kept) == 3
