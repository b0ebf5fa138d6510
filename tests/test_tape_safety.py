"""Tape images keep a user's data: no lost writes (close at exit), no silent
overwrite, failed writes undone, wrong kinds of file named, locks between
processes."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import ROOT

from spoolkit import create_dasd
from spoolkit.cli import main
from spoolkit.errors import ExistsError, FormatError, InUseError, SpoolkitError, WriteError
from spoolkit.tape import file_kind, framing, journal, open_tape

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run_py(code: str, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], env=ENV,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "spoolkit", *args], env=ENV,
                          capture_output=True, text=True, timeout=120)


def blocks_of(path) -> list:
    with open_tape(path) as t:
        return [None if b.is_tapemark else b.data for b in t]


def make_tape(path, blocks, **kw):
    with open_tape(path, "w", **kw) as t:
        for b in blocks:
            if b is None:
                t.tapemark()
            else:
                t.write_block(b)


DATA = [bytes([i]) * (1000 + 37 * i) for i in range(12)]


# -- no lost writes -------------------------------------------------------------
WRITER = """
    import sys
    from spoolkit.tape import open_tape
    path, mode, how = sys.argv[1:4]
    kw = {"compress": "zlib"} if path.endswith(".het") else {}
    t = open_tape(path, mode, **({} if mode == "a" else kw))
    for i in range(12):
        t.write_block(bytes([i]) * (1000 + 37 * i))
        if i == 5:
            t.tapemark()
    if how == "raise":
        raise RuntimeError("the program dies of an exception, the tape stays open")
    # exit without close()
"""


@pytest.mark.hercules
@pytest.mark.parametrize("name", ["n.aws", "n.het", "n.fkt"])
@pytest.mark.parametrize("how", ["exit", "raise"])
def test_unclosed_new_tape_is_finished_at_exit(tmp_path, herc, name, how):
    path = tmp_path / name
    proc = run_py(WRITER, str(path), "w", how)
    assert proc.returncode == (1 if how == "raise" else 0), proc.stderr
    assert blocks_of(path) == DATA[:6] + [None] + DATA[6:] + [None, None]
    assert not [p for p in os.listdir(tmp_path) if p != name]   # no temp left
    if not name.endswith(".fkt"):
        out = herc("hetmap", str(path)).stdout
        assert "Blocks              : 6" in out


@pytest.mark.parametrize("how", ["exit", "raise"])
def test_unclosed_append_is_finished_at_exit(tmp_path, how):
    path = tmp_path / "a.aws"
    make_tape(path, [b"FIRST" * 100, None, None])
    proc = run_py(WRITER, str(path), "a", how)
    assert proc.returncode == (1 if how == "raise" else 0), proc.stderr
    assert blocks_of(path) == [b"FIRST" * 100, None] + DATA[:6] + [None] + DATA[6:] + \
        [None, None]
    assert not journal.pending(str(path))


def test_gc_closes_with_resource_warning(tmp_path):
    path = tmp_path / "gc.aws"
    t = open_tape(path, "w")
    t.write_block(b"kept")
    with pytest.warns(ResourceWarning, match="unclosed"):
        del t
        import gc
        gc.collect()
    assert blocks_of(path) == [b"kept", None, None]


def test_exception_in_with_leaves_no_new_tape_and_old_append(tmp_path):
    new = tmp_path / "new.aws"
    with pytest.raises(RuntimeError), open_tape(new, "w") as t:
        t.write_block(b"x" * 100)
        raise RuntimeError
    assert not new.exists() and not os.listdir(tmp_path)
    old = tmp_path / "old.het"
    make_tape(old, [b"a" * 500, None, None], compress="zlib")
    before = old.read_bytes()
    with pytest.raises(RuntimeError), open_tape(old, "a") as t:
        t.write_block(b"y" * 5000)
        t.tapemark()
        raise RuntimeError
    assert old.read_bytes() == before and not journal.pending(str(old))


def test_failed_write_leaves_the_tape_as_before_it(tmp_path, monkeypatch):
    """A write that fails half way (full disk) is undone: the blocks before it
    stay, the tape ends where it did; the append still closes cleanly."""
    path = tmp_path / "t.aws"
    make_tape(path, [b"OLD" * 50, None, None])
    real = framing.write_all
    state = {"n": 0}

    def flaky(fd, data, p, offset=None):
        state["n"] += 1
        if state["n"] == 3:
            half = bytes(memoryview(data)[:len(data) // 2])
            real(fd, half, p, offset)
            raise WriteError("the file system is full", errno=28, path=p)
        real(fd, data, p, offset)

    monkeypatch.setattr(framing, "write_all", flaky)
    with open_tape(path, "a") as t:
        t.write_block(b"B1" * 300)
        t.write_block(b"B2" * 300)
        mid = path.read_bytes()
        with pytest.raises(WriteError, match="full"):
            t.write_block(b"B3" * 3000)
        assert path.read_bytes() == mid
        t.write_block(b"B4" * 10)
    assert blocks_of(path) == [b"OLD" * 50, None, b"B1" * 300, b"B2" * 300, b"B4" * 10,
                               None, None]


def test_killed_append_is_undone_by_the_next_open(tmp_path):
    path = tmp_path / "k.aws"
    make_tape(path, [b"OLD" * 50, None, None])
    before = path.read_bytes()
    code = """
        import os, sys
        from spoolkit.tape import open_tape
        t = open_tape(sys.argv[1], "a")
        t.write_block(b"NEW" * 1000)
        os.kill(os.getpid(), 9)
    """
    proc = run_py(code, str(path))
    assert proc.returncode == -9
    assert path.read_bytes() != before and journal.pending(str(path))
    assert blocks_of(path) == [b"OLD" * 50, None, None]     # rolled back on open
    assert path.read_bytes() == before and not journal.pending(str(path))


# -- no silent overwrite ------------------------------------------------------------
def test_open_w_refuses_an_existing_file(tmp_path):
    path = tmp_path / "t.aws"
    path.write_bytes(b"precious")
    with pytest.raises(ExistsError, match="already exists"):
        open_tape(path, "w")
    assert path.read_bytes() == b"precious"
    os.chmod(path, 0o600)
    make_tape(path, [b"new"], overwrite=True)
    assert blocks_of(path) == [b"new", None, None]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600      # a replaced file keeps its mode


def test_new_tape_honours_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        make_tape(tmp_path / "u.aws", [b"x"])
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "u.aws").stat().st_mode) == 0o640


@pytest.mark.parametrize("verb", ["init", "copy", "get", "get-o"])
def test_cli_refuses_existing_destination(tmp_path, verb):
    src = tmp_path / "src.aws"
    main(["tape", "init", str(src), "--volser", "VOL001"])
    dst = tmp_path / "dst.out"
    dst.write_bytes(b"old contents")
    argv = {"init": ["tape", "init", str(dst), "--nl"],
            "copy": ["tape", "copy", str(src), str(dst)],
            "get": ["tape", "get", str(src), "1", str(dst), "--nl", "--raw"],
            "get-o": ["tape", "get", str(src), "1", "-o", str(dst), "--nl", "--raw"]}[verb]
    proc = cli(*argv)
    assert proc.returncode == 2 and "already exists" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert dst.read_bytes() == b"old contents"
    proc = cli(*argv, "--force")
    assert proc.returncode == 0, proc.stderr
    if verb == "get" or verb == "get-o":
        with open_tape(src) as t:
            assert dst.read_bytes() == b"".join(b.data for b in t.blocks())
    else:
        assert dst.read_bytes() != b"old contents" and blocks_of(dst)


# -- wrong kinds of file --------------------------------------------------------------
@pytest.fixture
def not_tapes(tmp_path, fixtures):
    ckd = tmp_path / "vol_1.3390"
    create_dasd(ckd, "3390", "VOL001", cylinders=1).close()
    (tmp_path / "empty.aws").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("Hello, this is a text file.\nNothing else.\n")
    (tmp_path / "adir").mkdir()
    return {ckd: "a CKD disk image", tmp_path / "empty.aws": "an empty file",
            tmp_path / "notes.txt": "a text file", tmp_path / "adir": "a directory",
            fixtures / "vm50u1.cckd": "a compressed CKD disk image (CCKD)",
            fixtures / "hercules-tests/3390.cckd64": "a compressed CKD64 disk image (CCKD64)"}


def test_file_kind_names_files(not_tapes, fixtures):
    for path, text in not_tapes.items():
        kind = file_kind(path)
        assert kind.text == text and not kind.is_tape, path
    for name, kind in [("j90009.het", "het"), ("hercules-tests/tape.aws", "aws"),
                       ("hercules-tests/hetbsf-bzip2.het", "het")]:
        assert file_kind(fixtures / name).kind == kind
        assert file_kind(fixtures / name).is_tape
    assert file_kind(fixtures / "nonexistent").kind == "missing"


def test_fba_and_fakeTape_kinds(tmp_path):
    from spoolkit.dasd import create_fba
    fba = tmp_path / "f.fba"
    create_fba(fba, "3370", blocks=2000, volser="FBA001").close()
    assert file_kind(fba).text == "an FBA disk image" and file_kind(fba).is_disk
    cfba = tmp_path / "f.cfba"
    create_fba(cfba, "3370", blocks=2000, volser="FBA001", compress="zlib").close()
    assert file_kind(cfba).text == "a compressed FBA disk image (CFBA)"
    fkt = tmp_path / "t.fkt"
    make_tape(fkt, [b"abc", None])
    assert file_kind(fkt).kind == "fkt"


@pytest.mark.parametrize("mode", ["r", "r+", "a"])
def test_open_tape_names_what_a_non_tape_is(not_tapes, mode):
    for path, text in not_tapes.items():
        if text == "an empty file":     # a blank tape for the API, as Hercules makes them
            with open_tape(path, mode) as t:
                assert t.read_block() is None
            continue
        if mode != "r" and not os.access(path, os.W_OK):
            continue
        before = path.read_bytes() if path.is_file() else None
        with pytest.raises(FormatError, match=re.escape(f"not a tape image (this is {text})")):
            open_tape(path, mode)
        if before is not None:
            assert path.read_bytes() == before


@pytest.mark.parametrize("verb", ["map", "get", "copy"])
def test_tape_verbs_name_what_a_non_tape_is(not_tapes, tmp_path, verb):
    for path, text in not_tapes.items():
        argv = {"map": ["tape", "map", str(path)],
                "get": ["tape", "get", str(path), "1", str(tmp_path / "o.bin")],
                "copy": ["tape", "copy", str(path), str(tmp_path / "o.aws")]}[verb]
        proc = cli(*argv)
        assert proc.returncode == 2
        assert proc.stderr.strip() == f"spoolkit: error: {path}: not a tape image (this is " \
            f"{text})"
        assert not (tmp_path / "o.bin").exists() and not (tmp_path / "o.aws").exists()


# -- bounded by the file ------------------------------------------------------------------
def _hdr(clen, plen, f1, f2=0):
    return clen.to_bytes(2, "little") + plen.to_bytes(2, "little") + bytes([f1, f2])


@pytest.mark.parametrize("raw,match", [
    (_hdr(3, 0, 0x80) + b"abc" + _hdr(0, 3, 0x00) + _hdr(0, 0, 0x20), "empty chunk"),
    (_hdr(4, 0, 0xA0) + b"abcd" + _hdr(0, 999, 0x40), "before the load point"),
    (b"000000040004abcd" + b"0000000G000G", "not 12 hex digits"),
    (b"000000040004abcd" + b"010000000100", "before the load point"),
])
def test_hostile_headers_are_refused(tmp_path, raw, match):
    path = tmp_path / ("h.fkt" if raw[:4] == b"0000" else "h.aws")
    path.write_bytes(raw)
    with pytest.raises(FormatError, match=match), open_tape(path) as t:
        t.map()
        list(t)


def test_many_tapemarks_map_in_bounded_memory(tmp_path):
    """``tape map`` streams: a tape of 300,000 tapemarks keeps no per-file
    objects for the whole tape (the old map built them all, ~1.3 KB each)."""
    if "asan" in os.environ.get("LD_PRELOAD", ""):
        pytest.skip("AddressSanitizer's quarantine keeps freed memory resident")
    path = tmp_path / "marks.aws"
    path.write_bytes(_hdr(0, 0, 0x40) * 300_000)
    code = """
        import sys
        from spoolkit.cli import main
        rc = main(["tape", "map", sys.argv[1]])
        sys.stdout.flush()
        hwm = [ln for ln in open("/proc/self/status") if ln.startswith("VmHWM")][0]
        print(rc, hwm.split()[1], file=sys.stderr)
    """
    with open(tmp_path / "out.txt", "w") as out:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code), str(path)], env=ENV,
                              stdout=out, stderr=subprocess.PIPE, text=True, timeout=300)
    rc, hwm_kb = map(int, proc.stderr.split()[-2:])
    assert rc == 0
    with open(tmp_path / "out.txt") as f:
        assert sum(line.startswith("File #") for line in f) == 300_000
    assert hwm_kb < 100_000, f"tape map took {hwm_kb} KB"


# -- a file that shrinks under a reader --------------------------------------------------
def test_truncated_while_reading_is_a_typed_error(tmp_path):
    path = tmp_path / "big.aws"
    make_tape(path, [bytes([i % 251]) * 60000 for i in range(200)])
    code = """
        import os, sys
        from spoolkit.errors import SpoolkitError
        from spoolkit.tape import open_tape
        path = sys.argv[1]
        for what in ("read", "map", "skip", "copy"):
            with open_tape(path) as t:
                first = t.read_block()
                os.truncate(path, os.path.getsize(path) // 3)
                try:
                    if what == "read":
                        for _ in t:
                            pass
                    elif what == "map":
                        t.map()
                    elif what == "skip":
                        t.skip_files(1)
                    else:
                        with open_tape(path + ".copy", "w", overwrite=True) as o:
                            o.copy_from(t)
                except SpoolkitError as exc:
                    print(what, type(exc).__name__, str(exc)[:40])
            with open_tape(path + ".orig") as s, open_tape(path, "w", overwrite=True) as o:
                o.copy_from(s)
                o.close(finish=False)
    """
    import shutil
    shutil.copy(path, str(path) + ".orig")
    proc = run_py(code, str(path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [ln.split()[0] for ln in lines] == ["read", "map", "skip", "copy"], proc.stdout
    assert all(ln.split()[1] == "TruncatedError" for ln in lines), proc.stdout


# -- locking between processes -------------------------------------------------------------
HOLDER = """
    import sys, time
    from spoolkit.tape import open_tape
    t = open_tape(sys.argv[1], "a")
    t.write_block(b"HOLDER" * 100)
    print("locked", flush=True)
    if sys.argv[2] == "release":        # hold until the test writes a line
        sys.stdin.readline()
    else:
        time.sleep(float(sys.argv[2]))
    t.write_block(b"HOLDER-2" * 100)
    t.close()
"""

APPENDER = """
    import sys
    from spoolkit.tape import open_tape
    t = open_tape(sys.argv[1], "a", wait=float(sys.argv[2]))
    t.write_block(b"SECOND" * 100)
    t.close()
"""


def _start_holder(path, seconds):
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(path),
                             str(seconds)], env=ENV, stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_writer_fails_at_once_naming_the_holder(tmp_path):
    path = tmp_path / "lock.aws"
    make_tape(path, [b"BASE", None, None])
    holder = _start_holder(path, "release")
    try:
        proc = run_py(APPENDER, str(path), "0")
        assert proc.returncode != 0
        assert f"in use by process {holder.pid}" in proc.stderr
        with pytest.raises(InUseError) as exc:
            open_tape(path)            # readers wait for the writer too
        assert exc.value.pid == holder.pid
    finally:
        holder.stdin.write("go\n")
        holder.stdin.close()
        holder.wait(30)
    assert blocks_of(path) == [b"BASE", None, b"HOLDER" * 100, b"HOLDER-2" * 100, None, None]


def test_two_appends_at_once_one_waits_both_kept(tmp_path):
    path = tmp_path / "two.het"
    make_tape(path, [b"BASE", None, None], compress="zlib")
    holder = _start_holder(path, 1.0)
    t0 = time.monotonic()
    proc = run_py(APPENDER, str(path), "20")
    waited = time.monotonic() - t0
    assert holder.wait(30) == 0
    assert proc.returncode == 0, proc.stderr
    assert waited > 0.5
    assert blocks_of(path) == [b"BASE", None, b"HOLDER" * 100, b"HOLDER-2" * 100, None,
                               b"SECOND" * 100, None, None]


def test_cli_wait_option_waits_for_the_writer(tmp_path):
    path = tmp_path / "w.aws"
    make_tape(path, [b"BASE", None, None])
    # the holder keeps the tape until released, however slowly the CLI starts
    holder = _start_holder(path, "release")
    proc = cli("tape", "map", str(path))
    assert proc.returncode == 2 and f"in use by process {holder.pid}" in proc.stderr
    waiter = subprocess.Popen([sys.executable, "-m", "spoolkit", "tape", "map", str(path),
                               "--wait", "60"], env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    assert waiter.poll() is None, waiter.communicate()   # still waiting for the writer
    holder.stdin.write("go\n")
    holder.stdin.close()
    assert holder.wait(30) == 0
    out, err = waiter.communicate(timeout=60)
    proc = subprocess.CompletedProcess(waiter.args, waiter.returncode, out, err)
    assert proc.returncode == 0, proc.stderr
    assert "Blocks              : 2" in proc.stdout


def test_errors_format(tmp_path):
    """Every error raised above formats (str() names the file)."""
    path = tmp_path / "x.aws"
    path.write_bytes(_hdr(10, 0, 0xA0))
    with pytest.raises(SpoolkitError) as exc, open_tape(path) as t:
        t.read_block()
    assert str(path) in str(exc.value)
