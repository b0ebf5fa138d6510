"""Locks on DASD images: one writer (exclusive on every file it may write),
many readers (shared), with real processes."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time

import pytest
from conftest import IMPORT_ALL, ROOT

import spoolkit
from spoolkit import Track, open_dasd
from spoolkit.dasd import ckd
from spoolkit.errors import InUseError

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

HOLDER = IMPORT_ALL + """
import sys, time
from spoolkit import open_dasd
img = open_dasd(sys.argv[1], sys.argv[2])
print("ready", flush=True)
time.sleep(float(sys.argv[3]))
img.close()
"""


def _hold(path, mode, seconds=60.0):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), mode, str(seconds)],
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.strip() == "ready", proc.stderr.read()
    return proc


def _cli(*argv, timeout=60):
    return subprocess.run([sys.executable, "-m", "spoolkit", *map(str, argv)], env=ENV,
                          capture_output=True, text=True, timeout=timeout)


def _trk(cyl, head, fill):
    return Track.from_records(cyl, head, [(1, b"", bytes([fill]) * 2000)])


@pytest.fixture(params=["cckd", "3390"])
def image(request, tmp_path):
    path = tmp_path / f"v.{request.param}"
    opts = {"compress": "zlib"} if request.param == "cckd" else {}
    spoolkit.create_dasd(path, "3390", cylinders=2, **opts).close()
    return path


def test_second_writer_refused_with_holder_pid(tmp_path, image):
    src = tmp_path / "t.bin"
    src.write_bytes(_trk(0, 1, 7).image)
    before = image.read_bytes()
    holder = _hold(image, "r+")
    try:
        r = _cli("dasd", "write", image, 0, 1, src)
        assert r.returncode == 2 and r.stderr.count("\n") == 1
        assert f"in use by process {holder.pid}" in r.stderr and str(image) in r.stderr
    finally:
        holder.kill()
        holder.wait()
    if image.suffix != ".cckd":   # a killed CCKD writer left OPENED set: that is all
        assert image.read_bytes() == before


def test_second_writer_waits_for_the_first(tmp_path, image):
    src = tmp_path / "t.bin"
    src.write_bytes(_trk(1, 2, 9).image)
    holder = _hold(image, "r+", seconds=1.5)
    t0 = time.monotonic()
    r = _cli("dasd", "write", "--wait", "30", image, 1, 2, src)
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 >= 0.5    # it waited for the holder
    assert holder.wait(timeout=30) == 0
    with open_dasd(image) as d:
        assert d.read_track(1, 2) == _trk(1, 2, 9)


def test_reader_while_a_writer_holds(tmp_path, image):
    holder = _hold(image, "r+")
    try:
        r = _cli("dasd", "tracks", image, "--cyl", "0")
        assert r.returncode == 2 and f"in use by process {holder.pid}" in r.stderr
    finally:
        holder.terminate()
        holder.wait()
    # readers share: two at once, and a writer is refused while they read
    reader = _hold(image, "r")
    try:
        assert _cli("dasd", "info", image).returncode == 0
        with pytest.raises(InUseError, match=f"process {reader.pid}"):
            open_dasd(image, "r+", **({}))
    finally:
        reader.terminate()
        reader.wait()


def test_two_writers_at_once_lose_nothing(tmp_path, herc):
    image = tmp_path / "two.cckd"
    spoolkit.create_dasd(image, "3390", cylinders=3, compress="zlib").close()
    for who in (1, 2):
        for i in range(6):
            (tmp_path / f"t{who}_{i}.bin").write_bytes(_trk(who, i, 16 * who + i).image)
    loop = ("for i in 0 1 2 3 4 5; do {py} -m spoolkit dasd write --wait 60 {img} {who} $i "
            "{d}/t{who}_$i.bin || exit 1; done")
    procs = [subprocess.Popen(loop.format(py=sys.executable, img=image, who=who, d=tmp_path),
                              shell=True, env=ENV, stderr=subprocess.PIPE, text=True)
             for who in (1, 2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    with open_dasd(image) as d:
        for who in (1, 2):
            for i in range(6):
                assert d.read_track(who, i) == _trk(who, i, 16 * who + i)
    assert herc("cckdcdsk", "-3", image, check=False).returncode == 0


def _try_flock(path, op):
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, op | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def test_every_file_of_a_split_set_is_locked(tmp_path, monkeypatch):
    monkeypatch.setattr(ckd, "SPLIT_LIMIT", 512 + 2 * 15 * 47616)
    with spoolkit.create_dasd(tmp_path / "s.3380", "3380", cylinders=5) as d:
        assert len(d.files) == 3
        for name in d.files:
            assert not _try_flock(name, fcntl.LOCK_SH), name
        # the third piece alone cannot be opened for writing meanwhile
        with pytest.raises(InUseError):
            open_dasd(d.files[0], "r+")
    with open_dasd(tmp_path / "s_1.3380") as r:
        for name in r.files:
            assert _try_flock(name, fcntl.LOCK_SH) and not _try_flock(name, fcntl.LOCK_EX)
    for name in r.files:
        assert _try_flock(name, fcntl.LOCK_EX)


def test_shadow_chain_locks_top_exclusive_base_shared(tmp_path):
    base = tmp_path / "base.cckd"
    spoolkit.create_dasd(base, "3390", cylinders=1, compress="zlib").close()
    sf = str(tmp_path / "sh_*.cckd")
    with open_dasd(base, "r+", sf=sf) as d:
        shadow = d.files[-1].path
        assert _try_flock(base, fcntl.LOCK_SH) and not _try_flock(base, fcntl.LOCK_EX)
        assert not _try_flock(shadow, fcntl.LOCK_SH)
        with open_dasd(base) as reader:      # the base may still be read
            assert reader.cylinders == 1
        with pytest.raises(InUseError):       # but not written under the shadow
            open_dasd(base, "r+")
    assert _try_flock(base, fcntl.LOCK_EX) and _try_flock(shadow, fcntl.LOCK_EX)
