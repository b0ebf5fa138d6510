"""DUMP / LOAD / SCAN / VERIFY / WATCH on the archive layer, with spool-side
test doubles (tests/backup_fakes.py) and an in-memory tape."""

import json
import os
import random
import signal
import threading
import time

import pytest
from backup_fakes import FakeSource, FakeTarget, make_file
from hypothesis import given, settings
from hypothesis import strategies as st
from memtape import MemTape

from spoolkit import backup as B
from spoolkit.errors import NoSpaceError


def files(n, seed=0, start=1):
    rnd = random.Random(seed)
    return [make_file(i, rnd.randrange(0, 35), owner=rnd.choice(["MAINT", "OP", "USER1"]),
                      seed=seed, kind=rnd.choice(["RDR", "PRT", "PUN", "NSS"]),
                      klass=rnd.choice("ABZ")) for i in range(start, start + n)]


def assert_loaded(target, expected):
    assert sorted(target.files) == sorted((f.entry.owner, f.entry.spoolid) for f, _ in expected)
    for f, pages in expected:
        fh, data = target.files[(f.entry.owner, f.entry.spoolid)]
        assert data == pages
        assert fh.header_page == f.header_page
        assert fh.identity == f.entry.identity and fh.records == f.entry.records


@given(st.integers(0, 10_000), st.integers(0, 12))
@settings(max_examples=25, deadline=None)
def test_dump_load_round_trip(seed, n):
    fs = files(n, seed)
    tape = MemTape()
    log = B.dump(FakeSource(fs), tape)
    assert log.files == n and log.pages == sum(f.entry.pages for f, _ in fs)
    target = FakeTarget()
    B.load(tape, target)
    assert_loaded(target, fs)
    assert not B.verify(tape).errors


def test_selection_and_new_spoolids():
    fs = files(10, 3)
    tape = MemTape()
    B.dump(FakeSource(fs), tape, select=lambda e: e.kind != "NSS")
    dumped = [f for f in fs if f[0].entry.kind != "NSS"]
    assert [e.spoolid for e in B.scan(tape).entries] == [f.entry.spoolid for f, _ in dumped]
    target = FakeTarget()
    log = B.load(tape, target, select=lambda e: e.owner == "OP", spoolid="new")
    ops = [f for f in dumped if f[0].entry.owner == "OP"]
    assert [x.new_spoolid for x in log.lines] == list(range(1000, 1000 + len(ops)))
    assert all(k[1] >= 1000 for k in target.files)


def test_incremental_chain_restores_latest_state():
    fs = files(6, 1)
    src = FakeSource(fs)
    a1, a2, a3 = MemTape(), MemTape(), MemTape()
    B.dump(src, a1)
    # change file 2, purge file 3, add file 7
    changed = make_file(2, 5, owner=fs[1][0].entry.owner, seed=99, created=42)
    src.files[1] = changed
    del src.files[2]
    src.files.append(make_file(7, 3))
    log2 = B.dump(src, a2, incremental=[a1])
    assert [x.result for x in log2.lines].count("DUMPED") == 2
    assert log2.pages == 5 + 3
    src.files.append(make_file(8, 1))
    log3 = B.dump(src, a3, incremental=[a1, a2])
    assert [x.spoolid for x in log3.lines if x.result == "DUMPED"] == [8]
    target = FakeTarget()
    B.load([a1, a2, a3], target)
    assert_loaded(target, src.files)
    # all versions on request
    everything = FakeTarget()
    B.load([a1, a2, a3], everything, state="all")
    # every version: the 6 first files (file 3, purged later, too), the new
    # version of file 2 (same owner and spool ID: it replaces the old here), 7, 8
    assert len(everything.files) == 8
    assert (fs[2][0].entry.owner, 3) in everything.files


def test_killed_append_keeps_earlier_runs():
    fs = files(8, 5)
    probe = MemTape()
    B.dump(FakeSource(fs[3:]), probe)
    blocks = probe.writes - 3                 # blocks, not the three tapemarks
    for kill in sorted({1, 2, blocks // 3, blocks // 2, blocks - 2, blocks - 1}):
        tape = MemTape()
        B.dump(FakeSource(fs[:3]), tape)
        before = [b.data for b in tape.blocks]

        def boom(n, kill=kill):
            if n >= kill:
                raise RuntimeError("kill")

        with pytest.raises(RuntimeError):
            B.dump(FakeSource(fs[3:]), tape, on_block=boom)
        res = B.scan(tape)
        assert res.runs[0].complete and len(res.runs[0].entries) == 3
        assert [b.data for b in tape.blocks[:len(before) - 1]] == before[:-1]
        if len(res.runs) > 1:                        # the torn run: a prefix, recovered
            torn = res.runs[1]
            assert not torn.complete
            target = FakeTarget()
            B.load(tape, target, state="all")
            done = {e.spoolid for e in torn.entries}
            assert_loaded(target, fs[:3] + [f for f in fs[3:] if f[0].entry.spoolid in done])


def test_load_into_full_target_stops_cleanly():
    fs = [make_file(i, 10) for i in range(1, 6)]
    tape = MemTape()
    B.dump(FakeSource(fs), tape)
    target = FakeTarget(max_pages=25)
    with pytest.raises(NoSpaceError):
        B.load(tape, target)
    assert_loaded(target, fs[:2])
    assert target.used == 20


def test_corrupt_block_reported_rest_loaded(tmp_path):
    fs = [make_file(i, 20) for i in range(1, 5)]
    tape = MemTape()
    B.dump(FakeSource(fs), tape)
    entries = B.scan(tape).entries
    bad = tape.blocks[entries[1].block + 1]          # file 2's first page block
    bad.data = bad.data[:99] + bytes([bad.data[99] ^ 0x20]) + bad.data[100:]
    target = FakeTarget()
    log = B.load(tape, target, log=tmp_path / "load.log", json_log=tmp_path / "load.json")
    assert [x.result for x in log.lines] == ["LOADED", "ERROR", "LOADED", "LOADED"]
    assert "block %d" % (entries[1].block + 1) in log.lines[1].message
    assert_loaded(target, [fs[0], fs[2], fs[3]])
    text = (tmp_path / "load.log").read_text()
    assert "ERROR" in text and "Files: 3" in text
    summary = json.loads((tmp_path / "load.json").read_text())
    assert summary["files"] == 3 and summary["errors"] == 1
    v = B.verify(tape)
    assert [x.spoolid for x in v.errors] == [2]


def test_run_log_lines(tmp_path):
    fs = [make_file(i, i, owner="OPERATOR") for i in (1, 12)]
    log = B.dump(FakeSource(fs), MemTape(), log=tmp_path / "d.log")
    lines = (tmp_path / "d.log").read_text().splitlines()
    assert lines[2].split() == ["OPERATOR", "0001", "RDR", "A", "10", "1", "DUMPED"]
    assert lines[3].split() == ["OPERATOR", "0012", "RDR", "A", "120", "12", "DUMPED"]
    assert lines[-1].startswith("Files: 2  Pages: 13  Bytes: 53248  Errors: 0  Elapsed: ")
    assert log.to_dict()["bytes"] == 13 * 4096


class Watched:
    """A FakeSource whose 'volume file' is touched on every change."""

    def __init__(self, path, fs):
        self.path = path
        self.src = FakeSource(fs)
        path.write_bytes(b"0")

    def change(self, f):
        self.src.files.append(f)
        with open(self.path, "ab") as fh:
            fh.write(b"x")


def _runs(tape):
    """The runs on ``tape``; an empty tape is not an archive yet."""
    try:
        return B.scan(tape).runs
    except B.NotAnArchiveError:
        return []


def test_watch_appends_changes_within_a_second(tmp_path):
    vol = Watched(tmp_path / "vol.img", files(3, 2))
    tape = MemTape()
    stop = threading.Event()
    runs = []
    t = threading.Thread(target=lambda: runs.append(B.watch(
        str(vol.path), tape, stop=stop, interval=0.05, open_source=lambda: vol.src,
        signals=False)))
    t.start()
    try:
        deadline = time.monotonic() + 5
        while not _runs(MemTapeView(tape)) and time.monotonic() < deadline:
            time.sleep(0.02)
        new = make_file(50, 4)
        t0 = time.monotonic()
        vol.change(new)
        while time.monotonic() - t0 < 3:
            res = B.scan(MemTapeView(tape))
            if any(e.spoolid == 50 for e in res.entries):
                break
            time.sleep(0.02)
        assert time.monotonic() - t0 < 1.0
    finally:
        stop.set()
        t.join(5)
    assert runs == [2]
    target = FakeTarget()
    B.load(MemTapeView(tape), target)
    assert_loaded(target, vol.src.files)


class MemTapeView(MemTape):
    """A second reader on the same blocks (the watcher keeps writing)."""

    def __init__(self, tape):
        super().__init__()
        self.blocks = list(tape.blocks)


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs POSIX signals")
def test_watch_stops_on_sigterm(tmp_path):
    vol = Watched(tmp_path / "vol.img", files(2, 4))
    tape = MemTape()
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    t0 = time.monotonic()
    n = B.watch(str(vol.path), tape, interval=0.05, open_source=lambda: vol.src)
    assert time.monotonic() - t0 < 3 and n == 1
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    res = B.scan(tape)
    assert len(res.runs) == 1 and res.runs[0].complete


@pytest.mark.parametrize("kill_at", ["data", "catalog"])
def test_append_after_a_run_cut_short(kill_at):
    """A kill that left a torn run (no truncate-back, e.g. SIGKILL): the next
    append seals it (its whole files get a catalog) and stays reachable."""
    fs = files(6, 8)
    tape = MemTape()
    B.dump(FakeSource(fs[:2]), tape)
    probe = MemTape()
    B.dump(FakeSource(fs[2:5]), probe)
    catalog_block = probe.writes - 4                 # index of the SPKC write in the run
    kill = catalog_block + 0 if kill_at == "catalog" else 3

    def boom(n):
        if n >= kill:
            raise RuntimeError("kill")

    with pytest.raises(RuntimeError):
        B.dump(FakeSource(fs[2:5]), tape, on_block=boom)
    if kill_at == "catalog":                          # a partial catalog file
        tape.write_block(tape.blocks[-1].data[:0] + b"\x00" * 10)
    torn = B.scan(tape).runs[-1]
    assert not torn.complete
    kept = [e.spoolid for e in torn.entries]
    B.dump(FakeSource(fs[5:]), tape)
    res = B.scan(tape)
    assert [r.complete for r in res.runs] == [True, True, True]
    assert [[e.spoolid for e in r.entries] for r in res.runs] == [[1, 2], kept, [6]]
    target = FakeTarget()
    B.load(tape, target, state="all")
    assert_loaded(target, fs[:2] + [f for f in fs if f[0].entry.spoolid in kept] + fs[5:])
