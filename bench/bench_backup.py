"""Spool backup throughput: DUMP and LOAD of 1 GiB of spool pages (4096 files
of 64 pages, valid SPLINK chains) to an AWS and a HET tape image and to a
minidisk extent, each run in a child process whose peak RSS (``wait4``) is
reported (memory must stay flat, at most 200 MiB: files are streamed, never
the archive).  LOAD reads the catalog, seeks to every file,
checks every block CRC and unpacks every page chain to records in C.

Comparison: ``cp`` of the finished AWS archive (the disk's own copy speed,
what any tape writer is bounded by).

Run:  python -m pytest bench/bench_backup.py --benchmark-enable -s
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

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
#: the most a dump or load may hold resident, whatever the archive's size
RSS_LIMIT = 200 << 20
ROOT = Path(__file__).resolve().parent.parent


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


def _child(op: str, kind: str, target: str) -> dict:
    """Run one DUMP or LOAD in a fresh Python (this file as a script): its
    peak RSS is then the operation's own (``wait4``), not the bench's."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")])}
    proc = subprocess.Popen([sys.executable, __file__, op, kind, target], env=env,
                            stdout=subprocess.PIPE)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{op} to {kind} failed")
    return {**json.loads(out.splitlines()[-1]), "rss": usage.ru_maxrss * 1024}


def _run_child(op: str, kind: str, target: str) -> dict:
    if op == "dump":
        log = backup.dump(BenchSource(), target, append=False,
                          compress="zlib" if kind == "het" else None, level=1)
        return {"seconds": log.elapsed, "files": log.files, "pages": log.pages}
    t = time.perf_counter()
    tgt = UnpackTarget()
    lg = backup.load(target, tgt, state="all")
    return {"seconds": time.perf_counter() - t, "files": tgt.files, "errors": len(lg.errors)}


def _tape_available() -> bool:
    try:
        import spoolkit.tape  # noqa: F401
    except ImportError:
        return False
    return True


TARGETS = ["aws", "het", "minidisk"]


@pytest.mark.parametrize("kind", TARGETS)
def test_dump_load(benchmark, bench_dir, kind):
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
        return _child("dump", kind, target)

    d = benchmark.pedantic(dump, rounds=1, iterations=1)
    assert d["files"] == FILES and d["pages"] == FILES * PAGES
    RESULTS.add(f"dump 1 GiB of spool pages to {kind}", d["seconds"], TOTAL / 1e6, "MB")
    ld = _child("load", kind, target)
    assert ld["files"] == FILES and not ld["errors"]
    RESULTS.add(f"load 1 GiB of spool pages from {kind} (records unpacked)", ld["seconds"],
                TOTAL / 1e6, "MB")
    for op, r in (("dump", d), ("load", ld)):
        RESULTS.add(f"  peak RSS of the {kind} {op}: {r['rss'] / 2**20:.0f} MiB", 0.0)
    for op, r in (("dump", d), ("load", ld)):
        assert r["rss"] <= RSS_LIMIT, f"{op} held {r['rss'] / 2**20:.0f} MiB"
    # the disk's own copy speed for the same bytes: what any writer is bounded by
    image = target if kind != "minidisk" else str(vol)
    copy = bench_dir / "backup-copy.bin"
    secs = run_tool("sh", "-c", f"cp {image} {copy} && sync {copy}")
    copy.unlink()
    RESULTS.add(f"cp + sync of the {kind} archive image", secs,
                os.path.getsize(image) / 1e6, "MB")


def teardown_module(module):
    print("\n" + RESULTS.table())


if __name__ == "__main__":   # one operation, for _child
    print(json.dumps(_run_child(*sys.argv[1:4])))
