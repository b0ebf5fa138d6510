"""CMS minidisks: list and read every file of a full disk, beside a pure-Python
reader of the same layout (bench/pycms.py) and ``scan`` of the same extent.

Run:  python -m pytest bench/bench_cms.py --benchmark-enable
 or:  python bench/bench_cms.py          (prints the README rows)

Targets (issue 16): reading all files costs at most 2x scanning the extent's
tracks, and at least 10x less than the pure-Python reader.  Two disks are
built once into the bench cache directory: a full-size VM/370 3350 minidisk
(115 cylinders, 65,531 blocks of 800) and an EDF 3390 minidisk (200 cylinders
of 4 KiB blocks), each about 90% full of F and V files.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pycms  # noqa: E402
from timing import best_of  # noqa: E402

import spoolkit  # noqa: E402
from spoolkit.cms import open_minidisk  # noqa: E402
from spoolkit.cms.format import format_minidisk  # noqa: E402

DISKS = {
    "vm370": ("3350", 115, None, 800),
    "edf": ("3390", 200, 4096, 4096),
}


def _file(r: random.Random, i: int) -> tuple[str, list[bytes], str, int]:
    if i % 3 == 0:
        return "F", [r.randbytes(80) for _ in range(r.randrange(50, 3000))], "F", 80
    return "V", [r.randbytes(r.randrange(1, 250)) for _ in range(r.randrange(50, 4000))], "V", 0


def build(path: Path, kind: str) -> Path:
    if path.exists():
        return path
    devtype, ncyl, bs, _ = DISKS[kind]
    tmp = path.with_suffix(".part")
    spoolkit.create_dasd(tmp, devtype, "BENCH1", cylinders=ncyl, compress=None,
                         overwrite=True).close()
    with spoolkit.open_dasd(tmp, "r+") as dev:
        format_minidisk(dev, 0, ncyl - 1, "BENCH", blocksize=bs, force=True)
    r = random.Random(16)
    when = dt.datetime(2024, 1, 1)
    with open_minidisk(tmp, 0, ncyl - 1, "r+") as md:
        i = 0
        while md.stats()["left"] > md.stats()["blocks"] // 10:
            _, recs, recfm, lrecl = _file(r, i)
            md.write(f"F{i}", "BENCH", "A1", recs, recfm=recfm, lrecl=lrecl or None, date=when)
            i += 1
    os.replace(tmp, path)
    return path


def read_all(path: Path) -> int:
    """Every file's records (Minidisk.read_all: the blocks of many files in one pass)."""
    with open_minidisk(path) as md:
        return sum(len(recs) for _, recs in md.read_all())


def read_each(path: Path) -> int:
    """Every file's records, one read() per file."""
    with open_minidisk(path) as md:
        return sum(len(md.read(f)) for f in md.files())


def read_all_python(path: Path, kind: str) -> int:
    _, _, _, bs = DISKS[kind]
    per = 19 if kind == "vm370" else 12            # 800 on a 3350, 4 KiB on a 3390
    b = pycms.Blocks(str(path), 0, bs, per)
    try:
        files = pycms.vm370_files(b) if kind == "vm370" else pycms.edf_files(b)
    finally:
        b.close()
    return sum(len(recs) for _, recs in files)


def list_all(path: Path) -> int:
    with open_minidisk(path) as md:
        return len(md.files())


def scan(path: Path) -> int:
    with spoolkit.open_dasd(path) as dev:
        return dev.scan().records


@pytest.fixture(scope="module", params=sorted(DISKS))
def disk(request, bench_dir):
    return request.param, build(bench_dir / f"cms-{request.param}.img", request.param)


def test_read_all(benchmark, disk):
    kind, path = disk
    assert benchmark(read_all, path) == read_all_python(path, kind) == read_each(path)


def test_scan(benchmark, disk):
    assert benchmark(scan, disk[1]) > 0


def main() -> None:
    d = Path(os.environ.get("SPOOLKIT_BENCH_DIR", "/tmp/spoolkit-bench"))
    d.mkdir(parents=True, exist_ok=True)
    for kind in sorted(DISKS):
        t = time.perf_counter()
        path = build(d / f"cms-{kind}.img", kind)
        print(f"{kind}: build {time.perf_counter() - t:.1f} s, "
              f"{path.stat().st_size / 1e6:.0f} MB image")
        nrec = read_all(path)
        assert nrec == read_all_python(path, kind)
        t_list = best_of(list_all, path)
        t_read = best_of(read_all, path)
        t_each = best_of(read_each, path)
        t_scan = best_of(scan, path)
        t_py = best_of(read_all_python, path, kind, rounds=1)
        with open_minidisk(path) as md:
            nfiles, used = len(md.files()), md.stats()["used"]
        print(f"| {kind}: list {nfiles} files | {t_list * 1e3:.0f} ms | - | - |")
        print(f"| {kind}: read all ({nrec} records, {used} blocks) | {t_read:.2f} s | "
              f"scan {t_scan:.2f} s ({t_read / t_scan:.2f}x, target <= 2x) | "
              f"pure Python {t_py:.2f} s ({t_py / t_read:.0f}x faster, target >= 10x) |")
        print(f"| {kind}: read() file by file | {t_each:.2f} s | "
              f"scan {t_each / t_scan:.2f}x | pure Python {t_py / t_each:.0f}x faster |")


if __name__ == "__main__":
    main()
