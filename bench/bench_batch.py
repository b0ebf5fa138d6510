"""200 small sparse 3390-1-sized images (1,113 cylinders, a few tracks of data
each) compressed to CCKD three ways: ``spoolkit batch convert -z`` (a process
per core), a shell loop of Hercules' ``dasdcopy -z`` and a shell loop of
``spoolkit dasd copy -z`` (each copy on all cores); images/s and ratios.

Run:  python -m pytest bench/bench_batch.py --benchmark-only -s
SPOOLKIT_BENCH_BATCH_N sets how many images (a few for a quick check that the bench runs).
Images are generated once into $SPOOLKIT_BENCH_DIR/batch (default /tmp/spoolkit-bench).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import Results

import spoolkit
from spoolkit import Track

N = int(os.environ.get("SPOOLKIT_BENCH_BATCH_N", "200"))
RESULTS = Results()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {**os.environ, "PYTHONPATH": ROOT}
BATCH, HERC, LOOP = ("spoolkit batch convert -z", "shell loop: dasdcopy -z",
                     "shell loop: spoolkit dasd copy -z")


@pytest.fixture(scope="module")
def images(bench_dir):
    d = bench_dir / "batch"
    done = bench_dir / "batch.complete"     # outside d: not an image of the batch
    if not done.exists() or len(list(d.glob("*.3390"))) != N:
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        for i in range(N):
            # plain images are sparse files: only the written tracks take space
            with spoolkit.create_dasd(d / f"v{i:03d}.3390", "3390-1", f"B{i:05d}") as dev:
                for t in range(8):
                    recs = [(r, b"", bytes([i % 251, t, r]) * 1000) for r in range(1, 5)]
                    dev.write_track(1 + t, 0, Track.from_records(1 + t, 0, recs))
        done.write_text("ok\n")
    yield d
    print(f"\n{N} sparse 3390-1 images -> CCKD\n{RESULTS.table()}")
    for other in (HERC, LOOP):
        if {BATCH, other} <= RESULTS.rows.keys():
            print(f"{BATCH} vs {other}: {RESULTS.ratio(BATCH, other):.1f}x the images/s")


def _timed(benchmark, run) -> float:
    """One timed round of ``run`` under pytest-benchmark (dirty pages of the
    round before written back first); its wall time, also measured here for
    runs with pytest-benchmark disabled."""
    secs = []

    def once():
        t0 = time.perf_counter()
        run()
        secs.append(time.perf_counter() - t0)

    os.sync()
    if benchmark.disabled:
        once()
    else:
        benchmark.pedantic(once, rounds=1, iterations=1)
    return secs[0]


def _fresh(bench_dir, name):
    out = bench_dir / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    return out


def test_spoolkit_batch(benchmark, images, bench_dir):
    def run():
        out = _fresh(bench_dir, "batch-out")
        subprocess.run([sys.executable, "-m", "spoolkit", "batch", "convert", str(images),
                        "--to", str(out), "-z", "-q"], check=True, env=ENV)
    RESULTS.add(BATCH, _timed(benchmark, run), N, "images")


def test_dasdcopy_loop(benchmark, images, bench_dir):
    if shutil.which("dasdcopy") is None:
        pytest.skip("dasdcopy not installed")

    def run():
        out = _fresh(bench_dir, "dasdcopy-out")
        subprocess.run(["bash", "-c", f'for f in {images}/*.3390; do dasdcopy -q -z "$f" '
                        f'"{out}/$(basename "$f")" >/dev/null 2>&1 || exit 1; done'], check=True)
    RESULTS.add(HERC, _timed(benchmark, run), N, "images")


def test_spoolkit_copy_loop(benchmark, images, bench_dir):
    def run():
        out = _fresh(bench_dir, "copy-out")
        subprocess.run(["bash", "-c", f'for f in {images}/*.3390; do "{sys.executable}" -m '
                        f'spoolkit dasd copy -z -q "$f" "{out}/$(basename "$f")" || exit 1; '
                        f'done'], check=True, env=ENV)
    RESULTS.add(LOOP, _timed(benchmark, run), N, "images")
