"""Streaming verbs keep resident memory flat: the peak RSS of ``spoolkit
tape copy`` (both ways: compressing and inflating) and ``spoolkit dasd
dump/copy/check`` does not grow with the input, and stays under 200 MiB on
big inputs (slow-marked).  Each command runs under a small wrapper process
whose only child it is, so ``RUSAGE_CHILDREN`` is that command's peak."""

from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

MiB = 1 << 20
BLOCK = 32760
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
WRAP = ("import resource, subprocess, sys\n"
        "rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
        "print(rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n")


def peak_rss(*argv: str, cwd: Path) -> int:
    """Run ``spoolkit ARGV``; its peak resident memory in bytes."""
    proc = subprocess.run([sys.executable, "-c", WRAP, sys.executable, "-m", "spoolkit", *argv],
                          cwd=cwd, env=ENV, capture_output=True, text=True, timeout=900)
    rc, kib = proc.stdout.split()
    assert rc == "0", (argv, proc.stderr)
    return int(kib) * 1024


def write_aws(path: Path, size: int) -> None:
    """An AWS tape of ``size`` bytes or so: 32760-byte blocks of a few
    repeated patterns (they compress a hundredfold), then one tapemark;
    written from one prepared run of blocks, so a GB takes a second."""
    pats = [bytes([(i * 37 + k) & 0xFF for i in range(251)]) for k in range(4)]
    datas = [(p * (BLOCK // len(p) + 1))[:BLOCK] for p in pats]
    run = b"".join(struct.pack("<HHBB", BLOCK, BLOCK, 0xA0, 0) + datas[i % 4]
                   for i in range(256))
    with open(path, "wb") as f:
        f.write(struct.pack("<HHBB", BLOCK, 0, 0xA0, 0) + run[6:])
        for _ in range(max(0, size // len(run) - 1)):
            f.write(run)
        f.write(struct.pack("<HHBB", 0, BLOCK, 0x40, 0))


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MiB):
            h.update(chunk)
    return h.hexdigest()


def tape_round_trip(tmp_path: Path, size: int) -> tuple[int, int]:
    """AWS -> HET (zlib) -> AWS; the peak RSS of each copy.  The copy back
    is the source byte for byte."""
    src, het, back = tmp_path / "src.aws", tmp_path / "mid.het", tmp_path / "back.aws"
    write_aws(src, size)
    down = peak_rss("tape", "copy", str(src), str(het), "-z", "-f", cwd=tmp_path)
    assert het.stat().st_size < size // 20     # it did compress
    up = peak_rss("tape", "copy", str(het), str(back), "--aws", "-f", cwd=tmp_path)
    assert digest(back) == digest(src)
    for p in (src, het, back):
        p.unlink()
    return down, up


def test_tape_copy_memory_does_not_grow_with_the_tape(tmp_path):
    small = tape_round_trip(tmp_path, 30 * MiB)
    big = tape_round_trip(tmp_path, 300 * MiB)
    for a, b in zip(small, big):
        # 270 MB more tape (inflating: 2.7 GB more than the HET): what grows is
        # only the buffers in flight reaching their full size
        assert b - a < 64 * MiB, (small, big)
        assert b < 128 * MiB, (small, big)


def _volume(tmp_path: Path, name: str, cylinders: int) -> Path:
    from spoolkit import create_dasd
    from spoolkit.dasd.sample import fill_volume

    path = tmp_path / name
    with create_dasd(path, "3390", "FLAT01", cylinders=cylinders, lfs=True) as d:
        fill_volume(d, fraction=0.05, seed=5)
    return path


def dasd_peaks(tmp_path: Path, cylinders: int) -> dict[str, int]:
    vol = _volume(tmp_path, f"v{cylinders}.3390", cylinders)
    out = {
        "dump": peak_rss("dasd", "dump", str(vol), "d.aws", "-f", cwd=tmp_path),
        "copy -z": peak_rss("dasd", "copy", str(vol), "c.cckd", "-z", "-f", cwd=tmp_path),
        "check": peak_rss("dasd", "check", "c.cckd", cwd=tmp_path),
        "copy back": peak_rss("dasd", "copy", "c.cckd", "b.3390", "-f", cwd=tmp_path),
    }
    assert vol.exists() and (tmp_path / "d.aws").exists()
    for p in tmp_path.iterdir():   # b.3390 of a 3390-3 is b_1.3390, b_2.3390
        p.unlink()
    return out


def test_dasd_memory_does_not_grow_with_the_volume(tmp_path):
    small = dasd_peaks(tmp_path, 100)
    big = dasd_peaks(tmp_path, 1000)
    for verb in small:
        assert big[verb] - small[verb] < 24 * MiB, (verb, small, big)


@pytest.mark.slow
def test_big_tape_copy_under_200_mib(tmp_path):
    down, up = tape_round_trip(tmp_path, 1 << 30)
    assert down <= 200 * MiB and up <= 200 * MiB, (down, up)


@pytest.mark.slow
def test_3390_3_under_200_mib(tmp_path):
    peaks = dasd_peaks(tmp_path, 3339)
    assert max(peaks.values()) <= 200 * MiB, peaks
