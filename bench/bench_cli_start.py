"""How long the ``spoolkit`` command takes to start: median of 10 runs of
``spoolkit --help`` and ``spoolkit dasd info IMG`` (a 10-cylinder 3390), as
``python -m spoolkit`` and as the installed entry point does it (``from
spoolkit.cli import main``), next to the interpreter starting with nothing
to do — the part of the time that is spoolkit's own is the difference.
Byte-code caching is on (as in an installed package; the test environment
turns it off) with the cache under the bench directory.

Run:  python -m pytest bench/bench_cli_start.py --benchmark-enable -s
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNS = 10
ENTRY = "import sys; from spoolkit.cli import main; sys.exit(main())"


def _env(bench_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    env["PYTHONPYCACHEPREFIX"] = str(bench_dir / "pycache")
    return env


def _times(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Median wall and CPU seconds (user + sys) of RUNS runs, after one run
    that fills the byte-code cache."""
    subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True)
    walls, cpus = [], []
    for _ in range(RUNS):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(walls), statistics.median(cpus)


@pytest.fixture(scope="module")
def image(bench_dir: Path) -> Path:
    from spoolkit import create_dasd

    path = bench_dir / "start-3390.3390"
    if not path.exists():
        create_dasd(path, "3390-1", "START1", cylinders=10, overwrite=True).close()
    return path


def test_cli_start(bench_dir: Path, image: Path, benchmark) -> None:
    env = _env(bench_dir)
    py = sys.executable
    rows = {
        "python -c pass": [py, "-c", "pass"],
        "python -m spoolkit --help": [py, "-m", "spoolkit", "--help"],
        "python -m spoolkit dasd info IMG": [py, "-m", "spoolkit", "dasd", "info", str(image)],
        "entry point: spoolkit --help": [py, "-c", ENTRY, "--help"],
        "entry point: spoolkit dasd info IMG": [py, "-c", ENTRY, "dasd", "info", str(image)],
    }
    results = {name: _times(argv, env, ROOT) for name, argv in rows.items()}
    base = results["python -c pass"]
    print(f"\nmedian of {RUNS} runs, byte-code cached     wall ms  cpu ms  over python: wall cpu")
    for name, (wall, cpu) in results.items():
        print(f"{name:<40} {wall * 1000:7.1f} {cpu * 1000:7.1f} "
              f"{(wall - base[0]) * 1000:17.1f} {(cpu - base[1]) * 1000:5.1f}")
    benchmark.pedantic(subprocess.run, args=(rows["python -m spoolkit --help"],),
                       kwargs={"env": env, "stdout": subprocess.DEVNULL, "check": True},
                       rounds=3, iterations=1)
