"""Files written by spoolkit onto fresh VM/370 and EDF minidisks, decoded
block by block by the independent model in tests/cmslayout.py; allocation
as CMS allocates; a write cut short at any device write leaves the old disk;
CP-owned extents refused."""

from __future__ import annotations

import datetime as dt
import random
import shutil

import cmslayout as L
import pytest
from conftest import IMPORT_ALL

import spoolkit
from spoolkit.cms import open_minidisk
from spoolkit.cms.format import format_minidisk
from spoolkit.errors import (
    ExistsError,
    InvalidArgumentError,
    NoSpaceError,
    ProtectedExtentError,
)

WHEN = dt.datetime(2024, 3, 14, 15, 9, 26)


def recs_v(n, seed, hi=200):
    r = random.Random(seed)
    return [r.randbytes(r.randrange(1, hi)) for _ in range(n)]


def recs_f(n, lrecl, seed):
    r = random.Random(seed)
    return [r.randbytes(lrecl) for _ in range(n)]


def fresh(tmp_path, devtype, ncyl, name="d"):
    """A user volume (cylinder 0 plain) with a minidisk at cylinders 1..ncyl."""
    path = tmp_path / f"{name}.{devtype}"
    spoolkit.create_dasd(path, devtype, "USER01", cylinders=ncyl + 1, compress=None).close()
    return path


def vm370_state(path, ncyl):
    dev, blk = L.open_blocks(path, 1, 800, False)
    try:
        return L.vm370_decode(blk.read)
    finally:
        dev.close()


def vm370_open_state(md):
    """The model's view of a disk the minidisk holds open (and locked)."""
    return L.vm370_decode(L.CKDBlocks(md.dev, md.first, 800).read)


def edf_state(path, first, bs, fba):
    dev, blk = L.open_blocks(path, first, bs, fba)
    try:
        raw = blk.read_raw(512, 80) if fba else blk.read(3)[:80]
        return L.edf_decode(blk.read, bs, raw)
    finally:
        dev.close()


def assert_vm370_consistent(s, devtype, ncyl):
    per_cyl = 150 if devtype == "2314" else L.PER_TRACK[(devtype, 800)] * L.HEADS[devtype]
    assert s["adtnum"] == min(per_cyl * ncyl, 65531) and s["adtcyl"] == ncyl
    assert s["unit"] == L.UNIT[devtype]
    marked = L.bits_used(s["qmsk"], s["adtnum"])
    assert marked == s["referenced"], (sorted(marked - s["referenced"]),
                                       sorted(s["referenced"] - marked))
    assert s["adtused"] == len(marked) and s["adtleft"] == s["adtnum"] - len(marked)
    assert s["adtlast"] == max(i for i, v in enumerate(s["qmsk"]) if v)
    # FSTs compacted: no empty slot before the last file
    slots = [f.fst["where"] for f in s["files"]]
    assert slots == [(s["fst_blocks"][i // 20], i % 20) for i in range(len(slots))]


@pytest.mark.parametrize("devtype", ["3350", "2314", "3330"])
def test_vm370_writes_decode_field_by_field(tmp_path, devtype):
    ncyl = 4 if devtype == "3350" else 8
    path = fresh(tmp_path, devtype, ncyl)
    with spoolkit.open_dasd(path, "r+") as dev:
        info = format_minidisk(dev, 1, ncyl, "test01")
    assert info["format"] == "vm370" and info["used"] == 5
    s = vm370_state(path, ncyl)
    assert s["label"] == "TEST01" and s["fst_blocks"] == [5] and s["files"] == []
    assert_vm370_consistent(s, devtype, ncyl)
    want = {
        ("PROFILE", "EXEC"): ("V", recs_v(30, 1, 72)),
        ("BIG", "DATA"): ("F", recs_f(4900, 80, 2)),          # 490 blocks: 2 chain links
        ("ONE", "LINE"): ("V", [b"\xc1"]),
    }
    with open_minidisk(path, 1, ncyl, "r+") as md:
        for (fn, ft), (recfm, recs) in want.items():
            md.write(fn, ft, "A1", recs, recfm=recfm, lrecl=80 if recfm == "F" else None,
                     date=WHEN)
        for i in range(25):                                   # two FST blocks
            md.write(f"F{i}", "TEMP", "B2", [b"%d" % i], date=WHEN)
        md.erase("F3", "TEMP")
        md.rename("ONE", "LINE", "UNO", "LINEA", new_fmode="C3")
        md.write("PROFILE", "EXEC", "A1", [b"NEW"], date=WHEN, replace=True)
    s = vm370_state(path, ncyl)
    assert_vm370_consistent(s, devtype, ncyl)
    files = {(f.fname, f.ftype): f for f in s["files"]}
    assert ("F3", "TEMP") not in files and ("ONE", "LINE") not in files
    assert files[("UNO", "LINEA")].records == [b"\xc1"] and files[("UNO", "LINEA")].fmode == "C3"
    assert files[("PROFILE", "EXEC")].records == [b"NEW"]
    big = files[("BIG", "DATA")]
    assert big.records == want[("BIG", "DATA")][1]
    assert big.fst["blocks"] == 490 and len(big.blocks_used) == 1 + 2 + 490
    for f in s["files"]:
        n = len(f.records)
        assert (f.fst["wp"], f.fst["rp"], f.fst["items"], f.fst["flags"]) == (n + 1, 1, n, 0)
        assert f.fst["mmdd"] == b"\x03\x14" and f.fst["hhmm"] == b"\x15\x09"
        assert f.fst["year"] == "24"
        if f.recfm == "V":
            assert f.lrecl == max(len(r) for r in f.records)
    assert len(s["files"]) == 3 + 24
    # what spoolkit reads is what the model decodes
    with open_minidisk(path, 1, ncyl) as md:
        assert [(f.fname, f.ftype, f.fmode) for f in md.files()] == [
            (f.fname, f.ftype, f.fmode) for f in s["files"]]
        assert md.read("BIG", "DATA") == want[("BIG", "DATA")][1]


def test_vm370_allocation_order_as_cms(tmp_path):
    """DMSTRKA first fit, the FCL before the data, DMSAUD's new FST block
    taken before the old one is given back, ERASE reserving first."""
    path = fresh(tmp_path, "3350", 1)
    with spoolkit.open_dasd(path, "r+") as dev:
        format_minidisk(dev, 1, 1, "ORDER")
    with open_minidisk(path, 1, 1, "r+") as md:
        md.write("A", "FILE", "A1", recs_f(25, 80, 1), recfm="F", lrecl=80)   # 3 blocks
        s = vm370_open_state(md)
        assert s["files"][0].blocks_used == [6, 7, 8, 9] and s["fst_blocks"] == [10]
        assert s["referenced"] == {1, 2, 3, 4, 6, 7, 8, 9, 10}              # 5 given back
        md.write("B", "FILE", "A1", [b"b"])
        s = vm370_open_state(md)
        assert s["files"][1].blocks_used == [5, 11] and s["fst_blocks"] == [12]
        md.erase("A", "FILE")
        s = vm370_open_state(md)
        # the new FST block is reserved while A's blocks are still in use
        assert s["fst_blocks"] == [10] and s["referenced"] == {1, 2, 3, 4, 5, 10, 11}
        assert [f.fname for f in s["files"]] == ["B"]


@pytest.mark.parametrize("kind,bs", [("3390", 4096), ("3390", 512), ("FBA", 512),
                                     ("FBA", 2048), ("3350", 1024)])
def test_edf_writes_decode_field_by_field(tmp_path, kind, bs):
    fba = kind == "FBA"
    if fba:
        path = tmp_path / "e.fba"
        spoolkit.create_fba(path, "3370", blocks=8000).close()
        first, last = 16, 7999
    else:
        path = fresh(tmp_path, kind, 3)
        first, last = 1, 3
    with spoolkit.open_dasd(path, "r+") as dev:
        info = format_minidisk(dev, first, last, "EDF1", blocksize=bs, date=WHEN)
    s = edf_state(path, first, bs, fba)
    assert (s["label"], s["blocksize"], s["dop"]) == ("EDF1", bs, 4) and s["files"] == []
    assert s["num"] == info["blocks"] and s["used"] == len(L.bits_used(s["bitmap"], s["num"]))
    assert s["date"] == bytes([0x24, 0x03, 0x14, 0x15, 0x09, 0x26]) and s["lflags"] == 1
    want = [("SMALL", "EXEC", "V", recs_v(5, 1)),
            ("BIGV", "DATA", "V", recs_v(3000, 2, 300)),          # pointer levels 1-2
            ("BIGF", "DATA", "F", recs_f(2000, 120, 3))]
    with open_minidisk(path, first, last, "r+") as md:
        dops = []
        for fn, ft, recfm, recs in want:
            md.write(fn, ft, "A1", recs, recfm=recfm, lrecl=120 if recfm == "F" else None,
                     date=WHEN)
            dops.append(md.impl.dop)
        md.erase("SMALL", "EXEC")
        dops.append(md.impl.dop)
    assert dops == [5, 4, 5, 4]                   # the directory origin alternates
    s = edf_state(path, first, bs, fba)
    assert s["dop"] == 4
    marked = L.bits_used(s["bitmap"], s["num"])
    assert marked == s["referenced"] and s["used"] == len(marked)
    assert s["root"]["nrec"] == len(s["files"]) + 2
    got = {f.fname: f for f in s["files"]}
    assert set(got) == {"BIGV", "BIGF"}
    for fn, _ft, recfm, recs in want[1:]:
        f = got[fn]
        assert f.records == recs and f.recfm == recfm
        assert f.fst["nrec"] == len(recs) and f.fst["wp"] == min(len(recs) + 1, 0xFFFF)
        assert f.fst["flags"] == 0x08 and f.fst["adati"] == bytes.fromhex("240314150926")
        assert f.fst["psz"] == (12 if recfm == "V" else 4)
        assert f.fst["levels"] == L.edf_levels(f.fst["nblk"], bs, recfm == "V")


def _watch_writes(md, fail_after=None):
    """Count the device writes of a minidisk (a one-item list); with
    ``fail_after``, the writes after that many raise an I/O error."""
    n = [0]
    w = md.impl.ext.writer
    for name in ("write_track", "write_blocks"):
        orig = getattr(w, name, None)
        if orig is None:
            continue

        def watched(*a, _orig=orig, **k):
            if fail_after is not None and n[0] >= fail_after:
                raise OSError(5, "injected I/O error")
            n[0] += 1
            return _orig(*a, **k)
        setattr(w, name, watched)
    return n


@pytest.mark.parametrize("fmt", ["vm370", "edf-ckd", "edf-fba"])
def test_a_cut_write_leaves_the_old_disk(tmp_path, fmt):
    """Fail the n-th device write of a replacing write, for every n: the disk
    decodes as before (files, records, bitmap = references)."""
    fba = fmt == "edf-fba"
    if fba:
        base = tmp_path / "base.fba"
        spoolkit.create_fba(base, "3370", blocks=3000).close()
        first, last, bs = 0, 2999, 512
    else:
        base = fresh(tmp_path, "3350", 2, "base")
        first, last, bs = 1, 2, (800 if fmt == "vm370" else 1024)
    with spoolkit.open_dasd(base, "r+") as dev:
        format_minidisk(dev, first, last, "CUT", blocksize=None if bs == 800 else bs)
    with open_minidisk(base, first, last, "r+") as md:
        md.write("KEEP", "ME", "A1", recs_v(50, 7))
        md.write("OLD", "FILE", "A1", recs_v(400, 8))

    def state(p):
        if fmt == "vm370":
            s = vm370_state(p, last)
            assert L.bits_used(s["qmsk"], s["adtnum"]) == s["referenced"]
        else:
            s = edf_state(p, first, bs, fba)
            assert L.bits_used(s["bitmap"], s["num"]) == s["referenced"]
        return [(f.fname, f.ftype, f.records) for f in s["files"]]

    before = state(base)

    def op(md):
        md.write("OLD", "FILE", "A1", recs_v(900, 9), replace=True)

    probe = tmp_path / "probe"
    shutil.copy(base, probe)
    with open_minidisk(probe, first, last, "r+") as md:
        count = _watch_writes(md)
        op(md)
    total = count[0]
    after = state(probe)
    assert after != before and total >= 3
    for k in range(total):
        p = tmp_path / f"cut{k}"
        shutil.copy(base, p)
        md = open_minidisk(p, first, last, "r+")
        _watch_writes(md, k)
        with pytest.raises(OSError):
            op(md)
        md.close()
        assert state(p) == before, f"cut after {k} of {total} writes"
        with open_minidisk(p, first, last) as md2:
            assert md2.check().ok


def test_cp_owned_extents_are_refused(tmp_path):
    from spoolkit.cp import format_volume

    path = tmp_path / "cp.3350"
    format_volume(path, "3350", volser="CPVOL1", cylinders=30,
                  extents=[("PAGE", 1, 4), ("SPOL", 5, 9), ("PERM", 10, 29)])
    with spoolkit.open_dasd(path, "r+") as dev:
        before = [dev.read_track(c, 0).image for c in (0, 3, 7)]
        for first, last in [(0, 2), (3, 5), (8, 12)]:
            with pytest.raises(ProtectedExtentError):
                format_minidisk(dev, first, last, "NOPE")
        assert [dev.read_track(c, 0).image for c in (0, 3, 7)] == before
        format_minidisk(dev, 10, 12, "MDISK1")          # PERM: a user's minidisk
    with open_minidisk(path, 10, 12, "r+") as md:
        md.write("OK", "FILE", "A1", [b"yes"])
    with open_minidisk(path, 10, 12) as md:
        assert md.read("OK", "FILE") == [b"yes"]


def test_write_refusals(tmp_path):
    path = fresh(tmp_path, "3350", 1)
    with spoolkit.open_dasd(path, "r+") as dev:
        format_minidisk(dev, 1, 1, "SMALL")
        with pytest.raises(ExistsError):
            format_minidisk(dev, 1, 1, "AGAIN")
    with open_minidisk(path, 1, 1, "r+") as md:
        md.write("A", "B", "A1", [b"x"])
        image = path.read_bytes()
        for bad in [dict(records=[]), dict(records=[b"x" * 79], recfm="F", lrecl=80),
                    dict(records=[b""]), dict(records=[b"x"], recfm="U")]:
            with pytest.raises(InvalidArgumentError):
                md.write("C", "D", "A1", **bad)
        with pytest.raises(InvalidArgumentError):
            md.write("TOOLONGNAME", "D", "A1", [b"x"])
        with pytest.raises(InvalidArgumentError):
            md.write("C", "D", "A9", [b"x"])
        with pytest.raises(ExistsError):
            md.write("A", "B", "A1", [b"y"])
        md.write("C", "D", "A1", [b"x"])
        with pytest.raises(ExistsError):
            md.rename("C", "D", "A", "B")
        assert md.read("A", "B") == [b"x"]
        with pytest.raises(NoSpaceError):
            md.write("HUGE", "FILE", "A1", recs_f(570 * 100, 80, 1), recfm="F", lrecl=80)
        assert md.read("A", "B") == [b"x"] and len(md.files()) == 2
    assert path.read_bytes() != image                   # C D was written, nothing else
    with open_minidisk(path, 1, 1) as md:
        assert [f.fname for f in md.files()] == ["A", "C"] and md.check().ok


WRITER = IMPORT_ALL + """
import sys
from spoolkit.cms import open_minidisk
path, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
md = open_minidisk(path, first, last, "r+")
print("ready", flush=True)
for i in range(30):
    md.write("ROLL", "DATA", "A1", [b"%d %d" % (i, k) for k in range(300 + 7 * i)],
             replace=True)
    md.write("N%d" % i, "FILE", "A1", [b"x" * (i + 1)])
    if i % 3 == 0:
        md.erase("N%d" % i, "FILE")
md.close()
"""


@pytest.mark.parametrize("fmt", ["vm370", "edf-fba"])
def test_kill_9_during_writes(tmp_path, fmt):
    """SIGKILL a writer at 20 seeded moments: each time the disk decodes with
    its bitmap equal to its references and every file whole."""
    import os
    import sys

    from conftest import ROOT, run_killed

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    if fmt == "edf-fba":
        base = tmp_path / "base.fba"
        spoolkit.create_fba(base, "3370", blocks=4000).close()
        first, last, bs = 0, 3999, 1024
    else:
        base = fresh(tmp_path, "3350", 2, "base")
        first, last, bs = 1, 2, 800
    with spoolkit.open_dasd(base, "r+") as dev:
        format_minidisk(dev, first, last, "KILL", blocksize=None if bs == 800 else bs)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)

    def verify(p, done=False):
        if fmt == "vm370":
            s = vm370_state(p, last)
            assert L.bits_used(s["qmsk"], s["adtnum"]) == s["referenced"]
        else:
            s = edf_state(p, first, bs, True)
            assert L.bits_used(s["bitmap"], s["num"]) == s["referenced"]
        for f in s["files"]:
            if f.fname == "ROLL":
                i = int(f.records[0].split()[0])
                assert f.records == [b"%d %d" % (i, k) for k in range(300 + 7 * i)]
            else:
                i = int(f.fname[1:])
                assert f.records == [b"x" * (i + 1)]
                assert i % 3 or not done           # a kill may land before its erase
        return len(s["files"])

    full = tmp_path / "full"
    shutil.copy(base, full)
    _, took, rc, err = run_killed([sys.executable, str(script), str(full), str(first),
                                   str(last)], None, env)
    assert rc == 0, err
    assert verify(full, done=True) == 1 + 20
    rnd = random.Random(1616)
    for k in range(20):
        p = tmp_path / f"k{k}"
        shutil.copy(base, p)
        run_killed([sys.executable, str(script), str(p), str(first), str(last)],
                   rnd.uniform(0, took), env)
        verify(p)
