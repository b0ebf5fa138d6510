"""Faults while writing DASD images: kill -9 at random moments of `dasd
copy`, a full file system, a writer killed with the OPENED bit set."""

from __future__ import annotations

import glob
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import IMPORT_ALL, ROOT, mount_tmpfs
from test_dasd_lifetime import opened_bit as _opened

import spoolkit
from spoolkit import Track, open_dasd
from spoolkit.dasd.sample import fill_volume
from spoolkit.output import temp_pattern

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _cli(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "spoolkit", *map(str, argv)], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def _same_tracks(a, b) -> bool:
    with open_dasd(a) as x, open_dasd(b) as y:
        return (x.cylinders == y.cylinders and
                all(x.read_track(c, h).image == y.read_track(c, h).image
                    for c in range(x.cylinders) for h in range(x.heads)))


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A full plain 3390 of 12 cylinders and its CCKD."""
    d = tmp_path_factory.mktemp("faults")
    plain = d / "src.3390"
    with spoolkit.create_dasd(plain, "3390", "KILL01", cylinders=12) as dev:
        assert fill_volume(dev, fraction=1.0, seed=5) > 150
    cckd = d / "src.cckd"
    spoolkit.convert(plain, cckd, compress="zlib")
    return plain, cckd


@pytest.mark.parametrize("direction", ["ckd-to-cckd", "cckd-to-ckd"])
def test_kill_9_during_copy_leaves_old_or_complete(tmp_path, source, direction):
    plain, cckd = source
    src, opts = (plain, ["--bzip2", "-j", "1"]) if direction == "ckd-to-cckd" \
        else (cckd, ["-j", "1"])
    ref = tmp_path / "ref.img"
    assert _cli("dasd", "copy", src, ref, *opts).returncode == 0
    assert _same_tracks(ref, plain)
    reference = ref.read_bytes()
    t0 = time.monotonic()
    assert _cli("dasd", "copy", src, tmp_path / "timing.img", *opts).returncode == 0
    runtime = time.monotonic() - t0
    rng = random.Random(f"kill-{direction}")
    dst = tmp_path / "dst.img"
    outcomes = {"old": 0, "new": 0, "absent": 0}
    for point in range(20):
        old = point % 2 == 0          # half the runs replace an old file
        if old:
            dst.write_bytes(b"old volume %d" % point)
        elif dst.exists():
            dst.unlink()
        proc = subprocess.Popen([sys.executable, "-m", "spoolkit", "dasd", "copy", str(src),
                                 str(dst), *opts, "--force"], env=ENV,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, runtime * 1.1))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not dst.exists():
            assert not old
            outcomes["absent"] += 1
        elif dst.read_bytes() == b"old volume %d" % point:
            outcomes["old"] += 1
        else:
            assert dst.read_bytes() == reference, f"kill point {point}: a torn destination"
            outcomes["new"] += 1
        # the next run removes what the killed one left and completes
        if point % 4 == 3 and dst.exists():
            r = _cli("dasd", "check", "--repair", dst)
            assert r.returncode == 0, r.stdout + r.stderr
        elif point % 4 == 1:
            r = _cli("dasd", "copy", src, dst, *opts, "--force")
            assert r.returncode == 0, r.stderr
            assert dst.read_bytes() == reference
        else:
            spoolkit.convert(src, dst, compress="bzip2" if opts[0] == "--bzip2" else None,
                             workers=2, overwrite=True)
            assert dst.read_bytes() == reference
        assert glob.glob(temp_pattern(dst)) == [], f"kill point {point}: temps left"
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    assert outcomes["old"] + outcomes["absent"] > 0, outcomes   # some kills hit the copy


WRITER = IMPORT_ALL + """
import sys, time
from spoolkit import Track, open_dasd
d = open_dasd(sys.argv[1], "r+")
d.write_track(1, 1, Track.from_records(1, 1, [(1, b"", b"\\x33" * 5000)]))
d.flush()
d.write_track(1, 2, Track.from_records(1, 2, [(1, b"", b"\\x44" * 5000)]))
print("ready", flush=True)
time.sleep(60)
"""


def test_killed_writer_is_repaired_by_check(tmp_path, herc):
    img = tmp_path / "k.cckd"
    spoolkit.create_dasd(img, "3390", "KILL02", cylinders=2, compress="zlib").close()
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(img)], env=ENV,
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stale = tmp_path / ".k.cckd.spk-0badc0de.tmp"     # as a killed dasd copy leaves it
    stale.write_bytes(b"half a volume")
    assert _opened(img)
    src = tmp_path / "t.bin"
    src.write_bytes(Track.from_records(0, 5, [(1, b"", b"x" * 100)]).image)
    r = _cli("dasd", "write", img, 0, 5, src)
    assert r.returncode == 2 and "OPENED" in r.stderr and "check --repair" in r.stderr
    r = _cli("dasd", "check", img)       # reports, changes nothing
    assert r.returncode in (0, 1) and "OPENED" in r.stdout and stale.exists()
    assert _opened(img)
    r = _cli("dasd", "check", "--repair", img)
    assert r.returncode == 0, r.stdout
    assert "removed" in r.stdout and not stale.exists()
    assert not _opened(img)
    assert herc("cckdcdsk", "-3", img, check=False).returncode == 0
    assert _cli("dasd", "write", img, 0, 5, src).returncode == 0
    with open_dasd(img) as d:
        # the flushed write survived the kill; the unflushed one is simply absent
        assert d.read_track(1, 1).records[0].data == b"\x33" * 5000
        assert d.read_track(1, 2).nrecs == 0
        assert d.read_track(0, 5).records[0].data == b"x" * 100


small_fs = mount_tmpfs


def _fill(fs, leave):
    """Fill the file system up to ``leave`` bytes."""
    st = os.statvfs(fs)
    free = st.f_bavail * st.f_frsize
    with open(fs / "filler", "wb") as f:
        f.write(bytes(max(0, free - leave)))


def test_full_file_system(tmp_path, source, herc):
    plain, cckd = source
    with small_fs(tmp_path / "fs") as fs:
        old = fs / "out.3390"
        old.write_bytes(b"the old copy")
        vol = fs / "vol.cckd"
        spoolkit.create_dasd(vol, "3390", "FULL01", cylinders=3, compress="zlib").close()
        _fill(fs, 1 << 20)
        # a plain copy of 17 MB does not fit; neither does a compressed one below
        for dst, opts in [(old, []), (fs / "new.cckd", ["-z"]), (fs / "new.3390", [])]:
            src = cckd if not opts else plain
            r = _cli("dasd", "copy", src, dst, *opts, "--force")
            assert r.returncode == 2, r.stderr
            assert "file system is full" in r.stderr and r.stderr.count("\n") == 1
            assert glob.glob(temp_pattern(dst)) == []
        assert old.read_bytes() == b"the old copy"
        assert not (fs / "new.3390").exists()
        # the slots are holes, but each track's null records take a block
        r = _cli("dasd", "init", fs / "big.3390", "3390", "--cylinders", "600")
        assert r.returncode == 2 and "full" in r.stderr and not (fs / "big.3390").exists()
        # track writes into the CCKD until the file system is full
        _fill_more = fs / "filler2"
        _fill_more.write_bytes(bytes(max(0, os.statvfs(fs).f_bavail * os.statvfs(fs).f_frsize
                                         - 200_000)))
        rng = random.Random(7)
        written = {}
        failed = None
        for i in range(40):
            cyl, head = 1 + i // 15, i % 15
            t = Track.from_records(cyl, head, [(r, b"", rng.randbytes(9000))
                                               for r in range(1, 6)])
            src = tmp_path / "t.bin"
            src.write_bytes(t.image)
            r = _cli("dasd", "write", vol, cyl, head, src)
            if r.returncode != 0:
                failed = (cyl, head, r)
                break
            written[(cyl, head)] = t
        assert failed is not None, "the file system never filled up"
        assert failed[2].returncode == 2 and "file system is full" in failed[2].stderr
        assert written, "not even one track fitted"
        assert not _opened(vol)
        out = herc("cckdcdsk", "-3", vol, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        with open_dasd(vol) as d:
            for (cyl, head), t in written.items():
                assert d.read_track(cyl, head) == t
            assert d.read_track(*failed[:2]).nrecs == 0
            assert d.volser == "FULL01"
        assert glob.glob(temp_pattern(vol)) == []
