"""DDR dump and restore of a 3390 volume (70 % of the tracks hold 4 KiB
records) side by side with spoolkit's own SPKD dump of the same volume and
with ``cp`` of the image file; DDR costs at most 1.2x SPKD.

The default case is a 3390 of 500 cylinders (7500 tracks, ~430 MB); the
3390-3-sized case (3339 cylinders, ~2.8 GB) is marked slow:

    python -m pytest bench/bench_ddr.py --benchmark-enable -s             # 500 cylinders
    python -m pytest bench/bench_ddr.py --benchmark-enable -s -m slow     # 3390-3 size

SPOOLKIT_BENCH_DIR picks where the images go (a tmpfs keeps a shared disk
out of the figures).
"""

from __future__ import annotations

import os
import shutil
import time

import pytest
from conftest import Results

from spoolkit import create_dasd, ddr
from spoolkit.dasd import ddr as spkd
from spoolkit.dasd.sample import fill_volume

ROUNDS = int(os.environ.get("SPOOLKIT_BENCH_ROUNDS", "3"))
R = Results()
LIMIT = 1.2


def volume(bench_dir, cylinders):
    path = bench_dir / f"ddr-3390-{cylinders}.ckd"
    if not path.exists():
        tmp = bench_dir / f"ddr-3390-{cylinders}.tmp.ckd"
        with create_dasd(tmp, "3390", volser="BENCH1", cylinders=cylinders, lfs=True,
                         overwrite=True) as dev:
            fill_volume(dev, 0.7)
        os.replace(tmp, path)
    return path


def best(fn, cleanup):
    secs = []
    for _ in range(ROUNDS):
        cleanup()
        t0 = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t0)
    return min(secs)


def rm(*paths):
    def clean():
        for p in paths:
            if os.path.exists(p):
                os.unlink(p)
    return clean


def run_case(bench_dir, cylinders):
    vol = volume(bench_dir, cylinders)
    mb = vol.stat().st_size / 1e6
    tape_ddr, tape_spkd = bench_dir / "bench.ddr.aws", bench_dir / "bench.spkd.aws"
    out_ddr, out_spkd = bench_dir / "bench.ddr.ckd", bench_dir / "bench.spkd.ckd"
    copy = bench_dir / "bench.cp.ckd"
    tag = f"3390 {cylinders} cyl"
    R.add(f"{tag}: cp image", best(lambda: shutil.copyfile(vol, copy), rm(copy)), mb, "MB")
    rm(copy)()
    # one format at a time: the disk holds the image, one tape and one restored volume
    d = best(lambda: ddr.dump(vol, tape_ddr), rm(tape_ddr))
    rd = best(lambda: ddr.restore(tape_ddr, out_ddr), rm(out_ddr))
    with open(out_ddr, "rb") as f:
        head = f.read(1 << 20)
    rm(tape_ddr, out_ddr)()
    s = best(lambda: spkd.dump(vol, tape_spkd), rm(tape_spkd))
    rs = best(lambda: spkd.restore(tape_spkd, out_spkd), rm(out_spkd))
    with open(out_spkd, "rb") as f:
        assert f.read(1 << 20) == head
    rm(tape_spkd, out_spkd)()
    R.add(f"{tag}: DDR dump to AWS", d, mb, "MB")
    R.add(f"{tag}: SPKD dump to AWS", s, mb, "MB")
    R.add(f"{tag}: DDR restore from AWS", rd, mb, "MB")
    R.add(f"{tag}: SPKD restore from AWS", rs, mb, "MB")
    print(f"\n== DDR vs SPKD, {tag} ({mb:.0f} MB image) ==\n" + R.table())
    print(f"dump: DDR / SPKD = {d / s:.2f}x; restore: DDR / SPKD = {rd / rs:.2f}x")
    assert d / s <= LIMIT and rd / rs <= LIMIT, (d / s, rd / rs)


def test_ddr_vs_spkd(bench_dir):
    run_case(bench_dir, 500)


@pytest.mark.slow
def test_ddr_vs_spkd_3390_3(bench_dir):
    run_case(bench_dir, 3339)
