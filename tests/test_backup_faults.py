"""Kill -9 at seeded random moments of ``spool dump`` (new tape, append) and
``spool load``: every earlier run still loads, the tape is the old one, or
holds the complete new run, or a torn run that is recognised and skipped, and
the next run succeeds and leaves no temp files.  Two dumps appending to one
tape at once both land."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest
from conftest import IMPORT_ALL, ROOT
from test_backup_safety import cli, spool_files, spoolids, volume

from spoolkit import backup as B

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
POINTS = 20

#: imports everything first, then waits for a line on stdin before it runs
#: the CLI, so that the kill points fall into the work, not the start-up
_DRIVER = IMPORT_ALL + """
import sys
import spoolkit.cli
print("ready", flush=True)
sys.stdin.readline()
sys.exit(spoolkit.cli.main(sys.argv[1:]))
"""


def _start(*argv):
    p = subprocess.Popen([sys.executable, "-c", _DRIVER, *map(str, argv)], env=ENV,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def _run_to_end(*argv):
    p = _start(*argv)
    t0 = time.monotonic()
    out, err = p.communicate("go\n", timeout=120)
    assert p.returncode == 0, err
    return time.monotonic() - t0


def _next_run(*argv):
    """The run after a kill (in this process: it is the outcome that counts)."""
    r = cli(*argv)
    assert r.returncode == 0, r.stdout + r.stderr


def _kill_after(delay, *argv):
    p = _start(*argv)
    p.stdin.write("go\n")
    p.stdin.flush()
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.communicate(timeout=60)
    return p.returncode


def _identities(runs):
    return [[e.identity for e in r.entries] for r in runs]


def _temps(d):
    return sorted(n for n in os.listdir(d) if n.startswith("."))


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("src")
    return [volume(d / f"s{i}.3390", spool_files(5, base=20 * i + 11, lines=500))
            for i in range(3)]


def _check_verifies(tape, runs):
    """Every file of ``runs`` (whole runs) verifies: every block and page CRC
    read, each entry against its header block."""
    v = B.verify(tape)
    verified = {(x.owner, x.spoolid) for x in v.lines if x.result == "VERIFIED"}
    want = {(e.owner, e.spoolid) for r in runs for e in r.entries if not e.is_ref}
    assert want <= verified, [x.text() for x in v.errors]
    bad = [x for x in v.errors if (x.owner, x.spoolid) in want]
    assert not bad, [x.text() for x in bad]


def _check_loads(tape, tmp_path):
    """A load of all versions brings back every file the archive lists."""
    dst = volume(tmp_path / "dst.3390")
    log = B.load(tape, dst, state="all")
    assert not log.errors, [x.text() for x in log.errors]
    assert spoolids(dst) == sorted({e.spoolid for e in B.scan(tape).entries})
    os.unlink(dst)


def test_kill_during_append(tmp_path, sources):
    rnd = random.Random(1301)
    tape = tmp_path / "arch.het"  # compressed: chunks of varying size
    assert _run_to_end("spool", "dump", sources[0], "--to", tape) > 0
    span = _run_to_end("spool", "dump", sources[1], "--to", tape)
    for n in range(POINTS):
        before = tape.read_bytes()
        old = [r for r in B.scan(tape).runs if r.whole]
        rc = _kill_after(rnd.uniform(0, span), "spool", "dump", sources[n % 3], "--to", tape)
        after = tape.read_bytes()
        runs = B.scan(tape).runs
        # the earlier whole runs are all still there, unchanged
        assert _identities([r for r in runs if r.whole][:len(old)]) == _identities(old)
        if rc == 0 or after == before:
            pass
        else:
            assert after[:len(before) - 12] == before[:len(before) - 12] or runs[-1].sealed \
                or not runs[-1].complete
        _check_verifies(tape, old)
        # the next append succeeds (sealing or cutting off what the kill left)
        _next_run("spool", "dump", sources[(n + 1) % 3], "--to", tape)
        res = B.scan(tape)
        assert res.runs[-1].whole and all(r.complete for r in res.runs)
        assert _identities([r for r in res.runs if r.whole][:len(old)]) == _identities(old)
        assert _temps(tmp_path) == []
    _check_loads(tape, tmp_path)


def test_kill_during_new_dump(tmp_path, sources):
    rnd = random.Random(1302)
    tape = tmp_path / "new.aws"
    span = _run_to_end("spool", "dump", sources[2], "--to", tape)
    for n in range(POINTS):
        before = tape.read_bytes()
        _kill_after(rnd.uniform(0, span), "spool", "dump", sources[n % 3], "--to", tape,
                    "--new", "--force")
        after = tape.read_bytes()
        res = B.scan(tape)
        assert len(res.runs) == 1 and res.runs[0].whole
        if after != before:                   # replaced by the complete new run
            assert not B.verify(tape).errors
        # the next run removes what the killed one left and replaces the tape
        _next_run("spool", "dump", sources[(n + 1) % 3], "--to", tape, "--new", "--force")
        assert _temps(tmp_path) == []
        assert not B.verify(tape).errors
    os.unlink(tape)
    for n in range(5):                        # no tape before: none, or the complete one
        _kill_after(rnd.uniform(0, span), "spool", "dump", sources[n % 3], "--to", tape)
        if tape.exists():
            assert not B.verify(tape).errors
            os.unlink(tape)
    _run_to_end("spool", "dump", sources[0], "--to", tape)
    assert _temps(tmp_path) == [] and not B.verify(tape).errors


def test_kill_during_load(tmp_path, sources):
    rnd = random.Random(1303)
    tape = tmp_path / "arch.aws"
    for s in sources:
        _run_to_end("spool", "dump", s, "--to", tape)
    archived = tape.read_bytes()
    want = sorted(e.spoolid for e in B.scan(tape).entries)
    dst = tmp_path / "dst.3390"
    empty = volume(tmp_path / "empty.3390").read_bytes()
    dst.write_bytes(empty)
    span = _run_to_end("spool", "load", tape, "--to", dst, "--all-versions")
    for _ in range(POINTS):
        dst.write_bytes(empty)
        _kill_after(rnd.uniform(0, span), "spool", "load", tape, "--to", dst,
                    "--all-versions")
        assert tape.read_bytes() == archived      # the archive is only read
        # the next load into a fresh volume brings back every file
        dst.write_bytes(empty)
        _next_run("spool", "load", tape, "--to", dst, "--all-versions")
        assert spoolids(dst) == want
        assert _temps(tmp_path) == []


def test_two_dumps_append_to_one_tape_at_once(tmp_path, sources):
    tape = tmp_path / "both.aws"
    _run_to_end("spool", "dump", sources[0], "--to", tape)
    for _ in range(3):
        procs = [_start("spool", "dump", s, "--to", tape, "--wait", "60")
                 for s in sources[1:]]
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            _, err = p.communicate(timeout=120)
            assert p.returncode == 0, err
    res = B.scan(tape)
    assert len(res.runs) == 7 and all(r.whole for r in res.runs)
    assert not B.verify(tape).errors
