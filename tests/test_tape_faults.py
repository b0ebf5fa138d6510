"""Tapes under faults: a full file system, kill -9 in the middle of a copy
or an append.  Afterwards the destination is the old tape or the complete
new one, and the next run cleans up."""

from __future__ import annotations

import glob
import os
import random
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import IMPORT_ALL, ROOT, mount_tmpfs, run_killed

from spoolkit.output import temp_pattern
from spoolkit.tape import journal, open_tape

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def blocks_of(path) -> list:
    with open_tape(path) as t:
        return [None if b.is_tapemark else b.data for b in t]


def make_tape(path, blocks, **kw):
    with open_tape(path, "w", overwrite=True, **kw) as t:
        for b in blocks:
            if b is None:
                t.tapemark()
            else:
                t.write_block(b)


def random_blocks(seed, n, size):
    rnd = random.Random(seed)
    return [rnd.randbytes(size) for _ in range(n)]


@pytest.fixture
def small_fs(tmp_path):
    """A 20 MiB tmpfs (skipped where it cannot be mounted)."""
    with mount_tmpfs(tmp_path / "mnt") as mnt:
        yield mnt


def test_copy_to_a_full_file_system_leaves_nothing(tmp_path, small_fs):
    src = tmp_path / "src.aws"
    make_tape(src, random_blocks(1, 500, 60000) + [None])     # 30 MB, incompressible
    dst = small_fs / "dst.aws"
    proc = subprocess.run([sys.executable, "-m", "spoolkit", "tape", "copy", str(src),
                           str(dst)], env=ENV, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "the file system is full" in proc.stderr and "Traceback" not in proc.stderr
    assert os.listdir(small_fs) == []


def test_append_on_a_full_file_system_keeps_the_old_tape(tmp_path, small_fs):
    tape = small_fs / "t.het"
    make_tape(tape, [b"OLD" * 1000, None, None], compress="zlib")
    before = tape.read_bytes()
    with open(small_fs / "filler", "wb") as f:   # leave about 3 MB
        f.write(b"\0" * (17 << 20))
    code = """
        import random, sys
        from spoolkit.tape import open_tape
        rnd = random.Random(2)
        with open_tape(sys.argv[1], "a") as t:
            for _ in range(200):
                t.write_block(rnd.randbytes(60000))
            t.tapemark()
    """
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(tape)], env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "WriteError" in proc.stderr
    assert "the file system is full" in proc.stderr
    assert tape.read_bytes() == before
    assert sorted(os.listdir(small_fs)) == ["filler", "t.het"]


# the CLI after its imports: kill delays count from "ready", so a slow start on a
# loaded machine does not move the kills out of the copy
_CLI = IMPORT_ALL + ("import sys\nfrom spoolkit.cli import main\nprint('ready', flush=True)\n"
                    "sys.exit(main(sys.argv[1:]))")


def _kill_at(argv, delay):
    """Run the CLI with ``argv``, SIGKILL it ``delay`` seconds after it is ready
    (None: let it finish); returns the seconds it ran."""
    _, used, _, _ = run_killed([sys.executable, "-c", _CLI, *argv], delay, ENV)
    return used


def test_kill_during_copy_leaves_old_or_new(tmp_path):
    src = tmp_path / "src.aws"
    rnd = random.Random(5)
    words = [b"SPOOL ", b"TAPE ", b"VOLUME ", b"RECORD ", b"DATA "]
    make_tape(src, [b"".join(rnd.choice(words) for _ in range(6000)) for _ in range(120)]
              + [None])
    argv = ["tape", "copy", str(src)]
    opts = ["--bzip2", "-j", "1", "--force"]
    ref = tmp_path / "ref.het"
    full = _kill_at(argv + [str(ref)] + opts, None)
    new = ref.read_bytes()
    dst = tmp_path / "dst.het"
    make_tape(dst, [b"THE OLD TAPE" * 50, None, None])
    old = dst.read_bytes()
    rnd = random.Random(1234)
    torn = 0
    for point in range(40):
        if point >= 20 and torn >= 5:
            break
        used = _kill_at(argv + [str(dst)] + opts, rnd.uniform(0.0, full * 1.1))
        now = dst.read_bytes()
        assert now in (old, new)
        temps = glob.glob(temp_pattern(dst))
        assert len(temps) <= 1   # the one of the killed run at most: earlier ones are gone
        torn += bool(temps)
        if now == new:
            dst.write_bytes(old)
            full = used            # a run that finished: the copy's time on the machine now
    subprocess.run([sys.executable, "-m", "spoolkit", *argv, str(dst), *opts], env=ENV,
                   check=True, timeout=120)
    assert dst.read_bytes() == new
    assert sorted(os.listdir(tmp_path)) == ["dst.het", "ref.het", "src.aws"]  # temps removed
    assert blocks_of(dst) == blocks_of(src)
    assert torn >= 5, f"only {torn} kills landed inside the copy"


APPEND = """
    import sys, time
    from spoolkit.tape import open_tape
    with open_tape(sys.argv[1], "a") as t:
        print("go", flush=True)
        t0 = time.monotonic()
        for i in range(400):
            t.write_block(bytes([i % 256]) * 30000)
        t.tapemark()
    print(time.monotonic() - t0, flush=True)
"""


def test_kill_during_append_leaves_old_or_complete_run(tmp_path):
    tape = tmp_path / "a.aws"
    base = [b"FIRST RUN" * 100, None]
    make_tape(tape, base + [None])
    run = [bytes([i % 256]) * 30000 for i in range(400)] + [None]
    argv = [sys.executable, "-c", textwrap.dedent(APPEND), str(tape)]
    probe = tmp_path / "probe.aws"
    make_tape(probe, base + [None])
    out = subprocess.run(argv[:-1] + [str(probe)], env=ENV, check=True, timeout=120,
                         capture_output=True, text=True).stdout.split()
    full = float(out[1])          # the writing, from the open to the close
    rnd = random.Random(99)
    runs = torn = 0
    for _ in range(20):
        proc = subprocess.Popen(argv, env=ENV, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "go"
        time.sleep(rnd.uniform(0, full * 1.2))
        proc.kill()
        proc.wait(60)
        proc.stdout.close()
        torn += journal.pending(str(tape))
        got = blocks_of(tape)          # the open undoes an interrupted append
        assert not journal.pending(str(tape))
        if got == base + run * (runs + 1) + [None]:
            runs += 1
        assert got == base + run * runs + [None], f"after {runs} complete runs"
    assert blocks_of(tape) == base + run * runs + [None]
    assert torn >= 5, f"only {torn} of 20 kills landed inside the append"
    assert sorted(os.listdir(tmp_path)) == ["a.aws", "probe.aws"]
