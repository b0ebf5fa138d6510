"""Spool backup throughput: DUMP and LOAD of 1 GiB of spool pages (4096 files
of 64 pages, valid SPLINK chains) to an AWS and a HET tape image and to a
minidisk extent, with the peak RSS growth (memory must stay flat: files are
streamed, never the archive).  LOAD reads the catalog, seeks to every file,
checks every block CRC and unpacks every page chain to records in C.

Comparison: ``cp`` of the finished AWS archive (the disk's own copy speed,
what any tape writer is bounded by).

Run:  python -m pytest bench/bench_backup.py --benchmark-enable -s
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import pytest
from conftest import Results, run_tool

from spoolkit import backup, create_dasd
from spoolkit.backup.source import catalog_entry
from spoolkit.backup.target import spoolfile_from_archive
from spoolkit.backup.writer import ArchiveFile
from spoolkit.spool import SpoolFile, pages

FILES = 4096
PAGES = 64
TOTAL = FILES * PAGES * 4096
RESULTS = Results()


def _template() -> tuple[SpoolFile, bytes, int]:
    line = (b"\xc8\xc5\xd3\xd3\xd6" * 27)[:132]
    sf = SpoolFile(type="PRT", owner="BENCH", spoolid=1, records=[(0x09, line)], lrecl=132,
                   created=dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.timezone.utc))
    # the most 132-byte print lines that fill exactly PAGES pages
    n = PAGES * 27
    while pages.count_pages(sf.with_attrs(records=[(0x09, line)] * n)) > PAGES:
        n -= 1
    while pages.count_pages(sf.with_attrs(records=[(0x09, line)] * (n + 1))) <= PAGES:
        n += 1
    sf = sf.with_attrs(records=[(0x09, line)] * n)
    assert pages.count_pages(sf) == PAGES
    addrs = [pages.page_address(0, i) for i in range(1, PAGES + 1)]
    data, crc = pages.pack_chain(sf, addrs)
    return sf, data, crc


class BenchSource:
    """4096 spool files streamed from one packed chain (distinct identities)."""

    name = "BENCH"

    def __init__(self) -> None:
        self.sf, self.data, self.crc = _template()

    def archive_files(self, select=None):
        for i in range(FILES):
            sf = self.sf.with_attrs(created=self.sf.created + dt.timedelta(microseconds=i))
            header = pages.build_header_page(sf, 1, PAGES, PAGES, self.crc)
            entry = catalog_entry(sf, PAGES, self.crc)
            yield ArchiveFile(entry, header, lambda: (self.data,))

    def identities(self, select=None):
        return set()


class UnpackTarget:
    """LOAD target that rebuilds each SpoolFile (records unpacked in C) and
    drops it: the archive side of a load."""

    name = "unpack"

    def __init__(self) -> None:
        self.files = self.records = 0

    def restore(self, fh, blocks, spoolid="keep"):
        sf = spoolfile_from_archive(fh, blocks)
        self.files += 1
        self.records += sf.record_count
        return sf.spoolid


class AnonPeak:
    """Peak anonymous (heap) memory while running, sampled every 20 ms from
    /proc/self/status RssAnon: file pages of mmapped images do not count."""

    def __init__(self) -> None:
        self.base = self.peak = self._now()
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _now() -> float:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._now())

    def __enter__(self) -> AnonPeak:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, self._now())

    @property
    def growth(self) -> float:
        return self.peak - self.base


def _tape_available() -> bool:
    try:
        import spoolkit.tape  # noqa: F401
    except ImportError:
        return False
    return True


TARGETS = ["aws", "het", "minidisk"]


@pytest.fixture(scope="module")
def source():
    return BenchSource()


@pytest.mark.parametrize("kind", TARGETS)
def test_dump_load(benchmark, bench_dir, source, kind):
    if kind in ("aws", "het") and not _tape_available():
        pytest.skip("the tape module (spoolkit.tape) is not in this build")
    if kind == "minidisk":
        vol = bench_dir / "backup-md.3390"
        if vol.exists():
            vol.unlink()
        cyls = TOTAL // (15 * 12 * 4096) + 40
        create_dasd(vol, "3390", volser="BKUP01", cylinders=cyls + 1, lfs=True).close()
        target = f"{vol}@1-{cyls}"
    else:
        target = str(bench_dir / f"backup.{kind}")
        if os.path.exists(target):
            os.unlink(target)
    def dump():
        if kind != "minidisk" and os.path.exists(target):
            os.unlink(target)
        return backup.dump(source, target, append=False,
                           compress="zlib" if kind == "het" else None, level=1)

    with AnonPeak() as mem:
        log = benchmark.pedantic(dump, rounds=1, iterations=1)
        assert log.files == FILES and log.pages == FILES * PAGES
        RESULTS.add(f"dump 1 GiB of spool pages to {kind}", log.elapsed, TOTAL / 1e6, "MB")
        t = time.perf_counter()
        tgt = UnpackTarget()
        lg = backup.load(target, tgt, state="all")
        took = time.perf_counter() - t
    assert tgt.files == FILES and not lg.errors
    RESULTS.add(f"load 1 GiB of spool pages from {kind} (records unpacked)", took,
                TOTAL / 1e6, "MB")
    RESULTS.add(f"  peak heap growth during {kind} dump+load: {mem.growth:.0f} MB", 0.0)
    assert mem.growth < 200, f"memory grew by {mem.growth:.0f} MB"
    # the disk's own copy speed for the same bytes: what any writer is bounded by
    image = target if kind != "minidisk" else str(vol)
    copy = bench_dir / "backup-copy.bin"
    secs = run_tool("sh", "-c", f"cp {image} {copy} && sync {copy}")
    copy.unlink()
    RESULTS.add(f"cp + sync of the {kind} archive image", secs,
                os.path.getsize(image) / 1e6, "MB")


def teardown_module(module):
    print("\n" + RESULTS.table())
