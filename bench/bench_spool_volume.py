"""A spool volume of 5,000 files and 1 GB of pages: list and stream.

Run:  python -m pytest bench/bench_spool_volume.py --benchmark-enable
 or:  python bench/bench_spool_volume.py          (prints the README rows)

Targets (issue 5): list every file in under a second; stream every record
with peak memory under 200 MB.  The volume is built once into the bench cache
directory (3390-3, SPOL 1-1700, DRCT 1701-1710).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spoolkit.spool import SpoolFile, create_volume, open_volume  # noqa: E402

NFILES = 5000
PAGES_PER_FILE = 52                   # 5000 x 53 pages of 4 KiB = about 1.08 GB
LINE = 4000                           # one record per page


def _files():
    for i in range(NFILES):
        recs = [(0x09, bytes([0xC1 + (i + j) % 9]) * (LINE - j % 7))
                for j in range(PAGES_PER_FILE)]
        yield SpoolFile(type="PRT", owner=f"U{i % 97}", spoolid=i + 1, fname=f"F{i}",
                        ftype="LISTING", records=recs, lrecl=LINE)


def build(path: Path) -> Path:
    if path.exists():
        return path
    tmp = path.with_suffix(".part")
    with create_volume(tmp, "3390-3", volser="BENCH1",
                       extents=[("SPOL", 1, 1700), ("DRCT", 1701, 1710)]) as vol:
        batch = []
        for sf in _files():
            batch.append(sf)
            if len(batch) == 500:
                vol.add_many(batch)
                batch = []
        vol.add_many(batch)
    os.replace(tmp, path)
    return path


def list_all(path: Path) -> int:
    with open_volume(path) as vol:
        return sum(1 for _ in vol.files())


def rss_anon_mb() -> float:
    """Private (anonymous) resident memory; mapped image pages are page cache."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) / 1024
    return 0.0


def stream_all(path: Path, peak: list | None = None) -> tuple[int, int]:
    n = nbytes = 0
    with open_volume(path) as vol:
        for i, sf in enumerate(vol.files()):
            for block in sf.record_blocks():
                n += len(block)
                nbytes += len(block.data)
            if peak is not None and i % 100 == 0:
                peak.append(rss_anon_mb())
    return n, nbytes


@pytest.fixture(scope="module")
def volume(bench_dir):
    return build(bench_dir / "spool5000.3390")


def test_list(benchmark, volume):
    assert benchmark(list_all, volume) == NFILES


def test_stream(benchmark, volume):
    n, _ = benchmark.pedantic(stream_all, args=(volume,), rounds=1, iterations=1)
    assert n == NFILES * PAGES_PER_FILE


def main() -> None:
    d = Path(os.environ.get("SPOOLKIT_BENCH_DIR", "/tmp/spoolkit-bench"))
    d.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    path = build(d / "spool5000.3390")
    print(f"build: {time.perf_counter() - t:.1f} s, {path.stat().st_size / 1e9:.2f} GB image")
    t = time.perf_counter()
    assert list_all(path) == NFILES
    t_list = time.perf_counter() - t
    anon: list = []
    t = time.perf_counter()
    n, nbytes = stream_all(path, anon)
    t_stream = time.perf_counter() - t
    rss = max(anon)
    print(f"| list 5,000 spool files (1 GB volume) | {t_list:.2f} s | target 1 s | "
          f"{1 / t_list:.1f}x |")
    print(f"| stream 5,000 files, {nbytes / 1e9:.2f} GB of records | {t_stream:.1f} s, "
          f"{nbytes / 1e6 / t_stream:.0f} MB/s | "
          f"max private RSS {rss:.0f} MB (target 200 MB) | - |")
    print(f"records {n}")


if __name__ == "__main__":
    main()
