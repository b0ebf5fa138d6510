"""DDR dump and restore of a 3390 volume (70 % of the tracks hold 4 KiB
records) side by side with spoolkit's own SPKD dump of the same volume and
with ``cp`` of the image file; DDR costs at most 1.2x SPKD.

The default case is a 3390 of 500 cylinders (7500 tracks, ~430 MB);
SPOOLKIT_BENCH_DDR_CYL sets another size (a few cylinders for a quick check
that the bench runs).  The 3390-3-sized case (3339 cylinders, ~2.8 GB) is
marked slow:

    python -m pytest bench/bench_ddr.py --benchmark-only -s               # 500 cylinders
    python -m pytest bench/bench_ddr.py --benchmark-only -s -m slow       # 3390-3 size
    SPOOLKIT_BENCH_DDR_CYL=20 python -m pytest bench/bench_ddr.py --benchmark-only

Before every timed round the previous round's output is removed and the
page cache's dirty pages are written back (``os.sync``), so a round does not
pay for the write-back of the one before.  SPOOLKIT_BENCH_DIR picks where
the images go (a tmpfs keeps a shared disk out of the figures).
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Callable

import pytest
from conftest import Results

from spoolkit import create_dasd, ddr
from spoolkit.dasd import ddr as spkd
from spoolkit.dasd.sample import fill_volume

ROUNDS = int(os.environ.get("SPOOLKIT_BENCH_ROUNDS", "3"))
CYLINDERS = int(os.environ.get("SPOOLKIT_BENCH_DDR_CYL", "500"))
LIMIT = 1.2
R = Results()


def volume(bench_dir: Path, cylinders: int) -> Path:
    path = bench_dir / f"ddr-3390-{cylinders}.ckd"
    if not path.exists():
        tmp = bench_dir / f"ddr-3390-{cylinders}.tmp.ckd"
        with create_dasd(tmp, "3390", volser="BENCH1", cylinders=cylinders, lfs=True,
                         overwrite=True) as dev:
            fill_volume(dev, 0.7)
        os.replace(tmp, path)
    return path


def rm(*paths: Path) -> None:
    for p in paths:
        if os.path.exists(p):
            os.unlink(p)


def timed(benchmark, fn: Callable[[], object], *outputs: Path) -> float:
    """Run ``fn`` ROUNDS times under pytest-benchmark; before each round its
    outputs are removed and dirty pages written back (not timed).  Returns
    the best wall time, measured here too so that it is there also when
    pytest-benchmark is disabled."""
    secs: list[float] = []

    def setup() -> None:
        rm(*outputs)
        os.sync()

    def run() -> None:
        t0 = time.perf_counter()
        fn()
        secs.append(time.perf_counter() - t0)

    if benchmark.disabled:       # pytest-benchmark runs the target once, without setup
        for _ in range(ROUNDS):
            setup()
            run()
    else:
        benchmark.pedantic(run, setup=setup, rounds=ROUNDS, iterations=1)
    return min(secs)


class Case:
    """One volume size: the image, its tapes and restored volumes, results."""

    def __init__(self, bench_dir: Path, cylinders: int) -> None:
        self.vol = volume(bench_dir, cylinders)
        self.mb = self.vol.stat().st_size / 1e6
        self.tag = f"3390 {cylinders} cyl"
        d = bench_dir
        self.tape = {"ddr": d / "bench.ddr.aws", "spkd": d / "bench.spkd.aws"}
        self.out = {"ddr": d / "bench.ddr.ckd", "spkd": d / "bench.spkd.ckd"}
        self.copy = d / "bench.cp.ckd"
        self.times: dict[str, float] = {}

    def add(self, job: str, secs: float) -> None:
        self.times[job] = secs
        R.add(f"{self.tag}: {job}", secs, self.mb, "MB")

    def dump(self, fmt: str) -> Callable[[], object]:
        mod = ddr if fmt == "ddr" else spkd
        return lambda: mod.dump(self.vol, self.tape[fmt])

    def restore(self, fmt: str) -> Callable[[], object]:
        mod = ddr if fmt == "ddr" else spkd
        return lambda: mod.restore(self.tape[fmt], self.out[fmt])

    def cleanup(self) -> None:
        rm(self.copy, *self.tape.values(), *self.out.values())


@pytest.fixture(scope="module")
def case(bench_dir):
    c = Case(bench_dir, CYLINDERS)
    c.cleanup()
    yield c
    c.cleanup()
    print(f"\n== DDR vs SPKD, {c.tag} ({c.mb:.0f} MB image) ==\n" + R.table())


def test_cp_image(benchmark, case):
    case.add("cp image", timed(benchmark, lambda: shutil.copyfile(case.vol, case.copy),
                               case.copy))
    rm(case.copy)


@pytest.mark.parametrize("fmt", ["ddr", "spkd"])
def test_dump(benchmark, case, fmt):
    case.add(f"{fmt.upper()} dump to AWS", timed(benchmark, case.dump(fmt), case.tape[fmt]))


@pytest.mark.parametrize("fmt", ["ddr", "spkd"])
def test_restore(benchmark, case, fmt):
    if not case.tape[fmt].exists():
        case.dump(fmt)()
    case.add(f"{fmt.upper()} restore from AWS",
             timed(benchmark, case.restore(fmt), case.out[fmt]))
    rm(case.tape[fmt])


def test_ddr_costs_at_most_limit_of_spkd(benchmark, case):
    t = case.times
    needed = [f"{f} {w}" for f in ("DDR", "SPKD") for w in ("dump to AWS", "restore from AWS")]
    if not set(needed) <= t.keys():
        pytest.skip("run with the dump and restore cases")
    with open(case.out["ddr"], "rb") as a, open(case.out["spkd"], "rb") as b:
        assert a.read(1 << 20) == b.read(1 << 20)   # both restored the same volume
    d = t["DDR dump to AWS"] / t["SPKD dump to AWS"]
    r = t["DDR restore from AWS"] / t["SPKD restore from AWS"]
    benchmark.extra_info.update({"dump_ratio": d, "restore_ratio": r})
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)   # keeps it in --benchmark-only
    print(f"\n{case.tag}: dump DDR / SPKD = {d:.2f}x; restore DDR / SPKD = {r:.2f}x")
    assert d <= LIMIT and r <= LIMIT, (d, r)


@pytest.mark.slow
def test_ddr_vs_spkd_3390_3(benchmark, bench_dir, request):
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the 3390-3 size (2.8 GB, minutes): select it with -m slow")
    c = Case(bench_dir, 3339)
    try:
        # a restore writes 2.8 GB: the disk's write-back speed drifts over minutes,
        # so the two formats alternate and the medians of the pairs are compared
        times: dict[str, list[float]] = {}
        for rnd in range(ROUNDS):
            order = ("ddr", "spkd") if rnd % 2 == 0 else ("spkd", "ddr")
            for what, job, output in (("dump", c.dump, c.tape), ("restore", c.restore, c.out)):
                for fmt in order:
                    times.setdefault(f"{fmt} {what}", []).append(_once(job(fmt), output[fmt]))
        benchmark.pedantic(lambda: None, rounds=1, iterations=1)
        med = {k: statistics.median(v) for k, v in times.items()}
        d, r = (med[f"ddr {w}"] / med[f"spkd {w}"] for w in ("dump", "restore"))
        print(f"\n{c.tag}, medians of {ROUNDS} alternating rounds: "
              + ", ".join(f"{k} {v:.2f} s" for k, v in med.items())
              + f"\ndump DDR / SPKD = {d:.2f}x; restore DDR / SPKD = {r:.2f}x")
        assert d <= LIMIT and r <= LIMIT, (d, r)
    finally:
        c.cleanup()


def _once(fn: Callable[[], object], output: Path) -> float:
    rm(output)
    os.sync()
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0
