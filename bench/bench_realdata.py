"""spoolkit against the Hercules tools on real content (bench/realdata.py: the
fixtures' tracks written over a 3390-3, their tape blocks repeated to 1 GiB),
each job run as a whole command: alternating pairs (spoolkit, peer, spoolkit,
peer, ...), the ratio of each pair, its median; output size ratio; the peak
RSS of each side (GNU ``time``).  Defaults on both sides (spoolkit's levels are
chosen by result, docs/performance.md).

Run:  python -m pytest bench/bench_realdata.py --benchmark-enable -s
(SPOOLKIT_BENCH_PAIRS: pairs per row, default 5)
"""

from __future__ import annotations

import glob
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from realdata import real_tape, real_volume

ROOT = Path(__file__).resolve().parent.parent
PAIRS = int(os.environ.get("SPOOLKIT_BENCH_PAIRS", "5"))
SPK = [sys.executable, "-m", "spoolkit"]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
ROWS: list[str] = []


def run(argv: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of one command.  The RSS comes from
    GNU time, whose own fork starts the command afresh: a child forked from
    this (pytest) process would report at least this process's size."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        t = time.perf_counter()
        proc = subprocess.run([gnu_time, "-f", "%M", "-o", rss.name, *argv], cwd=cwd, env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - t
        if proc.returncode not in (0, 1):   # check verbs exit 1 on findings
            raise RuntimeError(f"{argv} exited {proc.returncode}")
        kib = int(rss.read().split()[-1])
    return wall, kib * 1024


def size(pattern: str) -> int:
    return sum(os.path.getsize(p) for p in glob.glob(pattern))


def pairs(job: str, ours: list[str], peer: list[str], cwd: Path, ours_out: str = "",
          peer_out: str = "", clean: tuple[str, ...] = ()) -> None:
    ratios, rss_a, rss_b, ta, tb = [], [], [], [], []
    for _ in range(PAIRS):
        for p in clean:
            for f in glob.glob(str(cwd / p)):
                os.unlink(f)
        a, ra = run(ours, cwd)
        b, rb = run(peer, cwd)
        ratios.append(b / a)
        ta.append(a)
        tb.append(b)
        rss_a.append(ra)
        rss_b.append(rb)
    sz = ""
    if ours_out:
        sz = f"size {size(str(cwd / ours_out)) / size(str(cwd / peer_out)):.4f}"
    ROWS.append(f"{job:<34} {statistics.median(ta):7.2f} s {statistics.median(tb):7.2f} s  "
                f"{statistics.median(ratios):5.2f}x ({min(ratios):.2f}-{max(ratios):.2f})  "
                f"{sz:<12} RSS {max(rss_a) >> 20} / {max(rss_b) >> 20} MiB")


def need(*tools: str) -> None:
    for t in tools:
        if shutil.which(t) is None:
            pytest.skip(f"{t} not installed")


@pytest.fixture(scope="module")
def work(bench_dir: Path) -> Path:
    d = bench_dir / "realdata-run"
    d.mkdir(exist_ok=True)
    return d


def test_real_disk(bench_dir: Path, work: Path, benchmark) -> None:
    need("dasdcopy", "cckdcdsk")
    vol = real_volume(bench_dir, "3390-3")
    pairs("CKD -> CCKD (default zlib)", [*SPK, "dasd", "copy", str(vol), "s.cckd", "-z", "-f"],
          ["dasdcopy", "-q", "-z", str(vol), "p.cckd"], work, "s.cckd", "p.cckd",
          ("s.cckd", "p.cckd"))
    pairs("CCKD -> CKD", [*SPK, "dasd", "copy", "p.cckd", "s.3390", "--lfs", "-f"],
          ["dasdcopy", "-q", "-lfs", "-o", "CKD", "p.cckd", "p.3390"], work,
          clean=("s*.3390", "p*.3390"))
    pairs("check level 3", [*SPK, "dasd", "check", "p.cckd", "--level", "3"],
          ["cckdcdsk", "-3", "-ro", "p.cckd"], work)
    print("\n" + "\n".join(ROWS))
    benchmark.pedantic(lambda: None, rounds=1)


def test_real_tape(bench_dir: Path, work: Path, benchmark) -> None:
    need("hetupd")
    tape = real_tape(bench_dir, 1 << 30)
    pairs("AWS -> HET (default zlib)", [*SPK, "tape", "copy", str(tape), "s.het", "-z", "-f"],
          ["hetupd", "-z", str(tape), "p.het"], work, "s.het", "p.het", ("s.het", "p.het"))
    pairs("HET -> AWS", [*SPK, "tape", "copy", "p.het", "s.aws", "--aws", "-f"],
          ["hetupd", "-d", "p.het", "p.aws"], work, clean=("s.aws", "p.aws"))
    print("\n" + "\n".join(ROWS[-2:]))
    benchmark.pedantic(lambda: None, rounds=1)


@pytest.mark.skipif(os.environ.get("SPOOLKIT_BENCH_BIG") != "1",
                    reason="SPOOLKIT_BENCH_BIG=1: a 3390-9 (8.5 GB) and a 2 GiB tape")
def test_real_big(bench_dir: Path, work: Path, benchmark) -> None:
    """The sizes the flat-memory goal names: a 3390-9 and a 2 GiB tape, one
    pair each (the ratio is of one run), peak RSS on both sides."""
    need("dasdcopy", "cckdcdsk", "hetupd")
    global PAIRS
    keep, PAIRS = PAIRS, 1
    try:
        vol = real_volume(bench_dir, "3390-9")
        pairs("3390-9 CKD -> CCKD (default zlib)",
              [*SPK, "dasd", "copy", str(vol), "s9.cckd", "-z", "-f"],
              ["dasdcopy", "-q", "-z", str(vol), "p9.cckd"], work, "s9.cckd", "p9.cckd",
              ("s9.cckd", "p9.cckd"))
        pairs("3390-9 check level 3", [*SPK, "dasd", "check", "p9.cckd", "--level", "3"],
              ["cckdcdsk", "-3", "-ro", "p9.cckd"], work)
        tape = real_tape(bench_dir, 2 << 30)
        pairs("2 GiB AWS -> HET (default zlib)",
              [*SPK, "tape", "copy", str(tape), "s2.het", "-z", "-f"],
              ["hetupd", "-z", str(tape), "p2.het"], work, "s2.het", "p2.het",
              ("s2.het", "p2.het"))
        pairs("2 GiB HET -> AWS", [*SPK, "tape", "copy", "p2.het", "s2.aws", "--aws", "-f"],
              ["hetupd", "-d", "p2.het", "p2.aws"], work, clean=("s2.aws", "p2.aws"))
    finally:
        PAIRS = keep
        for p in ("s2.aws", "p2.aws"):
            if (work / p).exists():
                (work / p).unlink()
    print("\n" + "\n".join(ROWS[-4:]))
    benchmark.pedantic(lambda: None, rounds=1)
