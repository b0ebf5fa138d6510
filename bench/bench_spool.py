"""Spool page chains: pages packed / unpacked per second, C core vs a pure-Python
packer of the same layout (bench/pyspool.py).

Run:  python bench/bench_spool.py            (prints the README table rows: rates)
 or:  python -m pytest bench/bench_spool.py --benchmark-enable
      (times; the C runs pack ~15,000 pages, the Python runs ~300: see extra_info)

The pure-Python baseline computes its CRC-32C in Python too (a table loop); a
second baseline is handed spoolkit's hardware CRC-32C, so that ratio measures
the page building alone and errs in Python's favour.  Both are printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pyspool  # noqa: E402
from timing import best_of  # noqa: E402

from spoolkit.spool import SpoolFile, pages  # noqa: E402

PAGE = 4096


def print_file(nlines: int) -> SpoolFile:
    """A listing: 121-byte lines of varying fill, a page eject every 60 lines."""
    recs = []
    for i in range(nlines):
        if i % 60 == 0:
            recs.append((0x8B, b""))
        fill = 40 + (i * 37) % 81
        recs.append((0x09, bytes([0xC1 + i % 9]) * fill + b"\x40" * (121 - fill)))
    return SpoolFile(type="PRT", owner="BENCH", spoolid=1, records=recs, lrecl=121)


BIG = print_file(400_000)          # 9,617 pages, 39 MB
SMALL = print_file(8_000)          # for the pure-Python baseline


def addresses(sf: SpoolFile) -> list[int]:
    return [pages.page_address(0, i + 1) for i in range(pages.count_pages(sf))]


BIG_ADDRS = addresses(BIG)
SMALL_ADDRS = addresses(SMALL)
BIG_PAGES = pages.pack(BIG, BIG_ADDRS)
SMALL_PAGES = pages.pack(SMALL, SMALL_ADDRS)
SMALL_RECS = list(SMALL.records())


OUT = bytearray(len(BIG_PAGES))
BIG_VIEW = memoryview(BIG_PAGES)
SLOT = {a: i * PAGE for i, a in enumerate(BIG_ADDRS)}


def c_pack_into():
    """Pack into a reused buffer, as a volume does (one C call per chain)."""
    return pages.pack_into(BIG, BIG_ADDRS, OUT)


def c_pack():
    """pack() returning fresh bytes (includes allocating 39 MB)."""
    return pages.pack(BIG, BIG_ADDRS)


def c_walk():
    """Walk the chain by its links, 64 pages per C call, as a volume reads it."""
    def read(address):
        off = SLOT[address]
        return BIG_VIEW[off:off + PAGE]
    n = 0
    for block in pages.iter_blocks(read, BIG_ADDRS[0], len(BIG_ADDRS), 1):
        n += len(block)
    return n


def c_unpack():
    return pages.unpack(BIG_PAGES, spoolid=1, addresses=BIG_ADDRS)


def _hwcrc(page):
    return pages.page_crc(bytes(page))


def py_pack(crc=pyspool.page_crc):
    return pyspool.py_pack(SMALL_RECS, SMALL_ADDRS, spoolid=1,
                           time6=SMALL_PAGES[0xFFA:0x1000], tag136=b"\x40" * 136,
                           node8=SMALL_PAGES[0xFC0:0xFC8], user8=SMALL_PAGES[0xFC8:0xFD0],
                           trailer40=SMALL_PAGES[0xFD0:0xFF8], crc=crc)


def py_unpack(crc=pyspool.page_crc):
    return pyspool.py_unpack(SMALL_PAGES, crc=crc)


def test_same_bytes():
    assert py_pack() == SMALL_PAGES == py_pack(_hwcrc)
    assert py_unpack()[1] == SMALL_RECS
    c_pack_into()
    assert OUT == BIG_PAGES
    assert c_walk() == len(c_unpack())


@pytest.mark.benchmark(group="spool-pack")
def test_pack_into_c(benchmark):
    benchmark.extra_info["page_bytes"] = len(BIG_PAGES)
    benchmark(c_pack_into)


@pytest.mark.benchmark(group="spool-pack")
def test_pack_c(benchmark):
    benchmark.extra_info["page_bytes"] = len(BIG_PAGES)
    assert len(benchmark(c_pack)) == len(BIG_PAGES)


@pytest.mark.benchmark(group="spool-pack")
def test_pack_python(benchmark):
    benchmark.extra_info["page_bytes"] = len(SMALL_PAGES)   # 1/50 of the C runs' pages
    assert len(benchmark(py_pack)) == len(SMALL_PAGES)


@pytest.mark.benchmark(group="spool-unpack")
def test_walk_c(benchmark):
    benchmark.extra_info["page_bytes"] = len(BIG_PAGES)
    assert benchmark(c_walk) == len(BIG.packed_records())


@pytest.mark.benchmark(group="spool-unpack")
def test_unpack_c(benchmark):
    benchmark.extra_info["page_bytes"] = len(BIG_PAGES)
    assert len(benchmark(c_unpack)) == len(BIG.packed_records())


@pytest.mark.benchmark(group="spool-unpack")
def test_unpack_python(benchmark):
    benchmark.extra_info["page_bytes"] = len(SMALL_PAGES)
    assert len(benchmark(py_unpack)[1]) == len(SMALL_RECS)


def _rate(fn, nbytes, repeat=5):
    return nbytes / best_of(fn, rounds=repeat)


def main() -> None:
    test_same_bytes()
    rows = [("pack into a reused buffer", c_pack_into, py_pack),
            ("pack to new bytes", c_pack, py_pack),
            ("walk chain by links, 64-page batches", c_walk, py_unpack),
            ("unpack whole chain, one call", c_unpack, py_unpack)]
    for name, cfn, pyfn in rows:
        c = _rate(cfn, len(BIG_PAGES))
        py = _rate(pyfn, len(SMALL_PAGES), repeat=2)
        hw = _rate(lambda: pyfn(_hwcrc), len(SMALL_PAGES), repeat=3)  # noqa: B023
        print(f"| spool pages: {name} | {c / 1e9:.2f} GB/s ({c / PAGE:,.0f} pages/s) | "
              f"pure Python {py / 1e6:.1f} MB/s; with C CRC {hw / 1e6:.0f} MB/s | "
              f"{c / py:.0f}x; {c / hw:.0f}x |")


if __name__ == "__main__":
    main()
