"""How long the ``spoolkit`` command takes to start, as a user's install runs
it: median of 10 runs of ``spoolkit --help`` and ``spoolkit dasd info IMG``
(a 10-cylinder 3390; text and ``--json``), each run alternating with the
interpreter starting with nothing to do (``python -c pass``, the floor);
the spread (fastest to slowest run) next to each median.

The commands are those of a fresh virtual environment with a regular
(non-editable) install of this checkout: an editable install puts a finder
into every interpreter's start (site imports it, with pathlib, re, enum...),
which a user's wheel install has not.  The environment is built once per
content of the sources (a hash of them names it) under the bench directory,
from a wheel the current interpreter builds (it needs setuptools and cffi:
the test environment has them); cffi comes from the package index or pip's
cache.  Byte code is compiled at install time, as pip does for users.

Run:  python -m pytest bench/bench_cli_start.py --benchmark-enable -s
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNS = 10
#: what a wheel is built from (the rest of the checkout is not in it)
SOURCES = ("setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in",
           "spoolkit", "csrc")
SKIP = {"__pycache__", "build"}
SKIP_SUFFIXES = (".so", ".o", ".pyc")


def _source_files() -> list[Path]:
    files = []
    for name in SOURCES:
        top = ROOT / name
        if top.is_file():
            files.append(top)
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIP)
            for f in sorted(filenames):
                if not f.endswith(SKIP_SUFFIXES) and f != "_spoolkit.c":
                    files.append(Path(dirpath) / f)
    return files


def _source_hash() -> str:
    h = hashlib.sha256(sys.version.encode())
    for path in _source_files():
        h.update(str(path.relative_to(ROOT)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _env() -> dict[str, str]:
    # nothing of the test environment's: no PYTHONPATH, byte code as installed
    drop = {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONHOME",
            "PYTHONSTARTUP", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def installed_venv(bench_dir: Path) -> Path:
    """A virtual environment with a regular install of this checkout, built
    once per content of its sources; returns its directory."""
    venv = bench_dir / f"cli-venv-{_source_hash()}"
    if (venv / "ready").exists():
        return venv
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler to build the wheel")
    with tempfile.TemporaryDirectory(dir=bench_dir, prefix="cli-build-") as tmp:
        src = Path(tmp) / "src"
        for path in _source_files():
            dest = src / path.relative_to(ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, dest)
        wheels = Path(tmp) / "wheels"
        pip = [sys.executable, "-m", "pip"]
        subprocess.run([*pip, "wheel", "-q", "--no-deps", "--no-build-isolation",
                        "-w", str(wheels), str(src)], check=True, capture_output=True)
        wheel = next(wheels.glob("spoolkit-*.whl"))
        if venv.exists():  # a build that stopped half-way
            shutil.rmtree(venv)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "-q",
                        "--no-deps", str(wheel), "cffi", "pycparser"],
                       check=True, capture_output=True)
    (venv / "ready").write_text(f"{wheel.name}\n")
    return venv


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def alternating(rows: dict[str, list[str]], env: dict[str, str],
                cwd: Path) -> dict[str, tuple[float, float, float, float]]:
    """Median wall and CPU seconds (user + sys) of each command line over RUNS
    rounds that run them in turn (after one round that warms the caches),
    and the fastest and slowest wall time."""
    for argv in rows.values():
        subprocess.run(argv, env=env, cwd=cwd, check=True, capture_output=True)
    walls: dict[str, list[float]] = {name: [] for name in rows}
    cpus: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(RUNS):
        for name, argv in rows.items():
            wall, cpu = _run(argv, env, cwd)
            walls[name].append(wall)
            cpus[name].append(cpu)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name]),
                   min(walls[name]), max(walls[name]))
            for name in rows}


@pytest.fixture(scope="module")
def image(bench_dir: Path) -> Path:
    from spoolkit import create_dasd

    path = bench_dir / "start-3390.3390"
    if not path.exists():
        create_dasd(path, "3390-1", "START1", cylinders=10, overwrite=True).close()
    return path


def test_cli_start(bench_dir: Path, image: Path, benchmark) -> None:
    venv = installed_venv(bench_dir)
    bin_ = venv / "bin"
    env = _env()
    floor = [str(bin_ / "python"), "-c", "pass"]
    help_ = [str(bin_ / "spoolkit"), "--help"]
    info = [str(bin_ / "spoolkit"), "dasd", "info", str(image)]
    # each command next to a floor run of its own, so that a load that comes
    # and goes moves both
    rows = {"python -c pass": floor, "spoolkit --help": help_,
            "python -c pass ": floor, "spoolkit dasd info IMG": info,
            "python -c pass  ": floor, "spoolkit dasd info --json IMG": [*info[:3], "--json",
                                                                          *info[3:]]}
    results = alternating(rows, env, bench_dir)
    floors = [r for name, r in results.items() if name.startswith("python")]
    base_wall = statistics.mean(r[0] for r in floors)
    base_cpu = statistics.mean(r[1] for r in floors)
    print(f"\n{venv.name} (installed, not editable), median of {RUNS} alternating runs")
    print(f"{'':<30} wall ms  cpu ms  over floor: wall   cpu   wall/floor  wall range ms")
    for name, (wall, cpu, fastest, slowest) in results.items():
        if name.startswith("python"):
            name = "floor: " + name.strip()
        print(f"{name:<30} {wall * 1000:7.1f} {cpu * 1000:7.1f} "
              f"{(wall - base_wall) * 1000:17.1f} {(cpu - base_cpu) * 1000:5.1f} "
              f"{wall / base_wall:10.2f}x  {fastest * 1000:5.1f}-{slowest * 1000:.1f}")
    benchmark.extra_info.update({name: round(r[0] * 1000, 1) for name, r in results.items()})
    benchmark.pedantic(subprocess.run, args=(help_,),
                       kwargs={"env": env, "stdout": subprocess.DEVNULL, "check": True},
                       rounds=3, iterations=1)
