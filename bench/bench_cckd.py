"""CCKD conversion and checking on a 3390-3-sized volume (50,085 tracks, about
70% of them holding 1..12 text-like 4 KiB records, ~0.9 GB of data), side by
side with Hercules on the same input:

* CKD -> CCKD zlib: ``spoolkit.convert`` (threads, libdeflate) vs
  ``dasdcopy -z`` (zlib level 6), plus spoolkit with one thread, with a process
  pool, at libdeflate level 4, and a pure-Python (``zlib`` module) baseline;
* CCKD -> CKD: ``spoolkit.convert`` vs ``dasdcopy -o ckd -lfs`` (input: the
  file ``dasdcopy -z`` wrote);
* CCKD -> CCKD64: stored images verified and copied (``convto64``'s job) vs
  ``dasdcopy -z`` CCKD -> CCKD (Hercules 3.13 has no 64-bit writer);
* level-3 check: ``spoolkit.check_dasd(level=3)`` vs ``cckdcdsk -3``;
* peak RSS of a spoolkit conversion (memory must stay flat).

Run:  python -m pytest bench/bench_cckd.py --benchmark-enable -s
The volume is generated once into $SPOOLKIT_BENCH_DIR (default /tmp/spoolkit-bench).
"""

from __future__ import annotations

import mmap
import os
import shutil
import struct
import subprocess
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

import spoolkit
from spoolkit.dasd.cckd import CompressedWriter, compressed_devid
from spoolkit.dasd.ckd import DevHeader
from spoolkit.dasd.convert import GROUP, _compress_group
from spoolkit.dasd.sample import fill_volume

BENCH = Path(os.environ.get("SPOOLKIT_BENCH_DIR", "/tmp/spoolkit-bench"))
ROOT = Path(__file__).resolve().parent.parent
ROWS: dict[str, tuple[float, str]] = {}
ROUNDS = int(os.environ.get("SPOOLKIT_BENCH_ROUNDS", "3"))


def tool(*argv: str) -> float:
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} not installed")
    os.sync()
    t = time.perf_counter()
    subprocess.run(list(argv), check=True, capture_output=True)
    return time.perf_counter() - t


def fresh(path: Path) -> Path:
    for p in path.parent.glob(path.stem + "*" + path.suffix):
        p.unlink()
    os.sync()
    return path


@pytest.fixture(scope="module")
def volume() -> Path:
    BENCH.mkdir(parents=True, exist_ok=True)
    path = BENCH / "cckd-src.3390"
    if not path.exists():
        tmp = BENCH / "cckd-src.tmp.3390"
        with spoolkit.create_dasd(tmp, "3390-3", "BENCH3", lfs=True) as d:
            fill_volume(d, fraction=0.7, seed=1)
        os.replace(tmp, path)
    return path


@pytest.fixture(scope="module")
def herc_cckd(volume) -> Path:
    out = BENCH / "cckd-herc.cckd"
    secs = []
    for _ in range(ROUNDS):  # this machine is shared: best of ROUNDS on both sides
        fresh(out)
        secs.append(tool("dasdcopy", "-q", "-z", str(volume), str(out)))
    ROWS["dasdcopy -z (zlib 6)"] = (min(secs), f"{out.stat().st_size / 1e6:.1f} MB out, "
                                    f"best of {ROUNDS}")
    return out


def test_spoolkit_compress(benchmark, volume, herc_cckd):
    out = BENCH / "cckd-sp.cckd"

    def run():
        fresh(out)
        return spoolkit.convert(volume, out, compress="zlib")

    r = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    size = r["bytes_out"]
    ROWS["spoolkit convert -z (libdeflate 6, 2 threads)"] = (
        benchmark.stats.stats.min, f"{size / 1e6:.1f} MB out, "
        f"{size / herc_cckd.stat().st_size * 100 - 100:+.1f}% vs dasdcopy, best of {ROUNDS}")


def test_spoolkit_compress_level4(benchmark, volume, herc_cckd):
    out = BENCH / "cckd-sp4.cckd"

    def run():
        fresh(out)
        return spoolkit.convert(volume, out, compress="zlib", level=4)

    r = benchmark.pedantic(run, rounds=1, iterations=1)
    size = r["bytes_out"]
    ROWS["spoolkit convert -z --level 4 (2 threads)"] = (
        benchmark.stats.stats.min, f"{size / 1e6:.1f} MB out, "
        f"{size / herc_cckd.stat().st_size * 100 - 100:+.1f}% vs dasdcopy")
    out.unlink()


def test_spoolkit_compress_one_thread(benchmark, volume):
    out = BENCH / "cckd-sp1.cckd"

    def run():
        fresh(out)
        return spoolkit.convert(volume, out, compress="zlib", workers=1)

    benchmark.pedantic(run, rounds=1, iterations=1)
    ROWS["spoolkit convert -z, 1 thread"] = (benchmark.stats.stats.min, "")
    out.unlink()


_SRC = None


def _proc_init(path: str) -> None:
    global _SRC
    _SRC = spoolkit.open_dasd(path)


def _proc_group(l1x: int):
    return _compress_group(_SRC, l1x, 1, -1, 1)


def process_convert(src: Path, dst: Path, workers: int = 2) -> None:
    """The same conversion with a process pool (results pickled back)."""
    with spoolkit.open_dasd(src) as img, open(dst, "w+b") as f, ProcessPoolExecutor(
            workers, initializer=_proc_init, initargs=(str(src),)) as pool:
        hdr = DevHeader(compressed_devid(False, False), img.heads, img.track_size,
                        img.device.devt & 0xFF)
        w = CompressedWriter(f, hdr, img.cylinders, img.total_tracks, False, 1, 1, -1)
        n = -(-img.total_tracks // GROUP)
        for l1x, (lens, data, _) in enumerate(pool.map(_proc_group, range(n), chunksize=2)):
            w.write_group(l1x, lens, data)
        w.finish()


def test_process_pool_compress(benchmark, volume):
    out = BENCH / "cckd-proc.cckd"

    def run():
        fresh(out)
        process_convert(volume, out)

    benchmark.pedantic(run, rounds=1, iterations=1)
    assert out.read_bytes() == (BENCH / "cckd-sp.cckd").read_bytes()
    ROWS["same, process pool of 2 (for comparison)"] = (benchmark.stats.stats.min, "")
    out.unlink()


def python_compress(src: Path, dst: Path) -> int:
    """Pure-Python baseline: struct walk for each image's length, zlib module."""
    eot = b"\xff" * 8
    total = 0
    with open(src, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m, \
            open(dst, "wb") as out:
        trksize = struct.unpack_from("<I", m, 12)[0]
        for t in range((len(m) - 512) // trksize):
            base = 512 + t * trksize
            off = base + 5
            while m[off:off + 8] != eot:
                off += 8 + m[off + 5] + struct.unpack_from(">H", m, off + 6)[0]
            image = m[base:off + 8]
            if len(image) >= 512:
                c = zlib.compress(image[5:], 6)
                image = image[:5] + c if len(c) + 5 < len(image) else image
            out.write(image)
            total += len(image)
    return total


def test_python_compress(benchmark, volume):
    out = BENCH / "cckd-py.bin"
    benchmark.pedantic(python_compress, args=(volume, out), rounds=1, iterations=1)
    ROWS["pure Python (zlib module, 1 thread)"] = (benchmark.stats.stats.min, "")
    out.unlink()


def test_spoolkit_expand(benchmark, herc_cckd):
    out = BENCH / "cckd-exp.3390"

    def run():
        fresh(out)
        return spoolkit.convert(herc_cckd, out, lfs=True)

    benchmark.pedantic(run, rounds=3, iterations=1)  # I/O-bound: best of 3 (both sides)
    ROWS["spoolkit convert CCKD -> CKD"] = (benchmark.stats.stats.min, "best of 3")
    assert (BENCH / "cckd-src.3390").read_bytes()[:1 << 20] == out.read_bytes()[:1 << 20]
    out.unlink()


def test_hercules_expand(herc_cckd):
    best = []
    for _ in range(3):
        out = fresh(BENCH / "cckd-hexp.3390")
        best.append(tool("dasdcopy", "-q", "-o", "ckd", "-lfs", str(herc_cckd), str(out)))
        out.unlink()
    ROWS["dasdcopy -o ckd -lfs"] = (min(best), "best of 3")


def test_spoolkit_to_cckd64(benchmark, herc_cckd):
    out = BENCH / "cckd-64.cckd64"

    def run():
        fresh(out)
        return spoolkit.convert(herc_cckd, out, cckd64=True)

    benchmark.pedantic(run, rounds=3, iterations=1)
    ROWS["spoolkit convert CCKD -> CCKD64 (verified copy)"] = (benchmark.stats.stats.min,
                                                               "best of 3")
    out.unlink()


def test_hercules_cckd_to_cckd(herc_cckd):
    out = fresh(BENCH / "cckd-hh.cckd")
    ROWS["dasdcopy -z CCKD -> CCKD"] = (tool("dasdcopy", "-q", "-z", str(herc_cckd), str(out)),
                                        "3.13 has no CCKD64 writer")
    out.unlink()


def test_spoolkit_check(benchmark, herc_cckd):
    r = benchmark.pedantic(spoolkit.check_dasd, args=(herc_cckd, 3), rounds=3, iterations=1)
    assert r["ok"], r
    ROWS["spoolkit check_dasd level 3"] = (benchmark.stats.stats.min, "")


def test_hercules_check(herc_cckd):
    ROWS["cckdcdsk -3"] = (min(tool("cckdcdsk", "-3", str(herc_cckd)) for _ in range(3)), "")


def test_memory_flat(volume):
    out = fresh(BENCH / "cckd-rss.cckd")
    # VmHWM of the child itself (ru_maxrss would carry the parent's mark across exec)
    code = ("import re, spoolkit, sys; spoolkit.convert(sys.argv[1], sys.argv[2], "
            "compress='zlib'); print(re.search(r'VmHWM:\\s+(\\d+)', "
            "open('/proc/self/status').read()).group(1))")
    rss = int(subprocess.run([sys.executable, "-c", code, str(volume), str(out)], check=True,
                             capture_output=True, text=True, cwd=ROOT).stdout)
    ROWS["peak RSS of spoolkit convert -z (KB)"] = (0.0, f"{rss} KB")
    out.unlink()
    assert rss < 400_000


def test_report():
    print("\n== CCKD on a 3390-3 (50,085 tracks) ==")
    for job, (secs, note) in ROWS.items():
        print(f"{job:<50} {secs:8.2f} s  {note}")

    def ratio(slow: str, fast: str) -> None:
        if slow in ROWS and fast in ROWS and ROWS[fast][0]:
            print(f"{fast} vs {slow}: {ROWS[slow][0] / ROWS[fast][0]:.2f}x")

    ratio("dasdcopy -z (zlib 6)", "spoolkit convert -z (libdeflate 6, 2 threads)")
    ratio("dasdcopy -z (zlib 6)", "spoolkit convert -z --level 4 (2 threads)")
    ratio("pure Python (zlib module, 1 thread)", "spoolkit convert -z (libdeflate 6, 2 threads)")
    ratio("spoolkit convert -z, 1 thread", "spoolkit convert -z (libdeflate 6, 2 threads)")
    ratio("same, process pool of 2 (for comparison)",
          "spoolkit convert -z (libdeflate 6, 2 threads)")
    ratio("dasdcopy -o ckd -lfs", "spoolkit convert CCKD -> CKD")
    ratio("cckdcdsk -3", "spoolkit check_dasd level 3")
    ratio("dasdcopy -z CCKD -> CCKD", "spoolkit convert CCKD -> CCKD64 (verified copy)")
