"""DASD images that are never closed lose no write; a write that fails midway
leaves the image as it was before it."""

from __future__ import annotations

import errno
import gc
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT

import spoolkit
from spoolkit import Track, open_dasd
from spoolkit.dasd.cckd import OPENED, CompressedFile
from spoolkit.errors import WriteError

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def opened_bit(path) -> bool:
    """Whether the compressed image's header has OPENED set."""
    f = CompressedFile(os.fspath(path), False, 0)
    try:
        return bool(f.hdr.opts & OPENED)
    finally:
        f.close()


def _track(cyl, head, fill):
    return Track.from_records(cyl, head, [(r, b"", bytes([fill + r]) * 3000)
                                          for r in range(1, 6)])


WRITER = """
import os, sys, spoolkit
from spoolkit import Track
d = sys.argv[1]
vol = spoolkit.create_dasd(os.path.join(d, "v.cckd"), "3390", "LIFE01", cylinders=3,
                           compress="zlib")
fba = spoolkit.create_fba(os.path.join(d, "f.cfba"), "3370", blocks=2000, compress="zlib")
for i in range(1, 9):
    t = Track.from_records(i % 3, i, [(r, b"", bytes([i + r]) * 3000) for r in range(1, 6)])
    vol.write_track(i % 3, i, t)
    fba.write_blocks(i * 200, bytes([i]) * 512 * 130)   # crosses a block group
print("written", flush=True)
if sys.argv[2] == "raise":
    raise RuntimeError("the program dies of an exception")
if sys.argv[2] == "exit":
    sys.exit(3)
"""


@pytest.mark.parametrize("how", ["end", "raise", "exit"])
def test_unclosed_images_keep_every_write(tmp_path, how, herc):
    proc = subprocess.run([sys.executable, "-W", "always", "-c", WRITER, str(tmp_path), how],
                          env=ENV, capture_output=True, text=True, timeout=120)
    assert "written" in proc.stdout, proc.stderr
    assert proc.returncode == {"end": 0, "raise": 1, "exit": 3}[how]
    assert "ResourceWarning" in proc.stderr and "closed at interpreter exit" in proc.stderr
    vol, fba = tmp_path / "v.cckd", tmp_path / "f.cfba"
    for img in (vol, fba):
        assert not opened_bit(img)
        out = herc("cckdcdsk", "-3", img, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
    with open_dasd(vol) as v, open_dasd(fba) as f:
        for i in range(1, 9):
            assert v.read_track(i % 3, i) == _track(i % 3, i, i)
            assert f.read_blocks(i * 200, 130) == bytes([i]) * 512 * 130
        assert v.volser == "LIFE01"


def test_readme_fba_example_keeps_its_write(tmp_path, herc):
    code = textwrap.dedent("""
        import spoolkit
        fba = spoolkit.create_fba("cms.fba", "3370", blocks=20000, compress="zlib")
        fba.write_blocks(100, bytes(4096)); fba.read_blocks(100, 8)
        fba.write_blocks(5000, b"CMS1" * 1024)
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    img = tmp_path / "cms.fba"
    assert not opened_bit(img)
    assert herc("cckdcdsk", "-3", img, check=False).returncode == 0
    with open_dasd(img) as f:
        assert f.read_blocks(5000, 8) == b"CMS1" * 1024
        assert f.read_blocks(100, 8) == bytes(4096)


@pytest.mark.parametrize("kind", ["cckd", "plain", "cfba", "fba"])
def test_unclosed_image_closed_at_gc(tmp_path, kind):
    if kind in ("cckd", "plain"):
        path = tmp_path / f"g.{kind}"
        opts = {"compress": "zlib"} if kind == "cckd" else {}
        img = spoolkit.create_dasd(path, "3380", cylinders=2, **opts)
        img.write_track(1, 1, _track(1, 1, 7))
    else:
        path = tmp_path / f"g.{kind}"
        img = spoolkit.create_fba(path, blocks=500, compress="zlib" if kind == "cfba" else None)
        img.write_blocks(10, b"\x42" * 1024)
    with pytest.warns(ResourceWarning, match="closed at garbage collection"):
        del img
        gc.collect()
    # the lock went with it: a new writer gets the image at once
    with open_dasd(path, "r+") as again:
        if kind in ("cckd", "plain"):
            assert again.read_track(1, 1) == _track(1, 1, 7)
        else:
            assert again.read_blocks(10, 2) == b"\x42" * 1024
    if kind in ("cckd", "cfba"):
        assert not opened_bit(path)


def test_close_is_idempotent_and_io_after_close_refused(tmp_path):
    img = spoolkit.create_dasd(tmp_path / "c.cckd", "3390", cylinders=1, compress="zlib")
    img.close()
    img.close()
    with pytest.raises(ValueError, match="closed"):
        img.flush()
    fba = spoolkit.create_fba(tmp_path / "c.cfba", blocks=300, compress="zlib")
    fba.close()
    fba.close()
    with pytest.raises(ValueError, match="closed"):
        fba.write_blocks(0, bytes(512))


class _FailingWrites:
    """os.pwrite that fails with ENOSPC after writing part of the bytes, for
    writes into ``path`` from the ``after``-th call on."""

    def __init__(self, monkeypatch, path, after=0):
        self.real = os.pwrite
        self.ino = os.stat(path).st_ino
        self.calls = 0
        self.after = after
        self.armed = True
        monkeypatch.setattr(os, "pwrite", self)

    def __call__(self, fd, data, off):
        if self.armed and os.fstat(fd).st_ino == self.ino:
            self.calls += 1
            if self.calls > self.after:
                n = len(data) // 2
                if n:
                    self.real(fd, bytes(memoryview(data)[:n]), off)
                raise OSError(errno.ENOSPC, "No space left on device")
        return self.real(fd, data, off)


@pytest.mark.parametrize("compress", ["zlib", None])
def test_failed_track_write_leaves_the_image_as_before(tmp_path, monkeypatch, herc, compress):
    path = tmp_path / ("t.cckd" if compress else "t.3390")
    opts = {"compress": compress} if compress else {}
    with spoolkit.create_dasd(path, "3390", cylinders=40, **opts) as d:
        d.write_track(0, 1, _track(0, 1, 1))
    before = {}
    with open_dasd(path, "r+") as d:
        before = {t: d.read_track(*t) for t in [(0, 1), (20, 0), (39, 14)]}
        fail = _FailingWrites(monkeypatch, path)
        # a new track image (and for (20, 0) and (39, 14) a new L2 table) fails
        for cyl, head in before:
            with pytest.raises(WriteError, match="file system is full"):
                d.write_track(cyl, head, _track(cyl, head, 9))
            if compress:  # all or nothing; a plain slot is written in place
                assert d.read_track(cyl, head) == before[(cyl, head)]
        fail.armed = False
        d.write_track(5, 5, _track(5, 5, 3))   # the image stays usable
    with open_dasd(path) as d:
        assert d.read_track(5, 5) == _track(5, 5, 3)
        if compress:
            for t, trk in before.items():
                assert d.read_track(*t) == trk
    if compress:
        assert not opened_bit(path)
        out = herc("cckdcdsk", "-3", path, check=False)
        assert out.returncode == 0, out.stdout + out.stderr
        report = spoolkit.check_dasd(path, 3)
        assert report["ok"] and not report["warnings"], report


def test_failed_multi_group_fba_write_is_all_or_nothing(tmp_path, monkeypatch, herc):
    path = tmp_path / "m.cfba"
    with spoolkit.create_fba(path, blocks=1000, compress="zlib") as f:
        f.write_blocks(100, b"\x11" * 512 * 200)
    with open_dasd(path, "r+") as f:
        old = f.read_blocks(0, 1000)
        fail = _FailingWrites(monkeypatch, path, after=1)  # the 2nd group fails
        with pytest.raises(WriteError):
            f.write_blocks(90, b"\x22" * 512 * 300)
        assert fail.calls == 2
        assert f.read_blocks(0, 1000) == old
        fail.armed = False
    assert not opened_bit(path)
    assert herc("cckdcdsk", "-3", path, check=False).returncode == 0
    with open_dasd(path) as f:
        assert f.read_blocks(0, 1000) == old
