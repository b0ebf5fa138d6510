"""Atomic outputs, checked writes, locks and finalizers (spoolkit.output,
spoolkit.lock, spoolkit.lifetime) with real files and real processes."""

from __future__ import annotations

import errno
import gc
import glob
import os
import pathlib
import subprocess
import sys
import textwrap
import time
import warnings

import pytest
from conftest import ROOT

from spoolkit import lock
from spoolkit.errors import ExistsError, InUseError, SpoolkitError, WriteError
from spoolkit.lifetime import Finalizing
from spoolkit.output import (
    atomic_output,
    atomic_outputs,
    remove_stale_temps,
    temp_pattern,
    write_all,
    write_file,
)

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def test_refuses_existing_and_keeps_it(tmp_path):
    dst = tmp_path / "vol.cckd"
    dst.write_bytes(b"old volume")
    with pytest.raises(ExistsError) as ei:
        with atomic_output(dst) as tmp:
            open(tmp, "wb").write(b"new")
    assert "already exists" in str(ei.value) and str(dst) in str(ei.value)
    assert dst.read_bytes() == b"old volume"
    assert glob.glob(temp_pattern(dst)) == []


def test_overwrite_replaces_and_keeps_mode(tmp_path):
    dst = tmp_path / "spool.vol"
    dst.write_bytes(b"old")
    os.chmod(dst, 0o600)
    with atomic_output(dst, overwrite=True) as tmp:
        with open(tmp, "wb") as f:
            f.write(b"new")
    assert dst.read_bytes() == b"new"
    assert os.stat(dst).st_mode & 0o777 == 0o600


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_new_file_honours_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        with atomic_output(tmp_path / "x") as tmp:
            open(tmp, "wb").write(b"1")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "x").st_mode & 0o777 == 0o666 & ~mask


def test_symlink_and_directory_refused(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_bytes(b"precious")
    link = tmp_path / "out.img"
    link.symlink_to(target)
    for overwrite in (False, True):
        with pytest.raises(ExistsError, match="symbolic link"):
            with atomic_output(link, overwrite=overwrite) as tmp:
                open(tmp, "wb").write(b"x")
    assert target.read_bytes() == b"precious" and link.is_symlink()
    with atomic_output(link, overwrite=True, follow_symlinks=True) as tmp:
        open(tmp, "wb").write(b"through")
    assert target.read_bytes() == b"through" and link.is_symlink()
    (tmp_path / "d").mkdir()
    with pytest.raises(ExistsError, match="directory"):
        with atomic_output(tmp_path / "d", overwrite=True):
            pass


def test_failure_removes_temps_and_set_is_all_or_nothing(tmp_path):
    a, b = tmp_path / "v_1.3390", tmp_path / "v_2.3390"
    with pytest.raises(RuntimeError):
        with atomic_outputs([a, b]) as tmps:
            for t in tmps:
                open(t, "wb").write(b"half")
            raise RuntimeError("mid-write")
    assert not a.exists() and not b.exists()
    assert os.listdir(tmp_path) == []
    # the second name appears meanwhile: the first must not stay behind either
    with pytest.raises(ExistsError):
        with atomic_outputs([a, b]) as tmps:
            for t in tmps:
                open(t, "wb").write(b"new")
            b.write_bytes(b"someone else's")
    assert not a.exists() and b.read_bytes() == b"someone else's"


def test_created_meanwhile_is_not_clobbered(tmp_path):
    dst = tmp_path / "out"
    with pytest.raises(ExistsError, match="someone else"):
        with atomic_output(dst) as tmp:
            open(tmp, "wb").write(b"mine")
            dst.write_bytes(b"theirs")
    assert dst.read_bytes() == b"theirs"


def test_stale_temp_of_killed_writer_is_removed(tmp_path):
    dst = tmp_path / "vol.cckd"
    code = textwrap.dedent(f"""
        import os, sys
        from spoolkit.output import atomic_output
        with atomic_output({str(dst)!r}) as tmp:
            open(tmp, "wb").write(b"x" * 4096)
            print(tmp, flush=True)
            os.kill(os.getpid(), 9)
    """)
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == -9
    left = proc.stdout.strip()
    assert os.path.exists(left) and glob.glob(temp_pattern(dst)) == [left]
    # a live writer's temp file is left alone
    with atomic_output(tmp_path / "other") as live:
        assert remove_stale_temps(tmp_path / "other") == []
        assert os.path.exists(live)
    assert remove_stale_temps(dst) == [left]
    assert not dst.exists() and not os.path.exists(left)


def test_next_run_cleans_up_stale_temp(tmp_path):
    dst = tmp_path / "out"
    stale = tmp_path / ".out.spk-deadbeef.tmp"
    stale.write_bytes(b"left by a killed run")
    with atomic_output(dst) as tmp:
        open(tmp, "wb").write(b"ok")
    assert not stale.exists() and dst.read_bytes() == b"ok"


def test_write_all_reports_full_file_system(tmp_path):
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        with pytest.raises(WriteError) as ei:
            write_all(fd, b"x" * 100000, "/dev/full")
    finally:
        os.close(fd)
    assert ei.value.errno == errno.ENOSPC and "full" in str(ei.value)
    assert isinstance(ei.value, SpoolkitError) and isinstance(ei.value, OSError)
    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        write_all(fd, b"abc", str(tmp_path / "f"), offset=10)
        write_all(fd, memoryview(b"XY"), str(tmp_path / "f"), offset=11)
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == b"\0" * 10 + b"aXY"


def test_write_file_refuses_existing_and_overwrite_replaces(tmp_path):
    dst = tmp_path / "MANIFEST.json"
    assert write_file(dst, b"first") == str(dst)
    assert dst.read_bytes() == b"first"
    with pytest.raises(ExistsError, match="already exists") as ei:
        write_file(dst, b"second")
    assert str(dst) in str(ei.value) and "--force" in ei.value.cli_str()
    assert dst.read_bytes() == b"first"
    os.chmod(dst, 0o604)
    write_file(dst, memoryview(b"second, longer"), overwrite=True)
    assert dst.read_bytes() == b"second, longer"
    assert os.stat(dst).st_mode & 0o777 == 0o604      # a replaced file keeps its mode
    write_file(tmp_path / "dated", b"x", mtime=1_000_000_000.0)
    assert os.stat(tmp_path / "dated").st_mtime == 1_000_000_000.0
    assert sorted(os.listdir(tmp_path)) == ["MANIFEST.json", "dated"]


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_write_file_honours_umask(tmp_path, mask):
    old = os.umask(mask)
    try:
        write_file(tmp_path / "x", b"1")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "x").st_mode & 0o777 == 0o666 & ~mask


def test_write_file_leaves_no_temp_after_an_error(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(ExistsError, match="directory"):
        write_file(tmp_path / "d", b"x", overwrite=True)
    assert os.listdir(tmp_path) == ["d"] and os.listdir(tmp_path / "d") == []
    # a write that fails part-way (the file size limit): WriteError, no temp, no file
    code = textwrap.dedent(f"""
        import resource, signal
        from spoolkit.errors import WriteError
        from spoolkit.output import write_file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        try:
            write_file({str(tmp_path / "big")!r}, b"y" * 100000)
        except WriteError as exc:
            print("WriteError", exc.errno, exc.path)
    """)
    proc = subprocess.run([sys.executable, "-c", code], env=ENV, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["WriteError", str(errno.EFBIG), str(tmp_path / "big")]
    assert sorted(os.listdir(tmp_path)) == ["d"]


HOLD = textwrap.dedent("""
    import os, sys, time
    from spoolkit import lock
    fd = os.open(sys.argv[1], os.O_RDWR)
    lock.lock_fd(fd, sys.argv[1], exclusive=sys.argv[2] == "x")
    print("held", flush=True)
    time.sleep(float(sys.argv[3]))
""")


def _holder(path, mode="x", seconds=30.0):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(path), mode, str(seconds)], env=ENV,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_lock_names_the_holder_and_waits(tmp_path):
    f = tmp_path / "vol"
    f.write_bytes(b"v")
    p = _holder(f)
    try:
        fd = os.open(f, os.O_RDWR)
        try:
            with pytest.raises(InUseError) as ei:
                lock.lock_fd(fd, str(f), wait=0, what="volume")
            assert ei.value.pid == p.pid and f"process {p.pid}" in str(ei.value)
            with pytest.raises(InUseError):
                lock.lock_fd(fd, str(f), exclusive=False, wait=0.2)
        finally:
            os.close(fd)
    finally:
        p.kill()
        p.wait()
    # a killed holder leaves no lock behind; a short holder is waited for
    p = _holder(f, seconds=0.5)
    fd = os.open(f, os.O_RDWR)
    try:
        t0 = time.monotonic()
        lock.lock_fd(fd, str(f), wait=20)
        assert 0.1 < time.monotonic() - t0 < 15
    finally:
        os.close(fd)
        p.wait()


def test_shared_locks_coexist(tmp_path):
    f = tmp_path / "vol"
    f.write_bytes(b"v")
    p = _holder(f, mode="s")
    try:
        fd = os.open(f, os.O_RDONLY)
        try:
            lock.lock_fd(fd, str(f), exclusive=False, wait=0)
        finally:
            os.close(fd)
    finally:
        p.kill()
        p.wait()


class _Writer(Finalizing):
    def __init__(self, path):
        self.path = path
        self.closed = False
        self.pending = b"pending data"
        self._finalize_on_exit()

    def close(self):
        if not self.closed:
            with open(self.path, "ab") as f:
                f.write(self.pending)
            self.closed = True


def test_finalizer_closes_on_gc_with_resource_warning(tmp_path):
    w = _Writer(tmp_path / "out")
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        del w
        gc.collect()
    assert (tmp_path / "out").read_bytes() == b"pending data"
    assert any(issubclass(x.category, ResourceWarning) for x in got)


@pytest.mark.parametrize("ending", ["exit", "raise"])
def test_finalizer_runs_at_interpreter_exit(tmp_path, ending):
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_output import _Writer
        keep = _Writer({str(tmp_path / "out")!r})
        {"raise RuntimeError('boom')" if ending == "raise" else "sys.exit(0)"}
    """)
    proc = subprocess.run([sys.executable, "-W", "always", "-c", code], env=ENV,
                          capture_output=True, text=True, timeout=60)
    assert (tmp_path / "out").read_bytes() == b"pending data"
    assert "ResourceWarning" in proc.stderr


def test_exit_closes_newest_first(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        from test_output import _Writer
        a = _Writer({str(tmp_path / "out")!r}); a.pending = b"image;"
        b = _Writer({str(tmp_path / "out")!r}); b.pending = b"volume;"
    """)
    subprocess.run([sys.executable, "-c", code], env=ENV, check=True, timeout=60)
    assert (tmp_path / "out").read_bytes() == b"volume;image;"


def test_writeback_starts_behind_the_writer_and_keeps_the_bytes(tmp_path: pathlib.Path) -> None:
    from spoolkit._native import lib
    from spoolkit.output import Writeback, write_all

    path = tmp_path / "wb.bin"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        wb = Writeback(fd, start=100, step=4096)
        data = os.urandom(10000)
        write_all(fd, data[:3000], str(path), 100)
        wb.advance(3100)
        assert wb.done == 100            # less than a step behind: nothing started
        write_all(fd, data[3000:], str(path), 3100)
        wb.advance(10100)
        assert wb.done == 10100
        os.fsync(fd)
    finally:
        os.close(fd)
    assert path.read_bytes()[100:] == data
    assert lib.spk_io_writeback(-1, 0, 1) == lib.SPK_EARG
    assert lib.spk_io_writeback(0, -1, 1) == lib.SPK_EARG
