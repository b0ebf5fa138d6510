"""Spool volumes keep users' files: finalized when never closed, unchanged by a
failed add, never overwritten silently, wrong files named, damage refused."""

from __future__ import annotations

import gc
import hashlib
import os
import struct
import subprocess
import sys
import warnings

import pytest
from conftest import FIXTURES, ROOT

from spoolkit.cli import main
from spoolkit.cp import format_volume, open_cp_volume
from spoolkit.cp.volume import read_allocation
from spoolkit.dasd.cckd import OPENED
from spoolkit.dasd.track import Track
from spoolkit.errors import (
    ChecksumError,
    ExistsError,
    FormatError,
    InvalidArgumentError,
    SpoolkitError,
)
from spoolkit.spool import SpoolFile, create_volume, open_volume
from spoolkit.spool.index import INDEX_CRC, INDEX_GEN
from spoolkit.spool.pages import crc32c
from spoolkit.spool.volume import DamagedError

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
FIX = FIXTURES
EXTENTS = [("SPOL", 1, 10), ("DRCT", 11, 11)]


def _sf(i: int, n: int = 30) -> SpoolFile:
    return SpoolFile(type="PRT", owner="MAINT", fname=f"F{i}", ftype="LISTING",
                     records=[(0x09, b"FILE %d LINE %d " % (i, j) * 6) for j in range(n)])


def _digest(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _contents(path) -> dict[int, list]:
    with open_volume(path) as vol:
        return {sf.spoolid: list(sf.records()) for sf in vol.files()}


# -- 12.1 no lost writes ------------------------------------------------------

_CHILD = r"""
import sys
from spoolkit.spool import SpoolFile, open_volume
vol = open_volume(sys.argv[1], "r+")
for i in range(4):
    vol.add(SpoolFile(owner="MAINT", fname="F%d" % i,
                      records=[(0x09, b"LINE %d %d" % (i, j)) for j in range(50)]))
if sys.argv[2] == "raise":
    raise RuntimeError("the program dies of an exception")
"""


@pytest.mark.parametrize("how", ["exit", "raise"])
@pytest.mark.parametrize("suffix", [".ckd", ".cckd"])
def test_unclosed_volume_keeps_every_add(tmp_path, herc, suffix, how):
    p = tmp_path / ("v" + suffix)
    format_volume(p, "3390", volser="SPL001", extents=EXTENTS, cylinders=20)
    r = subprocess.run([sys.executable, "-W", "always::ResourceWarning", "-c", _CHILD, str(p),
                        how], env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == (1 if how == "raise" else 0), r.stderr
    assert "ResourceWarning" in r.stderr and "closed at interpreter exit" in r.stderr
    got = _contents(p)
    assert sorted(got) == [1, 2, 3, 4]
    assert got[3] == [(0x09, b"LINE 2 %d" % j) for j in range(50)]
    if suffix == ".cckd":
        out = herc("cckdcdsk", "-3", p)
        assert out.returncode == 0
        with open(p, "rb") as f:
            f.seek(512 + 3)
            assert f.read(1)[0] & OPENED == 0          # OPENED bit cleared


def test_unclosed_volume_closed_at_gc(tmp_path):
    p = tmp_path / "v.cckd"
    vol = create_volume(p, "3390", volser="SPL001", extents=EXTENTS, cylinders=20)
    vol.add(_sf(1))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        del vol
        gc.collect()
    assert any(issubclass(x.category, ResourceWarning) for x in w)
    with open_volume(p, "r+") as vol:          # the writer lock was released
        assert vol.spoolids() == [1]


def test_close_is_idempotent(tmp_path):
    vol = create_volume(tmp_path / "v.cckd", "3390", volser="A", extents=EXTENTS, cylinders=20)
    vol.close()
    vol.close()
    with pytest.raises(InvalidArgumentError, match="closed"):
        vol.add(_sf(1))


@pytest.mark.parametrize("fail_at", [1, 2, 3])
@pytest.mark.parametrize("suffix", [".ckd", ".cckd"])
def test_failed_add_leaves_volume_as_before(tmp_path, suffix, fail_at):
    """A track write that fails (data pages, index pages, the track 0 switch)
    leaves the old index current; the same object goes on working."""
    p = tmp_path / ("v" + suffix)
    with create_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20) as vol:
        vol.add(_sf(1))
        vol.add(_sf(2))
    before = _contents(p)
    with open_volume(p, "r+") as vol:
        real = vol.cp.dev.write_track
        calls = []

        def failing(cyl, head, track):
            calls.append((cyl, head))
            if len(calls) == fail_at:
                raise OSError(5, "Input/output error")
            return real(cyl, head, track)
        vol.cp.dev.write_track = failing
        with pytest.raises(OSError):
            vol.add_many([_sf(3, 400), _sf(4, 10)])
        vol.cp.dev.write_track = real
        assert vol.spoolids() == [1, 2]
        assert vol.add(_sf(5)) == 3
    after = _contents(p)
    assert {k: after[k] for k in (1, 2)} == before and sorted(after) == [1, 2, 3]


# -- 12.2 no silent overwrite ------------------------------------------------

def _format_cli(img, *extra):
    return main(["spool", "format", str(img), "3390", "--volser", "SPL001", "--cylinders",
                 "20", "--spol", "1-10", "--drct", "11", *extra])


def test_format_refuses_existing(tmp_path, capsys):
    img = tmp_path / "v.ckd"
    assert _format_cli(img) == 0
    txt = tmp_path / "t.txt"
    txt.write_text("KEEP ME\n")
    assert main(["spool", "add", str(img), str(txt)]) == 0
    old = _digest(img)
    capsys.readouterr()
    assert _format_cli(img) == 2
    err = capsys.readouterr().err
    assert err.startswith("spoolkit: error: ") and "already exists" in err and str(img) in err
    assert len(err.strip().splitlines()) == 1
    assert _digest(img) == old
    with pytest.raises(ExistsError):
        format_volume(img, "3390", volser="A", extents=EXTENTS, cylinders=20)
    assert _digest(img) == old
    os.chmod(img, 0o600)
    assert _format_cli(img, "--force") == 0
    assert os.stat(img).st_mode & 0o777 == 0o600           # the replaced file's mode
    assert _contents(img) == {}
    assert not list(tmp_path.glob(".v.ckd*"))


def test_format_honours_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert _format_cli(tmp_path / "v.cckd") == 0
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "v.cckd").st_mode & 0o777 == 0o640


@pytest.mark.parametrize("form", [[], ["--raw"], ["--pipes"]])
def test_get_output_refuses_existing(tmp_path, capsys, form):
    img = tmp_path / "v.ckd"
    _format_cli(img)
    (tmp_path / "t.txt").write_text("HELLO\n")
    main(["spool", "add", str(img), str(tmp_path / "t.txt")])
    out = tmp_path / "out"
    out.write_bytes(b"precious")
    os.chmod(out, 0o600)
    capsys.readouterr()
    assert main(["spool", "get", str(img), "1", *form, "-o", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main(["spool", "get", str(img), "1", *form, "-o", str(out), "--force"]) == 0
    assert out.read_bytes() != b"precious" and len(out.read_bytes()) > 0
    assert os.stat(out).st_mode & 0o777 == 0o600
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "elsewhere")
    assert main(["spool", "get", str(img), "1", *form, "-o", str(link)]) == 2
    assert not (tmp_path / "elsewhere").exists()


def test_get_output_full_file_system(tmp_path, capsys):
    img = tmp_path / "v.ckd"
    _format_cli(img)
    (tmp_path / "t.txt").write_text("HELLO\n")
    main(["spool", "add", str(img), str(tmp_path / "t.txt")])
    capsys.readouterr()
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    # /dev/full is not a regular file: refused before any write
    assert main(["spool", "get", str(img), "1", "-o", "/dev/full", "--force"]) == 2


# -- 12.4 / 13 wrong input, sizes ------------------------------------------

def _inputs(tmp_path):
    import spoolkit
    plain = tmp_path / "plain.ckd"
    spoolkit.create_dasd(plain, "3390", "PLAIN1", cylinders=3).close()
    fba = tmp_path / "d.fba"
    spoolkit.create_fba(fba, "3370", blocks=2000).close()
    cfba = tmp_path / "d.cfba"
    spoolkit.create_fba(cfba, "3370", blocks=2000, compress="zlib").close()
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 200)
    d = tmp_path / "dir"
    d.mkdir()
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    real = [] if FIX is None else [
        (FIX / "cms" / "cmsuser_191.cckd", "CMS minidisk image (label CMS191)"),
        (FIX / "vm50u1.cckd", "is a VM/370 CP volume VM50U1 (VOL1 owner CP370"),
        (FIX / "hercules-tests" / "tape.aws", "is an AWS tape image"),
        (FIX / "j90009.het", "is a HET tape image"),
    ]
    tape = tmp_path / "t.aws"
    import spoolkit.tape
    with spoolkit.tape.open_tape(tape, "w") as t:
        t.write_block(b"\xf1" * 80)
        t.tapemark()
    from spoolkit.dasd.ckd import DevHeader
    zero = tmp_path / "zero.ckd"
    zero.write_bytes(DevHeader("CKD_P370", 15, 56832, 0x90, 0, 0).build())
    return real + [
        (zero, "is a CKD image with no cylinders"),
        (plain, "CKD disk image (volume PLAIN1) without an SPKALLOC"),
        (tape, "is an AWS tape image"),
        (fba, "plain FBA disk image"),
        (cfba, "compressed FBA disk image"),
        (text, "not a disk image spoolkit knows"),
        (d, "is a directory"),
        (empty, "is an empty file"),
    ]


@pytest.mark.parametrize("verb", [["list"], ["add", "@TXT"], ["get", "1"], ["remove", "1"],
                                  ["recover"]])
def test_non_spool_volume_named(tmp_path, capsys, verb):
    txt = tmp_path / "in.txt"
    txt.write_text("DATA\n")
    for path, what in _inputs(tmp_path):
        before = None if path.is_dir() else (_digest(path), os.stat(path).st_mtime_ns)
        argv = ["spool", verb[0], str(path)] + [str(txt) if a == "@TXT" else a
                                                for a in verb[1:]]
        assert main(argv) == 2, path
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("spoolkit: error: "), err
        assert str(path) in err and what in err, err
        if before is not None:
            assert (_digest(path), os.stat(path).st_mtime_ns) == before


def test_non_spool_volume_cli_no_traceback(tmp_path):
    tape = next(p for p, what in _inputs(tmp_path) if "AWS" in what)
    r = subprocess.run([sys.executable, "-m", "spoolkit", "spool", "add", str(tape), "-"],
                       input=b"X\n", env=ENV,
                       capture_output=True, timeout=60)
    assert r.returncode == 2 and b"Traceback" not in r.stderr
    assert b"is an AWS tape image, not a CP volume" in r.stderr


@pytest.mark.parametrize("args,match", [
    (["--cylinders", "0"], "at least one cylinder"),
    (["--cylinders", "-5"], "at least one cylinder"),
    (["--cylinders", "99999999999999999999"], "a CP volume has 1 to 65535"),
    (["--cylinders", "70000"], "a CP volume has 1 to 65535"),
    (["--volser", "ABCDEFGHIJKLMNOP"], "volume serial"),
    (["--volser", "VÖL\u03a91"], "volume serial"),
    (["--spol", "1-99999999999999999999"], "the volume has 20 cylinders"),
    (["--spol", "0-3"], "cylinder 0 holds the label"),
])
def test_format_bad_sizes(tmp_path, capsys, args, match):
    img = tmp_path / "v.ckd"
    base = ["spool", "format", str(img), "3390", "--volser", "SPL001", "--cylinders", "20",
            "--spol", "1-10"]
    assert main(base + args) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1, err
    assert not img.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("kw", [dict(cylinders=0), dict(cylinders=-1), dict(cylinders=10**30),
                                dict(cylinders=2.5), dict(volser="X" * 300),
                                dict(volser=12345),
                                dict(extents=[("SPOL", 1, 2**70)]),
                                dict(extents=[("SPOL", 2**40, 2**41)])])
def test_format_volume_api_bad_sizes(tmp_path, kw):
    args = dict(volser="A", extents=EXTENTS, cylinders=20)
    args.update(kw)
    with pytest.raises(SpoolkitError) as ei:
        format_volume(tmp_path / "v.ckd", "3390", **args)
    assert str(ei.value)
    assert not list(tmp_path.iterdir())


# -- 13 SPKALLOC pointer, generations, damaged volumes ------------------------

def _alloc_record(path):
    with open_cp_volume(path) as cp:
        recs = cp.dev.read_track(0, 0).records
        return recs, bytes(next(r for r in recs if r.r == 4).data)


def _put_alloc(path, data):
    from spoolkit import open_dasd
    with open_dasd(path, "r+") as dev:
        recs = dev.read_track(0, 0).records
        dev.write_track(0, 0, Track.from_records(0, 0, [
            (r.r, bytes(r.key), data if r.r == 4 else bytes(r.data)) for r in recs]))


def test_index_pointer_rollback_detected(tmp_path):
    p = tmp_path / "v.ckd"
    with create_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20) as vol:
        vol.add(_sf(1))
        old_slot = vol.cp.allocation.index_slot
        vol.add(_sf(2))
        assert vol.cp.allocation.index_slot != old_slot
    _, data = _alloc_record(p)
    n = 12 + 12 * 2
    # the pointer alone rolled back: the CRC says so
    bad = bytearray(data)
    struct.pack_into(">Q", bad, n, old_slot)
    _put_alloc(p, bytes(bad))
    with pytest.raises(ChecksumError, match="SPKALLOC"):
        open_volume(p)
    # rolled back with a fitting CRC and counts: the old index is of another generation
    struct.pack_into(">I", bad, n + 12, 1)
    struct.pack_into(">I", bad, len(bad) - 4, crc32c(bytes(bad[:-4])))
    _put_alloc(p, bytes(bad))
    with open_volume(p) as vol, pytest.raises(FormatError, match="generation 1 .*an older"):
        vol.spoolids()


def test_version1_volume_read_and_upgraded(tmp_path):
    """A volume written before (SPKALLOC v1, index pages v1) reads; the first
    change writes version 2."""
    p = tmp_path / "v.ckd"
    with create_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20) as vol:
        vol.add(_sf(1))
        vol.add(_sf(2))
        slot = vol.cp.allocation.index_slot
        page = bytearray(vol.cp.read_slot(slot))
        struct.pack_into(">H", page, 8, 1)
        page[INDEX_GEN:INDEX_CRC] = bytes(INDEX_CRC - INDEX_GEN)
        struct.pack_into(">I", page, INDEX_CRC, crc32c(bytes(page[:INDEX_CRC])))
        vol.cp.write_slots({slot: bytes(page)})
    _, data = _alloc_record(p)
    v1 = bytearray(data[:12 + 24]) + struct.pack(">Q", slot)
    struct.pack_into(">H", v1, 8, 1)
    _put_alloc(p, bytes(v1))
    with open_volume(p) as vol:
        assert vol.cp.allocation.version == 1
        assert vol.spoolids() == [1, 2]
    with open_volume(p, "r+") as vol:
        vol.add(_sf(3))
    with open_volume(p) as vol:
        assert vol.cp.allocation.version == 2 and vol.cp.allocation.entries == 3
        assert vol.spoolids() == [1, 2, 3]
    assert _contents(p)[1] == list(_sf(1).records())


def _damage_link(p, sid):
    """Point the first data page of file sid at a slot of another file."""
    with open_volume(p, "r+") as vol:
        info = vol.header(sid)
        other = vol.header(1 if sid != 1 else 2)
        slot = info.first & 0xFFFFFF
        page = bytearray(vol.cp.read_slot(slot))
        page[0:4] = other.first.to_bytes(4, "big")
        vol.cp.write_slots({slot: bytes(page)})


def test_r_plus_refuses_damaged_chain(tmp_path, capsys):
    p = tmp_path / "v.ckd"
    with create_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20) as vol:
        for i in range(3):
            vol.add(_sf(i, 300))
    _damage_link(p, 2)
    before = _digest(p)
    with open_volume(p, "r+") as vol:
        assert list(vol.get(1).records()) == list(_sf(0, 300).records())   # reads still work
        with pytest.raises(DamagedError, match="spool file 2: .*spool recover"):
            vol.add(_sf(9))
    assert _digest(p) == before
    (tmp_path / "t.txt").write_text("X\n")
    capsys.readouterr()
    assert main(["spool", "add", str(p), str(tmp_path / "t.txt")]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and "spool recover" in err
    assert _digest(p) == before
    assert main(["spool", "recover", str(p)]) == 0
    assert "kept 2 files: 1 3" in capsys.readouterr().out
    assert main(["spool", "add", str(p), str(tmp_path / "t.txt")]) == 0
    got = _contents(p)
    assert sorted(got) == [1, 2, 3]
    assert got[1] == list(_sf(0, 300).records()) and got[3] == list(_sf(2, 300).records())


def test_r_plus_refuses_shared_slot(tmp_path):
    """Two files whose chains share a slot: refused rather than freed twice."""
    p = tmp_path / "v.ckd"
    with create_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20) as vol:
        vol.add(_sf(1, 10))
        vol.add(_sf(2, 10))
        e1, e2 = vol.entries[1], vol.entries[2]
        # the index lists file 2 with file 1's header page: recover would drop it
        from spoolkit.spool.index import IndexEntry
        vol._commit({1: e1, 2: IndexEntry(2, e2.owner, e1.header)})
    with open_volume(p, "r+") as vol, pytest.raises(DamagedError):
        vol.add(_sf(3))


def test_allocation_read_on_open_is_typed(tmp_path):
    p = tmp_path / "v.ckd"
    format_volume(p, "3390", volser="A", extents=EXTENTS, cylinders=20)
    _, data = _alloc_record(p)
    _put_alloc(p, data[:30])
    with pytest.raises(FormatError) as ei:
        open_volume(p)
    assert "SPKALLOC" in str(ei.value)
    from spoolkit import open_dasd
    with open_dasd(p) as dev, pytest.raises(FormatError):
        read_allocation(dev)


# -- 13.3 full file system -------------------------------------------------

def _mount(mnt, kind, tmp_path):
    if kind == "tmpfs":
        cmd = ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mnt)]
    else:
        img = tmp_path / "fs.img"
        with open(img, "wb") as f:
            f.truncate(24 << 20)
        r = subprocess.run(["mkfs.ext4", "-q", str(img)], capture_output=True, text=True)
        if r.returncode:
            return r.stderr.strip() or "mkfs.ext4 failed"
        cmd = ["mount", "-o", "loop", str(img), str(mnt)]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError as exc:
        return str(exc)
    return (r.stderr.strip() or f"exit {r.returncode}") if r.returncode else None


@pytest.fixture(params=["tmpfs", "ext4"])
def small_fs(request, tmp_path):
    """A file system of about 20 MiB: a tmpfs, or ext4 on a loop device
    (skipped where mounting is not permitted)."""
    mnt = tmp_path / "fs"
    mnt.mkdir()
    why = _mount(mnt, request.param, tmp_path)
    if why:
        pytest.skip(f"cannot mount a small {request.param} here: {why}")
    try:
        yield mnt, request.param
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "spoolkit", *map(str, args)], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("suffix", [".ckd", ".cckd"])
def test_add_on_full_file_system(small_fs, tmp_path, capsys, suffix):
    """spool add until the file system is full: the failing add exits 2 naming
    the problem, every earlier file reads back, and after room is made the
    next add works."""
    mnt, kind = small_fs
    img = mnt / ("v" + suffix)
    cyls, spol = (6, "1-4") if suffix == ".ckd" else (40, "1-38")
    r = _cli("spool", "format", img, "3390", "--volser", "FULL01", "--cylinders", cyls,
             "--spol", spol, "--drct", cyls - 1)
    assert r.returncode == 0, r.stderr

    def add():
        rc = main(["spool", "add", str(img), str(text)])
        out, err = capsys.readouterr()
        return rc, out, err
    text = tmp_path / "in.txt"
    import random
    rnd = random.Random(7)    # incompressible lines: the CCKD grows as fast as the plain one
    text.write_text("".join("%030x %030x\n" % (rnd.getrandbits(120), rnd.getrandbits(120))
                            for _ in range(6000)))
    assert add()[0] == 0
    st = os.statvfs(mnt)
    filler = mnt / "filler"
    with open(filler, "wb") as f:               # leave room for about two more files
        f.write(bytes(max(0, st.f_bavail * st.f_frsize - (1 << 20))))
    done = [1]
    for _ in range(20):
        rc, out, err = add()
        if rc:
            break
        done.append(int(out.split()[2].rstrip(":")))
    else:
        pytest.fail("neither the file system nor the volume filled up")
    assert rc == 2 and "Traceback" not in err, err
    # a plain image's slots are holes until written: either the file system or
    # (where the image got its blocks first) the SPOL extent is full first
    assert "the file system is full" in err or (suffix == ".ckd" and "free SPOL slots" in err), err
    assert len(err.strip().splitlines()) == 1 and str(img) in err
    want = [(0x09, line.encode("cp037")) for line in text.read_text().splitlines()]

    def check():
        with open_volume(img) as vol:
            assert vol.spoolids() == done
            for sid in done:
                assert list(vol.get(sid).records()) == want
    check()
    filler.unlink()
    assert main(["spool", "remove", str(img), str(done.pop())]) == 0
    rc, out, err = add()
    assert rc == 0, err
    done.append(int(out.split()[2].rstrip(":")))
    check()


def test_format_on_full_file_system(small_fs):
    """A volume that does not fit: exit 2, no file, no temporary left."""
    mnt, kind = small_fs
    img = mnt / "big.ckd"
    # null tracks take a block each (the rest of a slot is a hole): 30,000 > 20 MiB
    r = _cli("spool", "format", img, "3390", "--volser", "BIG001", "--cylinders", 2000,
             "--spol", "1-1998", "--drct", 1999)
    assert r.returncode == 2 and "the file system is full" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert [f.name for f in mnt.iterdir() if f.name != "lost+found"] == []


def test_system_close_closes_every_volume(tmp_path):
    from spoolkit.spool import System
    vols = [create_volume(tmp_path / f"v{i}.cckd", "3390", volser=f"SPL00{i}",
                          extents=EXTENTS, cylinders=20) for i in range(3)]
    sysm = System(vols)
    sysm.add(_sf(1), volume=2)

    def fail():
        raise OSError(5, "Input/output error")
    vols[0].cp.close = fail
    with pytest.raises(OSError):
        sysm.close()
    assert vols[1].closed and vols[2].closed
    with open_volume(tmp_path / "v2.cckd", "r+") as vol:       # lock released, data there
        assert vol.spoolids() == [1]


def test_slot_track_torn_over_a_null_track_is_read_and_rewritten(tmp_path):
    """A plain image's in-place track write killed midway (the kernel stops a
    write between pages on SIGKILL): new records up to the cut, zeros after.
    The volume reads the slots before the cut, zeros after, and writes on."""
    from spoolkit.cp import open_cp_volume
    from spoolkit.dasd import open_dasd
    img = tmp_path / "v.3390"
    format_volume(img, "3390", volser="TORN01", cylinders=6,
                  extents=[("SPOL", 1, 4), ("DRCT", 5, 5)])
    cp = open_cp_volume(img, "r+")
    spt = cp.slots_per_track
    first = cp.slot_ranges(("SPOL",))[0].start
    cyl, head, r = cp.locate(first)
    assert r == 1
    cp.write_slots({first + i: bytes([i + 1]) * 4096 for i in range(spt)})
    cp.close()
    with open_dasd(img) as dev:
        trksize, heads = dev.track_size, dev.heads
    cut = 21 + 5 * (8 + 4096) + 100            # inside the 6th record's data
    with open(img, "r+b") as f:
        f.seek(512 + (cyl * heads + head) * trksize + cut)
        f.write(bytes(trksize - cut))
    with pytest.raises(FormatError):
        with open_dasd(img) as dev:
            dev.read_track(cyl, head)
    cp = open_cp_volume(img, "r+")
    try:
        assert [p[:1] for p in cp.read_track_slots(cyl, head)[:5]] == \
            [bytes([i + 1]) for i in range(5)]
        assert cp.read_track_slots(cyl, head)[6:] == [bytes(4096)] * (spt - 6)
        cp.write_slots({first + spt - 1: b"\x63" * 4096})
    finally:
        cp.close()
    with open_dasd(img) as dev:                 # a whole track again
        assert dev.read_track(cyl, head).nrecs == spt
