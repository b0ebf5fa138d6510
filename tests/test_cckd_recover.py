"""Crash recovery of CCKD writers: a free chain broken by a writer killed in
the middle of ``flush`` (the header naming blocks whose links were already
rewritten) still reads, and ``dasd check --repair`` rebuilds the free space
from the L1/L2 tables; kill -9 at random points of ``dasd write``."""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys

import pytest
from conftest import IMPORT_ALL, ROOT, run_killed
from test_dasd_lifetime import opened_bit

import spoolkit
from spoolkit import Track, open_dasd
from spoolkit.dasd.cckd import HDR_POS, OPENED, CompressedFile
from spoolkit.dasd.check import check_dasd

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
CYLS = 4


def _cli(*argv, timeout=120):
    return subprocess.run([sys.executable, "-m", "spoolkit", *map(str, argv)], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def _track(cyl: int, head: int, tag: int) -> Track:
    rnd = random.Random(tag * 1000 + cyl * 15 + head)
    n = rnd.randrange(200, 6000)
    return Track.from_records(cyl, head, [(1, b"", bytes(rnd.randrange(256) for _ in range(8))
                                           * (n // 8))])


def _all_tracks(img):
    with open_dasd(img) as d:
        return {(c, h): d.read_track(c, h).image for c in range(d.cylinders)
                for h in range(d.heads)}


def _cckdcdsk_clean(herc, img, *opts) -> bool:
    """cckdcdsk -3 (read-only) exits 0 and reports nothing (it prints only
    problems, and exits 0 after some of them)."""
    r = herc("cckdcdsk", "-ro", *opts, "-3", img, check=False)
    return r.returncode == 0 and not (r.stdout + r.stderr).strip()


def _free_chain(img):
    f = CompressedFile(os.fspath(img), False, 0)
    try:
        return [list(b) for b in f.free], int(f.hdr.free_off)
    finally:
        f.close()


@pytest.fixture
def broken(tmp_path):
    """A CCKD with several free blocks whose header points at a free block
    whose link holds other bytes, OPENED set: what a writer killed between the
    link writes and the header of an old-style flush leaves."""
    img = tmp_path / "b.cckd"
    spoolkit.create_dasd(img, "3390", "RECOV1", cylinders=CYLS, compress="zlib").close()
    with open_dasd(img, "r+") as d:
        for cyl in (1, 2):
            for h in range(15):
                d.write_track(cyl, h, _track(cyl, h, 1))
        d.flush()
        for h in range(0, 15, 2):   # frees every other image of cylinder 1
            d.write_track(1, h, _track(1, h, 2))
    free, free_off = _free_chain(img)
    assert len(free) >= 2 and free_off == free[0][0]
    before = _all_tracks(img)
    with open(img, "r+b") as f:
        f.seek(free_off)
        f.write(struct.pack("<II", 0x6F6E6D6C, 0xCD9C7A00))   # next / "length ~3e9"
        f.seek(HDR_POS + 3)
        opts = f.read(1)[0]
        f.seek(HDR_POS + 3)
        f.write(bytes([opts | OPENED]))
    return img, before, free


def test_broken_free_chain_reads_and_is_repaired(broken, herc):
    img, before, free = broken
    # a read-only open needs no free chain: every track reads
    assert _all_tracks(img) == before
    r = _cli("dasd", "read", img, 2, 3, "-o", img.parent / "t.bin")
    assert r.returncode == 0, r.stderr
    assert (img.parent / "t.bin").read_bytes() == before[(2, 3)]
    # the checker names the chain; r+ refuses the damaged file
    rep = check_dasd(img)
    assert not rep["ok"]
    assert any(e["kind"] == "free" and "length 3449584128" in e["message"]
               for e in rep["errors"]), rep["errors"]
    with pytest.raises(spoolkit.errors.FormatError, match="check --repair"):
        open_dasd(img, "r+")
    assert not _cckdcdsk_clean(herc, img, "-f")
    r = _cli("dasd", "check", "--repair", img)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "rebuilt the free space" in r.stdout
    assert not opened_bit(img)
    # the rebuilt chain is the one the tables imply: the old blocks again
    assert _free_chain(img)[0] == free
    assert check_dasd(img, 3)["ok"]
    assert _cckdcdsk_clean(herc, img)
    assert _all_tracks(img) == before
    with open_dasd(img, "r+") as d:
        d.write_track(3, 0, _track(3, 0, 9))
    assert _all_tracks(img) == {**before, (3, 0): _track(3, 0, 9).image}
    assert _cckdcdsk_clean(herc, img)


def test_repair_takes_the_file_size_past_a_stale_header(tmp_path, herc):
    """Tables flushed, header not: images past the header's size are kept."""
    img = tmp_path / "s.cckd"
    spoolkit.create_dasd(img, "3390", "RECOV2", cylinders=CYLS, compress="zlib").close()
    with open(img, "rb") as f:
        old_header = f.read(1024)[HDR_POS:]
    with open_dasd(img, "r+") as d:
        for h in range(15):
            d.write_track(1, h, _track(1, h, 4))
    before = _all_tracks(img)
    with open(img, "r+b") as f:
        f.seek(HDR_POS)
        f.write(bytes([old_header[0], old_header[1], old_header[2], old_header[3] | OPENED])
                + old_header[4:])
    assert _all_tracks(img) == before
    r = _cli("dasd", "check", "--repair", img)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _cckdcdsk_clean(herc, img)
    assert _all_tracks(img) == before


# writes the tracks named on stdin's lines ("cyl head file") one CLI call each
_WRITER = IMPORT_ALL + r"""
import sys
from spoolkit.cli import main
print("ready", flush=True)
for line in open(sys.argv[2]):
    cyl, head, name = line.split()
    rc = main(["dasd", "write", sys.argv[1], cyl, head, name])
    if rc:
        sys.exit(rc)
    print("done", cyl, head, name, flush=True)
"""


_HOLDER = r"""
import sys, time
import spoolkit
img = spoolkit.open_dasd(sys.argv[1], "r+")
cyl, head = int(sys.argv[2]), int(sys.argv[3])
img.write_track(cyl, head, spoolkit.Track.from_records(cyl, head, [(1, b"", b"held" * 900)]))
print("open", flush=True)
time.sleep(60)
"""


def test_kill_during_dasd_write(tmp_path, herc):
    rnd = random.Random(20261203)
    img = tmp_path / "k.cckd"
    spoolkit.create_dasd(img, "3390", "KILL03", cylinders=CYLS, compress="zlib").close()
    want = _all_tracks(img)
    tag = 0

    def batch(n):
        nonlocal tag
        lines = []
        for _ in range(n):
            tag += 1
            cyl, head = rnd.randrange(1, CYLS), rnd.randrange(15)
            p = tmp_path / f"t{tag}.bin"
            p.write_bytes(_track(cyl, head, tag).image)
            lines.append(f"{cyl} {head} {p}\n")
        lst = tmp_path / f"list{tag}"
        lst.write_text("".join(lines))
        return lst, [ln.split() for ln in lines]

    def run(lst, delay):
        out, used, rc, err = run_killed([sys.executable, "-c", _WRITER, str(img), str(lst)],
                                        delay, ENV)
        assert delay is not None or rc == 0, err
        return [line.split()[1:] for line in out.splitlines() if line.startswith("done ")], used

    lst, items = batch(6)
    done, span = run(lst, None)
    assert len(done) == 6
    for cyl, head, name in done:
        want[(int(cyl), int(head))] = open(name, "rb").read()
    interrupted = repaired = 0
    for _point in range(24):
        lst, items = batch(6)
        done, _ = run(lst, rnd.uniform(0.0, span))
        for cyl, head, name in done:
            want[(int(cyl), int(head))] = open(name, "rb").read()
        got = _all_tracks(img)   # a read-only open works whatever the kill hit
        maybe = items[len(done)] if len(done) < len(items) else None
        interrupted += maybe is not None
        for key, image in want.items():
            if maybe and key == (int(maybe[0]), int(maybe[1])) and got[key] != image:
                assert got[key] == open(maybe[2], "rb").read(), key   # the one being written
                want[key] = got[key]
            else:
                assert got[key] == image, key
        repaired += opened_bit(img)     # killed with the image open
        r = _cli("dasd", "check", "--repair", img)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not opened_bit(img)
        assert _cckdcdsk_clean(herc, img)
    # two kills placed inside the open window for sure (random ones may all miss it
    # on a loaded machine): a writer that holds the image open with a track written
    for k in range(2):
        cyl, head = 1 + k, 14
        hold = subprocess.Popen([sys.executable, "-c", _HOLDER, str(img), str(cyl), str(head)],
                                env=ENV, stdout=subprocess.PIPE, text=True)
        assert hold.stdout.readline().strip() == "open"
        hold.send_signal(signal.SIGKILL)
        hold.wait(timeout=60)
        got = _all_tracks(img)
        for key, image in want.items():
            if key != (cyl, head):
                assert got[key] == image, key
        want[(cyl, head)] = got[(cyl, head)]     # the unflushed write: old or new, whole
        repaired += opened_bit(img)
        r = _cli("dasd", "check", "--repair", img)
        assert r.returncode == 0, r.stdout + r.stderr
        assert not opened_bit(img)
        assert _cckdcdsk_clean(herc, img)
    assert interrupted >= 5 and repaired >= 2, (interrupted, repaired)
    # writable again, nothing lost
    lst, items = batch(2)
    done, _ = run(lst, None)
    for cyl, head, name in done:
        want[(int(cyl), int(head))] = open(name, "rb").read()
    assert _all_tracks(img) == want
