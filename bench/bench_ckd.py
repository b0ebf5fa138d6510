"""Full-volume scan of a 3390-3-sized plain CKD image (50,085 tracks), every
record parsed, for 4 KiB-block tracks (12 per track) and card tracks (78 x 80):
spoolkit's C scan vs a pure-Python mmap + struct parser of the same work, and
Hercules' dasdcopy (which reads every track too, and writes a copy) as the
nearest Hercules tool.

Run:  python -m pytest bench/bench_ckd.py --benchmark-enable -s
Images are generated once into $SPOOLKIT_BENCH_DIR (default /tmp/spoolkit-bench).
"""

from __future__ import annotations

import mmap
import os
import struct
import time

import pytest
from conftest import Results, run_tool

import spoolkit
from spoolkit import Track

TRACKS = 3339 * 15
KINDS = {
    "4k": [(r, b"", bytes([r]) * 4096) for r in range(1, 13)],
    "card": [(r, b"", (b"CARD %05d " % r).ljust(80, b"\x40")) for r in range(1, 79)],
}
RESULTS = {k: Results() for k in KINDS}


@pytest.fixture(scope="module", params=sorted(KINDS))
def volume(request, bench_dir):
    kind = request.param
    path = bench_dir / f"scan-{kind}.3390"
    if not path.exists():
        tmp = bench_dir / f"scan-{kind}.tmp.3390"
        dev = spoolkit.create_dasd(tmp, "3390-3", volser="BENCH1", lfs=True)
        recs = KINDS[kind]
        for cyl in range(dev.cylinders):
            for head in range(dev.heads):
                dev._write_image(cyl * 15 + head,
                                 Track.from_records(cyl, head, recs).image)
        dev.close()
        os.replace(tmp, path)
    return kind, path


def python_scan(path: str) -> tuple[int, int, int]:
    """Pure-Python baseline: mmap + struct, the same walk as spk_ckd_scan."""
    unpack = struct.Struct(">HHBBH").unpack_from
    eot = b"\xff" * 8
    tracks = records = nbytes = 0
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
        heads = struct.unpack_from("<I", m, 8)[0]
        trksize = struct.unpack_from("<I", m, 12)[0]
        ntrk = (len(m) - 512) // trksize
        for t in range(ntrk):
            base = 512 + t * trksize
            _, cc, hh = struct.unpack_from(">BHH", m, base)
            if (cc, hh) != divmod(t, heads):
                raise ValueError(f"bad HA on track {t}")
            off = base + 5
            n = -1
            while m[off:off + 8] != eot:
                _, _, _, kl, dl = unpack(m, off)
                off += 8 + kl + dl
                n += 1
            tracks += 1
            records += n
            nbytes += off + 8 - base
    return tracks, records, nbytes


def test_spoolkit_scan(benchmark, volume):
    kind, path = volume
    with spoolkit.open_dasd(path) as dev:
        dev.scan()  # warm the page cache
        stats = benchmark.pedantic(dev.scan, rounds=3, iterations=1)
    assert stats.tracks == TRACKS and stats.records == TRACKS * len(KINDS[kind])
    secs = benchmark.stats.stats.min
    r = RESULTS[kind]
    r.add("spoolkit scan (MB)", secs, stats.image_bytes / 1e6, "MB")
    r.add("spoolkit scan (records)", secs, stats.records, "rec")
    benchmark.extra_info.update(mb_per_s=stats.image_bytes / 1e6 / secs,
                                records_per_s=stats.records / secs)


def test_python_scan(benchmark, volume):
    kind, path = volume
    tracks, records, nbytes = benchmark.pedantic(python_scan, args=(str(path),), rounds=1,
                                                 iterations=1)
    assert tracks == TRACKS and records == TRACKS * len(KINDS[kind])
    secs = benchmark.stats.stats.min
    RESULTS[kind].add("pure-Python mmap+struct scan (records)", secs, records, "rec")
    RESULTS[kind].add("pure-Python mmap+struct scan (MB)", secs, nbytes / 1e6, "MB")


def test_hercules_dasdcopy(volume, bench_dir):
    kind, path = volume
    out = bench_dir / f"copy-{kind}.3390"
    if out.exists():
        out.unlink()
    secs = run_tool("dasdcopy", "-q", "-lfs", str(path), str(out))
    out.unlink()
    RESULTS[kind].add("Hercules dasdcopy (reads + writes every track)", secs, TRACKS, "trk")


def test_report(volume):
    kind, _ = volume
    r = RESULTS[kind]
    print(f"\n== full-volume scan, {kind} tracks ==\n" + r.table())
    if "pure-Python mmap+struct scan (records)" in r.rows:
        print("spoolkit vs pure Python: %.1fx" % r.ratio("spoolkit scan (records)",
                                                          "pure-Python mmap+struct scan (records)"))
    if "Hercules dasdcopy (reads + writes every track)" in r.rows:
        print("spoolkit vs dasdcopy: %.1fx" % r.ratio(
            "spoolkit scan (records)", "Hercules dasdcopy (reads + writes every track)"))
    _ = time
