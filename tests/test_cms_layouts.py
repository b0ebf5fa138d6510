"""Reading disks built by the independent test-side encoder (tests/cmslayout.py):
EDF at every block size on CKD and FBA with every pointer level, and VM/370
disks with Nth chain links and 2314 quarter first chain links (no real disk
has those)."""

from __future__ import annotations

import random

import cmslayout as L
import pytest

import spoolkit
from spoolkit.cms import open_minidisk


def vrecs(n, lo=1, hi=300, seed=0):
    r = random.Random(seed)
    return [r.randbytes(r.randrange(lo, hi + 1)) for _ in range(n)]


def frecs(n, lrecl, seed=0):
    r = random.Random(seed)
    return [r.randbytes(lrecl) for _ in range(n)]


def straddling(bs):
    """V records whose 2-byte length field starts on the last byte of a block."""
    first = bs - 2 - 1            # header + data end one byte before the block end
    return [b"\xc1" * first, b"\xc2" * 10, b"\xc3" * (bs + 7), b"\xc4"]


def edf_files(bs):
    ppb_f, ppb_v = bs // 4, bs // 12
    return [
        L.CMSFile("ONE", "FIXED", "F", 80, frecs(3, 80, 1)),                    # levels 0
        L.CMSFile("ONE", "VAR", "V", 50, [b"x" * 50, b"y"]),
        L.CMSFile("LEVEL1", "FIXED", "F", 100, frecs(bs * 3 // 100, 100, 2)),   # levels 1
        L.CMSFile("LEVEL2", "VAR", "V", 400, vrecs((ppb_v + 5) * bs // 200, 1, 400, 3)),
        L.CMSFile("LEVEL2", "FIXED", "F", 512, frecs((ppb_f + 3) * bs // 512, 512, 4)),
        L.CMSFile("SPAN", "VAR", "V", 2 * bs, straddling(bs)),
    ]


def build_edf(tmp_path, bs, fba, files, dop=4):
    if fba:
        path = tmp_path / "e.fba"
        nblocks = max(1200, sum(len(L.stream(f.records, f.recfm, f.lrecl)) // bs + 8
                                for f in files) * 2)
        dev = spoolkit.create_fba(path, "3370", blocks=10 + nblocks * (bs // 512))
        first = 10
        blk = L.FBABlocks(dev, first, bs)
        blk.build(nblocks, L.edf_encode(bs, nblocks, "EDF" + str(bs)[:3], files, fba=True,
                                        dop=dop))
        dev.close()
        return path, first, first + nblocks * (bs // 512) - 1
    per = L.PER_TRACK[("3390", bs)]
    need = sum(len(L.stream(f.records, f.recfm, f.lrecl)) // bs + 8 for f in files) * 2
    ncyl = max(2, -(-need // (per * 15)))
    path = tmp_path / "e.3390"
    dev = spoolkit.create_dasd(path, "3390", cylinders=ncyl + 2, compress=None)
    blk = L.CKDBlocks(dev, 1, bs)
    blk.build(ncyl, L.edf_encode(bs, ncyl * 15 * per, "EDF" + str(bs)[:3], files, fba=False,
                                 dop=dop))
    dev.close()
    return path, 1, ncyl


@pytest.mark.parametrize("fba", [False, True], ids=["3390", "FBA"])
@pytest.mark.parametrize("bs", [512, 1024, 2048, 4096])
def test_edf_read(tmp_path, bs, fba):
    files = edf_files(bs)
    path, first, last = build_edf(tmp_path, bs, fba, files)
    with open_minidisk(path, first, last) as md:
        assert (md.format, md.blocksize, md.label) == ("edf", bs, "EDF" + str(bs)[:3])
        got = md.files()
        assert [(f.fname, f.ftype, f.recfm, f.lrecl, f.records)
                for f in got] == [(f.fname, f.ftype, f.recfm, f.lrecl, len(f.records))
                                  for f in files]
        levels = {f.fname + f.ftype: f.levels for f in got}
        assert levels["ONEFIXED"] == 0 and levels["LEVEL1FIXED"] == 1
        assert levels["LEVEL2VAR"] == 2 and levels["LEVEL2FIXED"] == 2
        for f, want in zip(got, files):
            assert list(md.read(f)) == want.records, f.name
            assert f.date == "2024-05-06 07:08:09" and f.fmode == "A1"


def test_edf_three_levels_and_dop5(tmp_path):
    bs = 512
    big = L.CMSFile("LEVEL3", "VAR", "V", 255, vrecs(42 * 42 * 2 + 40, 250, 255, 9))
    path, first, last = build_edf(tmp_path, bs, True, [big], dop=5)
    with open_minidisk(path, first, last) as md:
        f = md.find("LEVEL3", "VAR")
        assert f.levels == 3 and md.impl.dop == 5
        assert list(md.read(f)) == big.records


@pytest.mark.parametrize("devtype", ["3350", "3330", "3340", "3380", "2314"])
def test_vm370_chain_links_and_quarters(tmp_path, devtype):
    big = L.CMSFile("BIG", "DATA", "F", 80, frecs(6000, 80, 5))       # 600 blocks: 2 links
    files = [L.CMSFile(f"SMALL{i}", "EXEC", "V", 72, vrecs(3 + i, 1, 72, i)) for i in range(5)]
    files.insert(2, big)
    per_cyl = 150 if devtype == "2314" else L.PER_TRACK[(devtype, 800)] * L.HEADS[devtype]
    ncyl = -(-700 // per_cyl)
    path = tmp_path / f"v.{devtype}"
    dev = spoolkit.create_dasd(path, devtype, cylinders=ncyl + 1, compress=None)
    L.CKDBlocks(dev, 1, 800).build(ncyl, L.vm370_encode(devtype, ncyl, "VMTEST", files))
    dev.close()
    with open_minidisk(path, 1, ncyl) as md:
        assert md.format == "vm370" and md.label == "VMTEST"
        got = md.files()
        assert [(f.fname, f.ftype, f.records) for f in got] == [
            (f.fname, f.ftype, len(f.records)) for f in files]
        for f, want in zip(got, files):
            assert list(md.read(f)) == want.records
        meta, data = md.impl.file_blocks(md.find("BIG", "DATA"))
        assert len(meta) == 3 and len(data) == 600
        if devtype == "2314":
            assert {f.fcl >> 14 for f in got} == {0, 1, 2, 3}    # quarters in the top bits


@pytest.mark.parametrize("devtype", ["3350", "2314"])
def test_read_all_and_large_reads(tmp_path, devtype):
    """Reads of hundreds of tracks gather straight into place on threads."""
    files = [L.CMSFile(f"F{i}", "DATA", "F" if i % 2 else "V", 80,
                       frecs(7000, 80, i) if i % 2 else vrecs(13000, 1, 80, i))
             for i in range(7)]
    ncyl = 10 if devtype == "3350" else 36
    path = tmp_path / f"big.{devtype}"
    dev = spoolkit.create_dasd(path, devtype, cylinders=ncyl + 1, compress=None)
    blocks = L.vm370_encode(devtype, ncyl, "BIG", files)
    L.CKDBlocks(dev, 1, 800).build(ncyl, blocks)
    dev.close()
    with open_minidisk(path, 1, ncyl) as md:
        got = list(md.read_all())
        assert [(f.fname, list(r)) for f, r in got] == [(f.fname, f.records) for f in files]
        assert [list(md.read(f)) for f in md.files()] == [f.records for f in files]
        every = [b for f in md.files() for b in md.impl.data_blocks(f)]
        groups = {(b - 1) // md.impl.ext.per_group for b in every}
        assert len(groups) >= 256                      # the threaded path was taken
        assert md.impl.mfd.ext_blocks                  # and a QMSK past the MFD read
        twice = md.impl.ext.read(every[:5] + every[:5] + [0])
        assert twice[:4000] == twice[4000:8000] and twice[8000:] == bytes(800)


@pytest.mark.parametrize("compress", [None, "zlib"])
def test_null_data_blocks_read_as_zeros(tmp_path, compress):
    """An EDF pointer of 0 is a block never written: its bytes read as zeros,
    through read() and read_all(), on a plain image (gathered from the file
    in C) and a compressed one (from decompressed track images)."""
    from spoolkit.cms.format import format_minidisk
    from spoolkit.dasd.convert import convert

    path = tmp_path / "null.3390"
    spoolkit.create_dasd(path, "3390", cylinders=3, compress=None).close()
    with spoolkit.open_dasd(path, "r+") as dev:
        format_minidisk(dev, 0, 2, "NULL01", blocksize=4096, force=True)
    recs = {n: [bytes([n, i % 251]) * 40 for i in range(3000)] for n in (1, 2, 3)}
    with open_minidisk(path, 0, 2, "r+") as md:
        for n, r in recs.items():
            md.write(f"F{n}", "DATA", "A1", r, recfm="F", lrecl=80)
        for n in (1, 3):                      # the 6th data block of F1 and F3 becomes null
            f = md.find(f"F{n}", "DATA")
            meta, data, _, _ = md.impl.file_blocks(f)
            assert len(meta) == 1 and len(data) == 59
            ptr = bytearray(md.impl.ext.read_one(meta[0]))
            assert int.from_bytes(ptr[20:24], "big") == data[5]
            ptr[20:24] = bytes(4)
            md.impl.ext.write([meta[0]], bytes(ptr))
    if compress:
        packed = tmp_path / "null.cckd"
        convert(path, packed, compress=compress)
        path = packed
    want = {}
    for n, r in recs.items():
        blob = bytearray(b"".join(r))
        if n != 2:
            blob[5 * 4096:6 * 4096] = bytes(4096)
        want[n] = [bytes(blob[i:i + 80]) for i in range(0, len(blob), 80)]
    with open_minidisk(path) as md:
        got = {int(f.fname[1:]): list(r) for f, r in md.read_all()}
        assert got == want
        assert {n: list(md.read(f"F{n}", "DATA")) for n in recs} == want


def test_cp67_2314_829_byte_records_and_quarters(tmp_path):
    """A 2314 disk as CP-67 writes it (vm-formats.md 2.1): eight 829-byte
    records a track, the 8th split 414 + 415 by track overflow (15 blocks per
    track pair), only the first 800 bytes of each the block; first chain links
    in 200-byte quarters.  Built by the test-side encoder, read back whole."""
    big = L.CMSFile("BIG", "DATA", "F", 80, frecs(6000, 80, 7))       # 600 blocks: 2 links
    files = [L.CMSFile(f"S{i}", "EXEC", "V", 130, vrecs(40 + 9 * i, 1, 130, i))
             for i in range(6)]
    files.insert(3, big)
    ncyl = 6
    path = tmp_path / "cp67.2314"
    dev = spoolkit.create_dasd(path, "2314", cylinders=ncyl + 1, compress=None)
    L.CKDBlocks(dev, 1, 800, physical=829).build(ncyl, L.vm370_encode("2314", ncyl, "CP67",
                                                                      files))
    even, odd = dev.read_track(1, 0).records, dev.read_track(1, 1).records
    assert [(r.r, r.dl) for r in even] == [(r, 829) for r in range(1, 8)] + [(8, 414)]
    assert even[-1].overflow and [(r.r, r.dl) for r in odd][:2] == [(8, 415), (9, 829)]
    dev.close()
    with open_minidisk(path, 1, ncyl) as md:
        assert (md.format, md.label, md.blocksize) == ("vm370", "CP67", 800)
        got = md.files()
        assert [(f.fname, f.ftype, f.recfm, f.records) for f in got] == [
            (f.fname, f.ftype, f.recfm, len(f.records)) for f in files]
        assert {f.fcl >> 14 for f in got} == {0, 1, 2, 3}         # quarters in the top bits
        for f, want in zip(got, files):
            assert list(md.read(f)) == want.records
        assert [(f.fname, list(r)) for f, r in md.read_all()] == [
            (f.fname, f.records) for f in files]
        meta, data = md.impl.file_blocks(md.find("BIG", "DATA"))
        assert len(meta) == 3 and len(data) == 600
        assert md.check().ok


def test_fst_fields_decoded_as_documented_from_any_bytes():
    """Every FST field at its documented offset (fst.py's table, vm-formats.md
    2.1 and 2.2), for arbitrary bytes: names in code page 037 without
    trailing blanks, BCD dates as their digits, EDF counts from the extension."""
    from spoolkit.cms.fst import decode_edf, decode_vm370

    r = random.Random(16)
    for i in range(500):
        raw = bytearray(r.randbytes(64))
        raw[30] = [0xC6, 0xE5, r.randrange(256)][i % 3]
        raw[0:8] = r.choice([b"\x40" * 8, raw[0:8], "AB".encode("cp037") + b"\x40" * 6])
        raw = bytes(raw)
        def be(a, b, raw=raw):
            return int.from_bytes(raw[a:b], "big")

        def text(a, b, raw=raw):
            return raw[a:b].decode("cp037").rstrip(" ")

        recfm = {0xC6: "F", 0xE5: "V"}.get(raw[30], f"X'{raw[30]:02X}'")
        v = decode_vm370(raw[:40], (7, i))
        assert (v.fname, v.ftype, v.fmode, v.recfm) == (text(0, 8), text(8, 16), text(24, 26),
                                                        recfm)
        assert (v.write_pointer, v.read_pointer, v.records, v.fcl, v.flags, v.lrecl,
                v.blocks) == (be(20, 22), be(22, 24), be(26, 28), be(28, 30), raw[31],
                              be(32, 36), be(36, 38))
        h = raw[16:20].hex().upper()
        assert v.date == f"{raw[38:40].decode('cp037')}-{h[0:2]}-{h[2:4]} {h[4:6]}:{h[6:8]}"
        assert (v.raw, v.where) == (raw[:40], (7, i))
        e = decode_edf(raw, (9, i))
        assert (e.fname, e.ftype, e.fmode, e.recfm, e.lrecl, e.fcl, e.flags) == (
            v.fname, v.ftype, v.fmode, v.recfm, v.lrecl, v.fcl, v.flags)
        assert (e.fop, e.blocks, e.records, e.levels, e.ptr_size) == (
            be(40, 44), be(44, 48), be(48, 52), raw[52], raw[53])
        d = raw[54:60].hex().upper()
        cc = "20" if raw[31] & 0x08 else "19"
        assert e.date == f"{cc}{d[0:2]}-{d[2:4]}-{d[4:6]} {d[6:8]}:{d[8:10]}:{d[10:12]}"
        assert (e.raw, e.where) == (raw, (9, i))
