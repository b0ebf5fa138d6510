"""Compressed -> plain CKD (``dasd copy X.cckd Y.3390``): the output file is
allocated whole and only each track's image is written, by
``spk_cckd_expand_group`` one group at a time.  The bytes must be
``dasdcopy -o CKD``'s; bad stored images give typed errors; write errors
name the file and offset."""

from __future__ import annotations

import errno
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import spoolkit
from spoolkit import open_dasd
from spoolkit._native import ffi, lib, new_err
from spoolkit.dasd import ckd
from spoolkit.dasd.convert import _expand_group
from spoolkit.dasd.sample import fill_volume
from spoolkit.errors import SpoolkitError, WriteError

REAL = ["vm14-3.cckd", "vm50u1.cckd", "cms/cmsuser_191.cckd", "cms/gcccms_201.cckd"]


def _same_bytes(a: Path, b: Path) -> bool:
    return subprocess.run(["cmp", "-s", str(a), str(b)]).returncode == 0


@pytest.fixture(scope="module")
def cckd_vol(tmp_path_factory):
    """A 3380 of 25 cylinders with sample data, as CCKD (zlib)."""
    d = tmp_path_factory.mktemp("plain")
    src = d / "v.3380"
    with spoolkit.create_dasd(src, "3380", "PLAIN1", cylinders=25) as img:
        fill_volume(img, seed=21)
    z = d / "v.cckd"
    spoolkit.convert(src, z, compress="zlib")
    return src, z


@pytest.mark.parametrize("name", REAL)
def test_real_volume_equals_dasdcopy(name, tmp_path, herc, fixtures):
    src = fixtures / name
    if not src.is_file():
        pytest.skip(f"{name} not in the fixtures")
    ours, peer = tmp_path / "s.ckd", tmp_path / "p.ckd"
    spoolkit.convert(src, ours)
    herc("dasdcopy", "-q", "-o", "CKD", src, peer)
    assert ours.stat().st_size == peer.stat().st_size
    assert _same_bytes(ours, peer), f"{name}: our CKD differs from dasdcopy's"
    # allocated whole: later writes into it cannot run out of space
    st = ours.stat()
    assert st.st_blocks * 512 >= st.st_size


def test_plain_to_plain_equals_dasdcopy(cckd_vol, tmp_path, herc):
    plain, _ = cckd_vol
    ours, peer = tmp_path / "s.3380", tmp_path / "p.3380"
    spoolkit.convert(plain, ours)
    herc("dasdcopy", "-q", "-o", "CKD", plain, peer)
    assert _same_bytes(ours, peer)


def test_generated_cckd_round_trips(cckd_vol, tmp_path):
    plain, z = cckd_vol
    out = tmp_path / "o.3380"
    for workers in (1, 3):
        spoolkit.convert(z, out, workers=workers, overwrite=True)
        assert _same_bytes(plain, out)


def test_split_output_holds_the_lfs_slots(cckd_vol, tmp_path, monkeypatch):
    """A split set (here at 2 cylinders, so groups of 256 tracks straddle
    files) holds the same slots as the one-file output, each file with its
    own header."""
    _, z = cckd_vol
    one = tmp_path / "one.3380"
    spoolkit.convert(z, one, lfs=True)
    monkeypatch.setattr(ckd, "SPLIT_LIMIT", 512 + 2 * 15 * 47616)
    res = spoolkit.convert(z, tmp_path / "s.3380")
    files = [Path(f) for f in res["files"]]
    assert len(files) == 13
    whole = one.read_bytes()
    at, cyl = 512, 0
    for k, f in enumerate(files, start=1):
        data = f.read_bytes()
        # CKD_DEVHDR: devid[8], heads, trksize (LE 32), devtype, fileseq, highcyl (LE 16)
        devid, heads, trksize, devt, seq, high = struct.unpack_from("<8sIIBBH", data)
        ncyl = (len(data) - 512) // (15 * 47616)
        assert (devid, heads, trksize, devt, seq) == (b"CKD_P370", 15, 47616, 0x80, k)
        assert high == (0 if k == len(files) else cyl + ncyl - 1)
        assert data[512:] == whole[at:at + len(data) - 512]
        at += len(data) - 512
        cyl += ncyl
    assert at == len(whole) and cyl == 25
    with open_dasd(tmp_path / "s.3380") as a, open_dasd(one) as b:
        for c, h in [(0, 0), (2, 0), (17, 3), (24, 14)]:
            assert a.read_track(c, h).image == b.read_track(c, h).image


def test_write_error_names_file_and_offset(cckd_vol, tmp_path):
    _, z = cckd_vol
    out = tmp_path / "ro.3380"
    out.write_bytes(b"")
    fd = os.open(out, os.O_RDONLY)
    try:
        with open_dasd(z) as img, pytest.raises(WriteError) as ei:
            _expand_group(img, 1, [(0, img.total_tracks, fd, str(out))])
    finally:
        os.close(fd)
    e = ei.value
    assert e.path == str(out) and e.errno == errno.EBADF
    assert e.offset == 512 + 256 * 47616   # group 1's first slot


def test_enospc_is_a_full_file_system(cckd_vol, tmp_path, monkeypatch):
    """posix_fallocate failing for space is the clear "full" error, before
    any track is written; EOPNOTSUPP falls back to a sparse file."""
    _, z = cckd_vol
    real = os.posix_fallocate

    def full(fd: int, off: int, n: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(WriteError, match="file system is full"):
        spoolkit.convert(z, tmp_path / "f.3380")
    assert list(tmp_path.iterdir()) == []

    def unsupported(fd: int, off: int, n: int) -> None:
        raise OSError(errno.EOPNOTSUPP, os.strerror(errno.EOPNOTSUPP))

    monkeypatch.setattr(os, "posix_fallocate", unsupported)
    spoolkit.convert(z, tmp_path / "s.3380")
    monkeypatch.setattr(os, "posix_fallocate", real)
    spoolkit.convert(z, tmp_path / "a.3380")
    assert _same_bytes(tmp_path / "s.3380", tmp_path / "a.3380")
    st = (tmp_path / "s.3380").stat()
    assert st.st_blocks * 512 < st.st_size       # the fallback is sparse


def _c_expand(z: Path, entries: list[tuple[int, int, int]], out_fd: int, *, nullfmt: int = 0
              ) -> tuple[int, object]:
    """spk_cckd_expand_group over one 3380 group whose L2 entries are given."""
    l2 = ffi.new("spk_cckd_l2ent[]", 256)
    for i, (off, ln, size) in enumerate(entries):
        l2[i].off, l2[i].len, l2[i].size = off, ln, size
    src = ffi.new("spk_cckd_src[]", 1)
    fd = os.open(z, os.O_RDONLY)
    try:
        src[0].fd, src[0].nullfmt = fd, nullfmt
        src[0].meta_end, src[0].filesize = 1024 + 4, os.path.getsize(z)
        src[0].l2 = l2
        work = bytearray(65535 + 49277)
        err = new_err()
        rc = lib.spk_cckd_expand_group(src, 1, 0, len(entries), 15, 0, 47616, out_fd, 512,
                                       ffi.from_buffer(work), len(work), err)
    finally:
        os.close(fd)
    return rc, err


def test_c_expander_checks_entries(cckd_vol, tmp_path):
    _, z = cckd_vol
    size = os.path.getsize(z)
    out = tmp_path / "o.bin"
    fd = os.open(out, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        cases = {
            lib.SPK_EFORMAT: [(0, 3, 3)],                 # null entry of format 3
            lib.SPK_ETRUNC: [(size - 10, 100, 100)],      # runs past the end
            lib.SPK_ENOTFOUND: [(2**64 - 1, 0, 0)],       # in no file
        }
        for code, entries in cases.items():
            rc, err = _c_expand(z, entries, fd)
            assert rc == code and err.index == 0, (code, rc)
        rc, err = _c_expand(z, [(10, 100, 100)], fd)      # overlaps the headers
        assert rc == lib.SPK_EFORMAT and b"overlaps" in ffi.string(err.msg)
        # a format-2 null track (49277 bytes) does not fit a 3380 slot
        rc, err = _c_expand(z, [(0, 1, 1), (0, 0, 0), (0, 2, 2)], fd)
        assert rc == lib.SPK_ECAPACITY and err.index == 2
        rc, _ = _c_expand(z, [(0, 1, 1), (0, 0, 0)], fd)
        assert rc == 2
        with open(out, "rb") as f:
            data = f.read()
        for i, fmt in enumerate((1, 0)):
            buf = bytearray(64)
            n = lib.spk_track_null(ffi.from_buffer(buf), len(buf), 0, i, fmt, ffi.NULL)
            assert n == (29, 37)[i]
            assert data[512 + i * 47616:512 + i * 47616 + n] == bytes(buf[:n]), fmt
    finally:
        os.close(fd)


@pytest.mark.fuzz
def test_fuzz_group_expander_with_corrupted_images(cckd_vol, tmp_path):
    """Random bytes of the stored images and random L2 entries: only
    SpoolkitError comes out, never a crash or an out-of-bounds access."""
    _, z = cckd_vol
    raw = z.read_bytes()
    with open_dasd(z) as img:
        spans = [(int(img.files[0].l2[t].off), int(img.files[0].l2[t].len))
                 for t in range(img.total_tracks) if img.files[0].l2[t].off]
    rng = random.Random(2026)
    bad = tmp_path / "bad.cckd"
    errors = 0
    for _ in range(60):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 6)):
            off, ln = rng.choice(spans)
            where = off + rng.randrange(ln)
            if rng.random() < 0.3:   # the image's track header
                where = off + rng.randrange(min(ln, 5))
            data[where] = rng.randrange(256)
        bad.write_bytes(bytes(data))
        try:
            spoolkit.convert(bad, tmp_path / "o.3380", overwrite=True, workers=2)
        except SpoolkitError as exc:
            assert str(exc)
            errors += 1
    assert errors > 0
    size = len(raw)
    out = tmp_path / "o.bin"
    fd = os.open(out, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        for _ in range(300):
            entries = []
            for _ in range(rng.randint(1, 8)):
                kind = rng.random()
                if kind < 0.2:
                    entries.append((0, rng.randrange(5), rng.randrange(5)))
                elif kind < 0.5:
                    off, ln = rng.choice(spans)
                    entries.append((off + rng.randrange(-3, 4), max(0, ln + rng.randrange(-3, 4)),
                                    ln + rng.randrange(0, 8)))
                else:
                    ln = rng.randrange(65536)
                    entries.append((rng.randrange(size + 100), ln,
                                    min(65535, ln + rng.randrange(9))))
            rc, err = _c_expand(z, entries, fd, nullfmt=rng.choice((0, 2)))
            assert rc == len(entries) or rc < 0
            if rc < 0:
                assert 0 <= err.index < len(entries) and ffi.string(err.msg)
    finally:
        os.close(fd)


def test_cli_copy_equals_dasdcopy_lfs(tmp_path, herc, fixtures):
    """The CLI spelling of the issue's case on a real volume."""
    src = fixtures / "vm50u1.cckd"
    ours, peer = tmp_path / "s.3350", tmp_path / "p.3350"
    argv = [sys.executable, "-m", "spoolkit", "dasd", "copy", str(src), str(ours), "--lfs", "-f"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600,
                       env={**os.environ, "PYTHONPATH": str(Path(spoolkit.__file__).parents[1])})
    assert r.returncode == 0, r.stderr
    herc("dasdcopy", "-q", "-lfs", "-o", "CKD", src, peer)
    assert _same_bytes(ours, peer)
    with open(ours, "rb") as f:
        assert struct.unpack_from("<I", f.read(512), 8)[0] == 30  # heads
