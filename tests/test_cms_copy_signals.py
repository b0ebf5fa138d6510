"""``spoolkit cms copy`` to vmarc:, vmfplc2:, tapedump: and dir: targets: new
files get ``0666 & ~umask``; a copy stopped by SIGTERM mid-write leaves the old
destination (and no temporary file), one killed by SIGKILL leaves the old
destination and a lock-free temporary file that the next run removes."""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys

import pytest
from conftest import IMPORT_ALL, ROOT

from spoolkit.cms.sources import MANIFEST, copy
from spoolkit.output import temp_pattern

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
KINDS = ["vmarc", "vmfplc2", "tapedump", "dir"]
NFILES = 6

#: the CLI, stopped in the middle of writing: after half of the bytes of the
#: PAUSE-th whole-file write (vmarc:, dir:) or after the PAUSE-th file put on a
#: tape, it says "ready" and sleeps until the test's signal arrives
_DRIVER = IMPORT_ALL + r"""
import sys, time
import spoolkit.output as output
from spoolkit.cli import main
from spoolkit.cms.tapes import TapeWriter

PAUSE = int(sys.argv[1])
calls = 0

def pause():
    print("ready", flush=True)
    time.sleep(60)

plain_write_all = output.write_all

def write_all(fd, data, path, offset=None):
    global calls
    calls += 1
    if calls != PAUSE:
        return plain_write_all(fd, data, path, offset)
    view = memoryview(data).cast("B")
    plain_write_all(fd, view[:len(view) // 2], path, offset)
    pause()

plain_add = TapeWriter.add

def add(self, f):
    plain_add(self, f)
    if self.count == PAUSE:
        pause()

output.write_all = write_all
TapeWriter.add = add
sys.exit(main(sys.argv[2:]))
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A dir: source of text files, some tens of KB each."""
    d = tmp_path_factory.mktemp("cmssrc") / "src"
    d.mkdir()
    for i in range(NFILES):
        lines = [f"FILE {i} LINE {k:05d} " + "ABCDEFGH" * (k % 9) for k in range(1500)]
        (d / f"DATA{i}.TEXT.A").write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.utime(d / f"DATA{i}.TEXT.A", (1_600_000_000 + i, 1_600_000_000 + i))
    return d


def _dest(tmp_path, kind, name="out"):
    if kind == "dir":
        p = tmp_path / name
        p.mkdir()
        return p
    return tmp_path / f"{name}.{'vmarc' if kind == 'vmarc' else 'aws'}"


def _contents(p):
    """The bytes of a file, or {name: bytes} of a directory's files (temps too)."""
    if p.is_dir():
        return {q.name: q.read_bytes() for q in sorted(p.iterdir())}
    return p.read_bytes()


def _temps(dst, kind):
    if kind != "dir":
        return glob.glob(temp_pattern(dst))
    return [q.name for q in dst.iterdir() if q.name.startswith(".") and q.name != MANIFEST]


def _cli(*argv, umask=None):
    return subprocess.run([sys.executable, "-m", "spoolkit", *map(str, argv)], env=ENV,
                          capture_output=True, text=True, timeout=120,
                          preexec_fn=None if umask is None else (lambda: os.umask(umask)))


@pytest.mark.parametrize("kind", KINDS)
def test_new_files_honour_the_umask(tmp_path, source, kind):
    for mask in (0o027, 0o002):
        dst = _dest(tmp_path, kind, f"out{mask:o}")
        r = _cli("cms", "copy", f"dir:{source}", f"{kind}:{dst}", "-q", umask=mask)
        assert r.returncode == 0, r.stderr
        files = sorted(dst.iterdir()) if kind == "dir" else [dst]
        assert len(files) == (NFILES + 1 if kind == "dir" else 1)   # dir: and its MANIFEST
        assert (dst / MANIFEST in files) == (kind == "dir")
        for f in files:
            assert os.stat(f).st_mode & 0o777 == 0o666 & ~mask, f
        if kind != "dir":
            assert [f.name for f in copy_back(dst, kind, tmp_path / f"back{mask:o}")] \
                == sorted(f"DATA{i}.TEXT.A1" for i in range(NFILES))


def copy_back(dst, kind, where):
    """The host files a copy of ``dst`` back into a directory makes."""
    where.mkdir()
    copy(f"{kind}:{dst}", f"dir:{where}")
    return [q for q in sorted(where.iterdir()) if not q.name.startswith(".")]


def _old(tmp_path, kind, source):
    """A destination holding an older copy (dir: the files of an earlier
    version of the source), and the bytes of it."""
    dst = _dest(tmp_path, kind)
    if kind == "dir":
        for i in range(NFILES):
            (dst / f"DATA{i}.TEXT.A1").write_bytes(b"the old copy %d\n" % i)
    else:
        dst.write_bytes(b"the old " + kind.encode() + b" file")
    return dst, _contents(dst)


def _stopped(argv, pause, sig, dst, kind):
    p = subprocess.Popen([sys.executable, "-c", _DRIVER, str(pause), *map(str, argv)],
                         env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert p.stdout is not None
    line = p.stdout.readline()
    if line.strip() != "ready":
        p.kill()
        raise AssertionError(f"the writer never paused: {line!r} {p.communicate()[1]}")
    try:
        assert len(_temps(dst, kind)) == 1, "no temporary file: not stopped mid-write"
    finally:
        p.send_signal(sig)
        _, err = p.communicate(timeout=60)
    return p.returncode, err


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["TERM", "KILL"])
def test_signal_mid_write_leaves_no_half_written_destination(tmp_path, source, kind, sig):
    ref = _dest(tmp_path, kind, "ref")
    copy(f"dir:{source}", f"{kind}:{ref}", force=True)
    new = _contents(ref)
    dst, old = _old(tmp_path, kind, source)
    # vmarc: its one write; dir: the third file; a tape: after three of its files
    pause = {"vmarc": 1, "dir": 3}.get(kind, 3)
    rc, err = _stopped(["cms", "copy", f"dir:{source}", f"{kind}:{dst}", "--force", "-q"],
                       pause, sig, dst, kind)
    temps = _temps(dst, kind)
    if sig == signal.SIGTERM:
        assert rc == 128 + signal.SIGTERM, err
        assert "Traceback" not in err
        assert temps == []
    else:
        assert rc == -signal.SIGKILL
        assert len(temps) == 1, temps          # the killed run's, its lock free
    now = _contents(dst)
    if kind == "dir":
        names = [f"DATA{i}.TEXT.A1" for i in range(NFILES)]
        # files before the interrupted one are the new ones, the rest still the old
        for k, name in enumerate(names):
            assert now[name] == (new[name] if k < pause - 1 else old[name]), name
        if sig == signal.SIGTERM:                # the copied files are recorded
            assert set(now) == set(names) | {MANIFEST}
            assert now[MANIFEST].count(b'"DATA') == pause - 1
        else:
            assert set(now) == set(names) | set(temps)
    else:
        assert now == old
    # the next run replaces the destination whole and removes the killed run's temp
    copy(f"dir:{source}", f"{kind}:{dst}", force=True)
    assert _temps(dst, kind) == []
    assert _contents(dst) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([dst.name, ref.name])
