"""DIRMAP-style map of 100,000 minidisks over 2,000 volumes: parse the
USER DIRECT text and build the classified map (sweep over sorted extents),
against a pure-Python pairwise baseline that compares every two extents of a
volume (what a naive DIRMAP clone does).

Run:  python -m pytest bench/bench_overlay.py --benchmark-enable -s
"""

from __future__ import annotations

import time

import pytest
from conftest import Results

from spoolkit.overlay import build_map, parse_directory, parse_system_config
from spoolkit.overlay.extents import classify

VOLUMES = 2000
PER_VOLUME = 50          # 1 $ALLOC$ lock + 1 full-pack + 48 user minidisks
RESULTS = Results()


def make_directory() -> tuple[str, str]:
    lines = ["USER $ALLOC$ NOLOG"]
    lines += [f" MDISK A{v:03X} 3390 0 1 VOL{v:03X} R" for v in range(VOLUMES)]
    lines.append("USER MAINT XXXXXXXX 256M 1G ABCDEFG")
    lines += [f" MDISK {v:04X} 3390 0 3339 VOL{v:03X} MR" for v in range(VOLUMES)]
    for v in range(VOLUMES):
        for i in range(PER_VOLUME - 2):
            start = 1 + i * 60 - (1 if v % 100 == 0 and i == 7 else 0)  # 20 overlaps
            lines.append(f"USER U{v:03X}{i:02d} PW 1G 2G G")
            lines.append(f" MDISK 0191 3390 {start} 60 VOL{v:03X} MR")
    cfg = "User_Volume_Include VOL*\n"
    return "\n".join(lines) + "\n", cfg


@pytest.fixture(scope="module")
def inputs():
    text, cfg = make_directory()
    return text, parse_system_config(cfg)


def test_spoolkit_map(benchmark, inputs):
    text, cfg = inputs

    def run():
        return build_map(parse_directory(text), cfg)

    m = benchmark.pedantic(run, rounds=3, iterations=1)
    secs = benchmark.stats.stats.min
    assert sum(len(v.extents) for v in m.volumes.values()) == VOLUMES * PER_VOLUME
    assert len(m.unintended) == VOLUMES // 100
    assert secs < 2.0
    RESULTS.add("spoolkit parse + map (minidisks)", secs, VOLUMES * PER_VOLUME, "mdisk")
    d = parse_directory(text)
    t = time.perf_counter()
    build_map(d, cfg)
    RESULTS.add("spoolkit map only (minidisks)", time.perf_counter() - t,
                VOLUMES * PER_VOLUME, "mdisk")


def pairwise(m) -> int:
    """Every pair of extents of each volume compared: O(n^2) per volume."""
    bad = 0
    for v in m.volumes.values():
        ex = v.extents
        for i, a in enumerate(ex):
            for b in ex[i + 1:]:
                if a.start <= b.end and b.start <= a.end and not classify(a, b)[1]:
                    bad += 1
    return bad


def test_pairwise_baseline(benchmark, inputs):
    text, cfg = inputs
    m = build_map(parse_directory(text), cfg)
    bad = benchmark.pedantic(pairwise, args=(m,), rounds=1, iterations=1)
    assert bad == len(m.unintended)
    secs = benchmark.stats.stats.min
    RESULTS.add("pure-Python pairwise overlap check only", secs, VOLUMES * PER_VOLUME, "mdisk")


def test_dense_volumes_sweep_vs_pairwise(benchmark):
    """20,000 minidisks on 10 EAV volumes (2,000 each): where pairwise hurts."""
    lines = []
    for v in range(10):
        for i in range(2000):
            lines.append(f"USER D{v}{i:04d} PW 1G 2G G")
            lines.append(f" MDISK 0191 3390 {1 + i * 15} 15 EAV{v:03d} MR")
    text = "\n".join(lines)
    m = benchmark.pedantic(lambda: build_map(parse_directory(text)), rounds=3, iterations=1)
    secs = benchmark.stats.stats.min
    RESULTS.add("dense: spoolkit parse+map, 10 x 2,000 minidisks", secs, 20000, "mdisk")
    t = time.perf_counter()
    assert pairwise(m) == 0 == len(m.unintended)
    RESULTS.add("dense: pure-Python pairwise overlap check only", time.perf_counter() - t,
                20000, "mdisk")


def test_zz_report():
    print("\n" + RESULTS.table())
