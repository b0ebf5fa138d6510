"""CP-formatted volumes: track 0 layout, SPKALLOC, slots, peers."""

from __future__ import annotations

import struct

import pytest

from spoolkit import open_dasd
from spoolkit.cp import format_volume, open_cp_volume, read_allocation, read_cp_extents
from spoolkit.cp.volume import MAGIC
from spoolkit.dasd.track import Track
from spoolkit.errors import AddressError, ChecksumError, FormatError, InvalidArgumentError
from spoolkit.spool.pages import crc32c

EXTENTS = [("SPOL", 1, 10), ("DRCT", 11, 11), ("PAGE", 12, 19)]
MODELS = [("3390-3", 15, 12), ("3380", 15, 10), ("3350", 30, 4)]


@pytest.mark.parametrize("model,heads,spt", MODELS)
@pytest.mark.parametrize("suffix", [".ckd", ".cckd"])
def test_format_track0_and_slots(tmp_path, model, heads, spt, suffix):
    p = tmp_path / ("v" + suffix)
    format_volume(p, model, volser="spl001", extents=EXTENTS, cylinders=20)
    with open_dasd(p) as dev:
        assert dev.kind == ("CCKD" if suffix == ".cckd" else "CKD")
        assert dev.volser == "SPL001"
        recs = {r.r: r for r in dev.read_track(0, 0).records}
        assert bytes(recs[1].key).decode("cp037") == "IPL1"
        vol1 = bytes(recs[3].data)
        assert vol1[46:51].decode("cp037") == "CPVOL"
        assert vol1[11:16] == bytes([0, 0, 0, 0, 5])
        alloc = bytes(recs[4].data)
        assert alloc[:8] == MAGIC and struct.unpack_from(">HH", alloc, 8) == (2, 3)
        assert alloc[12:16].decode("cp037") == "SPOL"
        assert struct.unpack_from(">II", alloc, 16) == (1, 10)
        # index slot, pages, files, generation; CRC-32C of all before it
        assert len(alloc) == 12 + 3 * 12 + 28
        assert struct.unpack_from(">QIIQ", alloc, 48) == (0, 0, 0, 0)
        assert struct.unpack_from(">I", alloc, 72)[0] == crc32c(alloc[:72])
        assert bytes(recs[5].key) == b"\x04" * 44 and recs[5].data[0] == 0xF4
        assert recs[6].data[0] == 0xF5 and bytes(recs[6].data[1:]) == bytes(95)
        assert [(e.kind, e.first_cyl, e.last_cyl) for e in read_cp_extents(dev)] == \
            sorted([tuple(e) for e in EXTENTS], key=lambda e: e[1])
    with open_cp_volume(p, "r+") as cp:
        assert cp.slots_per_track == spt
        first = cp.slot_ranges(["SPOL"])[0]
        assert first.start == 1 * heads * spt + 1
        assert cp.locate(first.start + spt + 1) == (1, 1, 2)
        assert cp.read_slot(first.start) == bytes(4096)          # lazy format: zero page
        cp.write_slots({first.start: b"\x01" * 4096, first.start + spt: b"\x02" * 4096})
    with open_cp_volume(p) as cp:
        assert cp.read_slot(first.start) == b"\x01" * 4096
        assert cp.read_slot(first.start + 1) == bytes(4096)
        assert cp.read_slot(first.start + spt) == b"\x02" * 4096
        trk = cp.dev.read_track(1, 0)
        assert [r.r for r in trk.records] == list(range(1, spt + 1))
        assert all(r.dl == 4096 for r in trk.records)
        with pytest.raises(AddressError):
            cp.read_slot(5)                                       # cylinder 0


@pytest.mark.parametrize("bad", [
    [("SPOL", 0, 3)], [("SPOL", 1, 5), ("DRCT", 5, 6)], [("XXXX", 1, 2)], [("SPOL", 3, 2)],
    [("SPOL", 1, 20)],
])
def test_bad_extents(tmp_path, bad):
    with pytest.raises(InvalidArgumentError):
        format_volume(tmp_path / "v.ckd", "3390", volser="A", extents=bad, cylinders=20)
    assert not (tmp_path / "v.ckd").exists()


def test_no_allocation_map(tmp_path):
    from spoolkit import create_dasd
    with create_dasd(tmp_path / "plain.ckd", "3390", "PLAIN", cylinders=3) as dev:
        assert read_cp_extents(dev) == []
        with pytest.raises(FormatError):
            read_allocation(dev)


def _rewrite_alloc(p, change, recrc=True):
    with open_dasd(p, "r+") as dev:
        recs = dev.read_track(0, 0).records
        data = bytearray(recs[3].data)
        change(data)
        if recrc:
            struct.pack_into(">I", data, len(data) - 4, crc32c(bytes(data[:-4])))
        dev.write_track(0, 0, Track.from_records(0, 0, [
            (r.r, bytes(r.key), bytes(data) if r.r == 4 else bytes(r.data)) for r in recs]))


def test_damaged_allocation_map(tmp_path):
    p = tmp_path / "v.ckd"
    format_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20)
    _rewrite_alloc(p, lambda d: struct.pack_into(">II", d, 16, 9, 12))   # overlaps DRCT 11
    with open_dasd(p) as dev, pytest.raises(FormatError, match="overlap"):
        read_allocation(dev)


@pytest.mark.parametrize("off", [8 + 2, 16, 48 + 7, 56, 60 + 3, 64 + 7])
def test_allocation_map_crc_covers_every_field(tmp_path, off):
    """Extents, index pointer, page and file counts and generation are all
    CRC-covered: one flipped bit anywhere is a ChecksumError."""
    p = tmp_path / "v.ckd"
    format_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20)
    _rewrite_alloc(p, lambda d: d.__setitem__(off, d[off] ^ 1), recrc=False)
    with open_dasd(p) as dev, pytest.raises(ChecksumError, match="SPKALLOC CRC"):
        read_allocation(dev)


@pytest.mark.parametrize("fields,match", [
    ((5, 0, 0, 1), "index of 0 pages from slot 5"),
    ((0, 1, 0, 1), "index of 1 pages from slot 0"),
    ((5, 1, 300, 1), "with 300 files"),
    ((5, 1, 10000, 1), "with 10000 files"),
    ((5, 2**31, 1, 1), "index of 2147483648 pages"),
])
def test_allocation_map_counts_range_checked(tmp_path, fields, match):
    p = tmp_path / "v.ckd"
    format_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20)
    _rewrite_alloc(p, lambda d: struct.pack_into(">QIIQ", d, 48, *fields))
    with open_dasd(p) as dev, pytest.raises(FormatError, match=match):
        read_allocation(dev)


def test_version1_allocation_map_read(tmp_path):
    """A version 1 map (no CRC, no counts) as spoolkit wrote it before is read."""
    p = tmp_path / "v.ckd"
    format_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20)

    def to_v1(d):
        struct.pack_into(">H", d, 8, 1)
        d[48:] = struct.pack(">Q", 77)
    _rewrite_alloc(p, to_v1, recrc=False)
    with open_dasd(p) as dev:
        a = read_allocation(dev)
    assert (a.version, a.index_slot, a.index_pages, a.generation) == (1, 77, 0, 0)
    assert [(e.kind, e.first_cyl, e.last_cyl) for e in a.extents] == \
        sorted([tuple(e) for e in EXTENTS], key=lambda e: e[1])


def test_peers(tmp_path, herc):
    p = tmp_path / "v.ckd"
    format_volume(p, "3390", volser="SPL001", extents=EXTENTS, cylinders=20)
    assert "VOLSER=SPL001" in herc("dasdls", p).stdout
    c = tmp_path / "v.cckd"
    format_volume(c, "3390", volser="SPL002", extents=EXTENTS, cylinders=20)
    with open_cp_volume(c, "r+") as cp:
        cp.write_slots({s: bytes([s & 0xFF]) * 4096 for s in cp.slot_ranges(["SPOL"])[0][:30]})
    herc("cckdcdsk", "-3", c)


def test_slot_allocator(tmp_path):
    from spoolkit.cp import SlotAllocator
    from spoolkit.errors import NoSpaceError
    format_volume(tmp_path / "v.ckd", "3350", volser="A", cylinders=5,
                  extents=[("DRCT", 1, 1), ("SPOL", 2, 2)])
    with open_cp_volume(tmp_path / "v.ckd") as cp:
        spol = cp.slot_ranges(["SPOL"])[0]
        assert len(spol) == 30 * 4
        a = SlotAllocator(cp, [spol.start + 1])
        got = a.allocate(3)
        assert got == [spol.start, spol.start + 2, spol.start + 3]
        assert a.free_count() == 120 - 4
        a.free([spol.start])
        assert a.allocate(1) == [spol.start]
        assert a.allocate(1, "DRCT") == [cp.slot_ranges(["DRCT"])[0].start]
        with pytest.raises(NoSpaceError):
            a.allocate(200)
        assert a.free_count() == 120 - 4


def test_peers_with_spool_files(tmp_path, herc):
    from spoolkit.spool import SpoolFile, create_volume, open_volume
    c = tmp_path / "s.cckd"
    files = [SpoolFile(owner="MAINT", spoolid=i + 1, records=[(0x09, b"L%d " % j * 30)
                                                             for j in range(300)])
             for i in range(5)]
    with create_volume(c, "3390", volser="SPL003", extents=EXTENTS, cylinders=20) as vol:
        for sf in files:
            vol.add(sf)
        vol.remove(2)
        vol.change(3, class_="X")
    herc("cckdcdsk", "-3", c)
    assert "VOLSER=SPL003" in herc("dasdls", c).stdout
    with open_volume(c) as vol:
        assert [sf.spoolid for sf in vol.files()] == [1, 3, 4, 5]
        assert vol.get(4) == files[3]
