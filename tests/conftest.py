"""Shared test fixtures: where the real images live, Hercules tool access."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _find_fixtures() -> Path | None:
    env = os.environ.get("SPOOLKIT_FIXTURES")
    if env:
        return Path(env)
    for base in [ROOT, *ROOT.parents]:
        cand = base / "shared" / "fixtures"
        if cand.is_dir():
            return cand
    cand = Path("/work/shared/fixtures")
    return cand if cand.is_dir() else None


FIXTURES = _find_fixtures()


@pytest.fixture(autouse=True)
def _restore_signal_handlers():
    """``spoolkit.cli.main()`` run in-process installs SIGTERM/SIGHUP/SIGINT
    handlers for the whole process: each test starts with the handlers as found."""
    sigs = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
    saved = {s: signal.getsignal(s) for s in sigs}
    yield
    for s, handler in saved.items():
        if handler is not None:
            signal.signal(s, handler)


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The directory of real images (``../shared/fixtures``)."""
    if FIXTURES is None:
        pytest.skip("real fixture images (../shared/fixtures) not found")
    return FIXTURES


def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"Hercules tool {name} is not installed")
    return path


@pytest.fixture
def herc():
    """Run a Hercules utility: herc("dasdls", path) -> CompletedProcess (text)."""

    def run(tool: str, *args: str, check: bool = True, cwd=None, input=None):
        exe = need_tool(tool)
        proc = subprocess.run([exe, *map(str, args)], capture_output=True, text=True,
                              cwd=cwd, input=input, timeout=600)
        if check and proc.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(map(str, args))} failed "
                                 f"({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    return run


@contextlib.contextmanager
def mount_tmpfs(path: Path, size: str = "20m"):
    """A small tmpfs at ``path`` for full-file-system tests (skipped where it
    cannot be mounted, e.g. without root); unmounted afterwards."""
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for the full file system test: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def small_cckd(directory: Path, seed: int) -> bytes:
    """The bytes of a small valid CCKD (3350, 3 cylinders) with content on most tracks."""
    import spoolkit
    from spoolkit.dasd.sample import fill_volume

    plain = directory / "g.3350"
    with spoolkit.create_dasd(plain, "3350", "GOOD01", cylinders=3) as img:
        fill_volume(img, seed=seed, fraction=0.9)
    out = directory / "g.cckd"
    spoolkit.convert(plain, out, compress="zlib")
    return out.read_bytes()


#: first lines of a writer subprocess that prints "ready": every spoolkit module
#: imported first (the CLI imports lazily), so kill delays counted from "ready"
#: fall inside the work, not in imports that compile modules on a fresh checkout
IMPORT_ALL = """
import importlib, pkgutil, warnings
import spoolkit
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for _m in pkgutil.walk_packages(spoolkit.__path__, "spoolkit."):
        if "dask" not in _m.name and not _m.name.endswith("__main__"):
            importlib.import_module(_m.name)
"""


def run_killed(argv: list[str], delay: float | None,
               env: dict[str, str]) -> tuple[str, float, int, str]:
    """Start a writer that prints ``ready`` when it starts work, SIGKILL it after
    ``delay`` seconds (None: let it finish); its stdout, the time it ran, its exit
    status and its stderr."""
    import signal
    import time

    p = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    assert p.stdout is not None
    assert p.stdout.readline().strip() == "ready"
    t0 = time.monotonic()
    if delay is not None:
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    return out, time.monotonic() - t0, p.returncode, err
