"""Benchmark helpers: a cache directory for big generated images and a table
of results that each bench file prints at the end (ratios side by side)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

BENCH_DIR = Path(os.environ.get("SPOOLKIT_BENCH_DIR", "/tmp/spoolkit-bench"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # pyproject's addopts disable benchmarks for the test suite; asking for
    # --benchmark-only here means running them (pytest-benchmark refuses both)
    if config.getoption("benchmark_only", False):
        config.option.benchmark_disable = False


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    return BENCH_DIR


def run_tool(*argv: str, cwd=None) -> float:
    """Run a command and return its wall time in seconds (skip if missing)."""
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} not installed")
    t = time.perf_counter()
    subprocess.run(list(argv), check=True, capture_output=True, cwd=cwd)
    return time.perf_counter() - t


class Results:
    """Collects (job, seconds, amount, unit) rows; prints rates and ratios."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[float, float, str]] = {}

    def add(self, job: str, seconds: float, amount: float = 0.0, unit: str = "") -> None:
        self.rows[job] = (seconds, amount, unit)

    def rate(self, job: str) -> float:
        s, a, _ = self.rows[job]
        return a / s if s else 0.0

    def ratio(self, fast: str, slow: str) -> float:
        return self.rows[slow][0] / self.rows[fast][0]

    def table(self) -> str:
        lines = []
        for job, (s, a, unit) in self.rows.items():
            r = a / s if s else 0.0
            rate = (f"{r:,.0f} {unit}/s" if r >= 100 else f"{r:.3g} {unit}/s") if a and unit else ""
            lines.append(f"{job:<52} {s:8.3f} s  {rate}")
        return "\n".join(lines)
