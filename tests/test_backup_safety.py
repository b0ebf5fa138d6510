"""Spool archives that protect: wrong inputs named, appends after empty or
torn tape files, torn runs reported on load, catalog counts range-checked,
full file systems, minidisk archives finished at exit (issues 12.4, 13)."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import glob
import io
import os
import random
import struct
import subprocess
import warnings

import pytest
from test_dasd_faults import _fill
from test_dasd_faults import small_fs as mount_small_fs

from spoolkit import backup as B
from spoolkit import create_dasd
from spoolkit.backup.blocks import crc32c
from spoolkit.errors import ExistsError
from spoolkit.spool import SpoolFile, create_volume
from spoolkit.tape import open_tape

EXTENTS = [("SPOL", 1, 10), ("DRCT", 11, 11)]
T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.timezone.utc)


def spool_files(n, base=11, lines=300):
    """``n`` print files of incompressible lines (HET gains nothing)."""
    rnd = random.Random(base)
    return [SpoolFile(type="PRT", owner="MAINT", spoolid=base + i, fname=f"F{i}",
                      ftype="LISTING", class_="A", created=T0 + dt.timedelta(minutes=base + i),
                      records=[(0x09, rnd.randbytes(80)) for j in range(lines + 97 * i)])
            for i in range(n)]


def volume(path, files=()):
    with create_volume(path, "3390", volser="SPL001", extents=EXTENTS, cylinders=20) as vol:
        for sf in files:
            vol.add(sf)
    return path


def cli(*argv):
    """Run the CLI in this process: (returncode, stdout, stderr) as attributes."""
    from spoolkit.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main([str(a) for a in argv])
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 2
    return subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())


def spoolids(path):
    from spoolkit.spool import open_volume

    with open_volume(path) as vol:
        return sorted(sf.spoolid for sf in vol.files())


# -- issue 12.4: a tape without an archive is named -------------------------------
def _labelled(fixtures):
    return fixtures / "j90009.het", "IBM standard labels VOL1 J90009 and 3 data files"


def _inputs(tmp_path, fixtures):
    empty = tmp_path / "empty.aws"
    empty.write_bytes(b"")
    marks = tmp_path / "marks.aws"
    with open_tape(marks, "w") as t:
        t.tapemark()
        t.tapemark()
    return [
        (fixtures / "j90009.het", "no spoolkit spool archive on this tape (it holds IBM "
         "standard labels VOL1 J90009 and 3 data files)"),
        (fixtures / "hercules-tests" / "awsbsf.aws", "no spoolkit spool archive on this tape "
         "(it holds IBM standard labels VOL1"),
        (empty, "no spoolkit spool archive on this tape (it is empty)"),
        (marks, "no spoolkit spool archive on this tape (it holds only tapemarks)"),
        (fixtures / "vm50u1.cckd", "not a tape image (this is a compressed CKD disk image)"),
        (tmp_path / "adir", "is a directory, not a tape image"),
    ]


@pytest.mark.parametrize("verb", ["scan", "verify", "load"])
def test_verbs_name_a_tape_without_an_archive(tmp_path, fixtures, verb):
    (tmp_path / "adir").mkdir()
    dst = volume(tmp_path / "dst.3390")
    before = dst.read_bytes()
    for path, message in _inputs(tmp_path, fixtures):
        argv = ["spool", verb, path] + (["--to", dst] if verb == "load" else [])
        r = cli(*argv)
        assert r.returncode == 2, (path, r.stdout, r.stderr)
        assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith(f"spoolkit: error: {path}") and message in r.stderr, \
            r.stderr
        assert "Errors: 0" not in r.stdout
    assert dst.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["adir", "dst.3390", "empty.aws", "marks.aws"]


# -- issue 13: appends -----------------------------------------------------------
def _write_run(tape, files, source="SRC"):
    """One run on an open tape (as a dump writes it)."""
    from spoolkit.backup.writer import RunWriter

    w = RunWriter(tape, source)
    for f in files:
        w.add(f)
    w.finish()


@pytest.mark.parametrize("ext", ["aws", "het", "fkt"])
def test_append_keeps_a_tape_that_starts_with_an_empty_file(tmp_path, ext):
    src = volume(tmp_path / "src.3390", spool_files(3))
    tape = tmp_path / f"t.{ext}"
    from spoolkit.spool import open_volume

    with open_tape(tape, "w") as t, open_volume(src) as vol:
        t.tapemark()                          # an empty first tape file
        _write_run(t, B.VolumeSource(vol).archive_files())
    assert len(B.scan(tape).runs) == 1
    volume(tmp_path / "src2.3390", spool_files(2, base=40))
    r = cli("spool", "dump", tmp_path / "src2.3390", "--to", tape)
    assert r.returncode == 0, r.stderr
    res = B.scan(tape)
    assert [len(run.entries) for run in res.runs] == [3, 2] and all(x.whole for x in res.runs)
    assert not B.verify(tape).errors
    dst = volume(tmp_path / "dst.3390")
    r = cli("spool", "load", tape, "--to", dst, "--all-versions")
    assert r.returncode == 0, r.stdout + r.stderr
    assert spoolids(dst) == [11, 12, 13, 40, 41]


def _two_runs(tmp_path, ext):
    tape = tmp_path / f"a.{ext}"
    volume(tmp_path / "s1.3390", spool_files(3))
    volume(tmp_path / "s2.3390", spool_files(4, base=30))
    for s in ("s1", "s2"):
        r = cli("spool", "dump", tmp_path / f"{s}.3390", "--to", tape)
        assert r.returncode == 0, r.stderr
    return tape


@pytest.mark.parametrize("ext", ["aws", "het", "fkt"])
@pytest.mark.parametrize("cut", ["last-block", "catalog", "run-header", "catalog-tapemark"])
def test_append_after_a_torn_last_file(tmp_path, ext, cut):
    """A dump killed mid-write leaves a torn chunk at the end of the tape; the
    next append seals (or cuts off) the torn run and every run stays loadable."""
    tape = _two_runs(tmp_path, ext)
    res = B.scan(tape)
    second = res.runs[1]
    with open_tape(tape) as t:
        t.seek(second.start)
        offsets = [b.offset for b in t]
    if cut == "last-block":                  # into the last page block of the data file
        data_end = offsets[len(offsets) - 5]  # ... SPKP, TM, SPKC, TM, TM
        size = data_end - 3
        kept = [30, 31, 32]
    elif cut == "catalog":                   # into the catalog block
        size = offsets[-3] + 10
        kept = [30, 31, 32, 33]
    elif cut == "run-header":                # into the SPKR block of the second run
        size = second.start + 20
        kept = None
    else:                                    # before the catalog's tapemark: whole still
        size = offsets[-2]
        kept = [30, 31, 32, 33]
    with open(tape, "r+b") as f:
        f.truncate(size)
    volume(tmp_path / "s3.3390", spool_files(2, base=50))
    r = cli("spool", "dump", tmp_path / "s3.3390", "--to", tape)
    assert r.returncode == 0, r.stderr
    res = B.scan(tape)
    got = [[e.spoolid for e in run.entries] for run in res.runs]
    if kept is None:
        assert got == [[11, 12, 13], [50, 51]]
    elif cut == "catalog-tapemark":
        assert got == [[11, 12, 13], kept, [50, 51]] and all(x.whole for x in res.runs)
    else:
        assert got == [[11, 12, 13], kept, [50, 51]]
        assert res.runs[1].sealed and not res.runs[1].whole
        assert "SEALED" in cli("spool", "scan", tape).stdout
    assert all(x.complete for x in res.runs)
    v = B.verify(tape)
    assert not v.errors, [x.text() for x in v.errors]
    dst = volume(tmp_path / "dst.3390")
    r = cli("spool", "load", tape, "--to", dst, "--all-versions")
    assert r.returncode == 0, r.stdout + r.stderr
    assert spoolids(dst) == sorted([11, 12, 13] + (kept or []) + [50, 51])
    # the latest state is the newest whole run
    assert [e.spoolid for e in res.latest()] == [50, 51]


def test_load_of_a_torn_run_with_a_damaged_block_reports_it(tmp_path):
    tape = _two_runs(tmp_path, "aws")
    res = B.scan(tape)
    second = res.runs[1]
    with open(tape, "r+b") as f:
        f.truncate(os.path.getsize(tape) - 200)       # the catalog file is torn
    bad = second.entries[1]
    data = bytearray(tape.read_bytes())
    data[bad.offset + 6 + 4148 + 6 + 300] ^= 0x55    # inside its first page block
    tape.write_bytes(bytes(data))
    dst = volume(tmp_path / "dst.3390")
    r = cli("spool", "load", tape, "--to", dst, "--all-versions")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Errors: 0" not in r.stdout
    errors = [line for line in r.stdout.splitlines() if " ERROR " in line]
    assert any(f"block {bad.block + 1} at offset" in e and f"MAINT {bad.spoolid}" in e
               for e in errors), r.stdout
    # the intact files of the torn run were loaded, the damaged one was not
    assert spoolids(dst) == [11, 12, 13, 30, 32, 33]
    r = cli("spool", "verify", tape)
    assert r.returncode == 1 and f"block {bad.block + 1} at offset" in r.stdout


def _patch_catalog(tape, run, field_offset, fmt, value, entry=None):
    """Rewrite a field of the run's first catalog block and its CRC (an
    archive whose counts lie but whose checksums hold)."""
    with open_tape(tape) as t:
        t.seek(run.catalog_at)
        blk = t.read_block()
    assert blk.method == 0
    off = blk.offset + 6                               # AWS: one chunk, 6-byte header
    data = bytearray(tape.read_bytes())
    body = data[off:off + len(blk.data)]
    pos = field_offset if entry is None else 48 + 128 * entry + field_offset
    struct.pack_into(fmt, body, pos, value)
    struct.pack_into(">I", body, len(body) - 4, crc32c(bytes(body[:-4])))
    data[off:off + len(body)] = body
    tape.write_bytes(bytes(data))


@pytest.mark.parametrize("what", ["entry-pages", "entry-block", "data-blocks", "total-pages"])
def test_verify_range_checks_catalog_counts(tmp_path, what):
    tape = _two_runs(tmp_path, "aws")
    run = B.scan(tape).runs[0]
    if what == "entry-pages":
        _patch_catalog(tape, run, 24, ">I", 0xFFFFFFFF, entry=1)
    elif what == "entry-block":
        _patch_catalog(tape, run, 96, ">I", 0xFFFFFFF0, entry=1)
    elif what == "data-blocks":
        _patch_catalog(tape, run, 24, ">Q", 1 << 62)
    else:
        _patch_catalog(tape, run, 32, ">Q", 0xFFFFFFFF)
    r = cli("spool", "verify", tape)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "4294967295" not in r.stdout.split("Files:")[-1]
    assert "catalog" in r.stdout and "ERROR" in r.stdout
    # the entry that lies is never loaded as it claims; the second run still loads
    res = B.scan(tape)
    assert not res.runs[0].complete and res.runs[1].whole
    assert all(e.pages < 1000 for e in res.entries)


def test_verify_compares_entry_counts_with_the_header_block(tmp_path):
    """A catalog entry whose pages disagree with its file's header block (the
    block counts still fit) is an error."""
    tape = _two_runs(tmp_path, "aws")
    run = B.scan(tape).runs[0]
    e = run.entries[0]
    # one page fewer in the entry and in the block's total: the sums still agree
    _patch_catalog(tape, run, 24, ">I", e.pages - 1, entry=0)
    run = B.scan(tape).runs[0]
    _patch_catalog(tape, run, 32, ">Q", sum(x.pages for x in run.entries) - 1)
    v = B.verify(tape)
    assert [(x.owner, x.spoolid) for x in v.errors] == [("MAINT", e.spoolid)]
    assert "the catalog says" in v.errors[0].message


# -- full file system ------------------------------------------------------------
@pytest.fixture
def small_fs(tmp_path):
    """A 20 MiB tmpfs (skipped where it cannot be mounted)."""
    with mount_small_fs(tmp_path / "mnt") as mnt:
        yield mnt


@pytest.mark.parametrize("ext", ["aws", "het", "fkt"])
def test_dump_on_a_full_file_system(tmp_path, small_fs, ext):
    src = volume(tmp_path / "src.3390", spool_files(12, lines=900))
    tape = small_fs / f"x.{ext}"
    _fill(small_fs, 200_000)
    r = cli("spool", "dump", src, "--to", tape, *(["--compress", "zlib"] if ext == "het" else []))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1
    assert "the file system is full" in r.stderr and str(tape) in r.stderr, r.stderr
    assert sorted(os.listdir(small_fs)) == ["filler"]
    # an append that runs out of room leaves the tape as it was
    os.unlink(small_fs / "filler")
    small = volume(tmp_path / "small.3390", spool_files(1))
    assert cli("spool", "dump", small, "--to", tape).returncode == 0
    before = tape.read_bytes()
    _fill(small_fs, 150_000)
    r = cli("spool", "dump", src, "--to", tape)
    assert r.returncode == 2 and "the file system is full" in r.stderr, r.stderr
    assert tape.read_bytes() == before
    assert sorted(os.listdir(small_fs)) == ["filler", tape.name]
    assert len(B.scan(tape).runs) == 1 and not B.verify(tape).errors


# -- minidisk archives -------------------------------------------------------------
def test_minidisk_archive_left_open_is_committed_at_gc(tmp_path):
    from spoolkit import open_dasd
    from spoolkit.backup.minidisk import MinidiskTape

    vol = tmp_path / "v.3390"
    create_dasd(vol, "3390", volser="ARCH01", cylinders=4).close()
    src = volume(tmp_path / "src.3390", spool_files(3))
    from spoolkit.spool import open_volume

    dev = open_dasd(vol, "r+")
    tape = MinidiskTape(dev, 1, 3, "w")
    with open_volume(src) as v:
        _write_run(tape, B.VolumeSource(v).archive_files())
    tape.tapemark()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del tape
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    dev.close()
    assert [e.spoolid for e in B.scan(f"{vol}@1-3").entries] == [11, 12, 13]


def test_minidisk_exception_mid_dump_keeps_earlier_runs(tmp_path):
    vol = tmp_path / "v.3390"
    create_dasd(vol, "3390", volser="ARCH01", cylinders=4).close()
    target = f"{vol}@1-3"
    B.dump(volume(tmp_path / "a.3390", spool_files(2)), target)

    def boom(n):
        if n >= 3:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        B.dump(volume(tmp_path / "b.3390", spool_files(3, base=40)), target, on_block=boom)
    assert [e.spoolid for e in B.scan(target).entries] == [11, 12]
    assert not B.verify(target).errors
    # replacing the archive needs overwrite: the old one is not emptied by mistake
    with pytest.raises(ExistsError):
        B.dump(tmp_path / "b.3390", target, append=False)
    assert [e.spoolid for e in B.scan(target).entries] == [11, 12]
    B.dump(tmp_path / "b.3390", target, append=False, overwrite=True)
    assert [e.spoolid for e in B.scan(target).entries] == [40, 41, 42]


def test_new_over_an_existing_tape_needs_force(tmp_path):
    tape = _two_runs(tmp_path, "aws")
    before = tape.read_bytes()
    r = cli("spool", "dump", tmp_path / "s1.3390", "--to", tape, "--new")
    assert r.returncode == 2 and "holds an archive already" in r.stderr
    assert tape.read_bytes() == before
    r = cli("spool", "dump", tmp_path / "s1.3390", "--to", tape, "--new", "--force")
    assert r.returncode == 0, r.stderr
    assert len(B.scan(tape).runs) == 1


def test_stale_tape_temps_of_a_killed_new_dump_are_removed(tmp_path):
    """What a killed new-tape dump leaves (its locked temp's lock gone with it)
    is removed by the next dump to that name."""
    tape = tmp_path / "n.aws"
    stale = [tmp_path / ".n.aws.spk-0badc0de.tmp", tmp_path / ".n.aws.spk-0badc0de.tmp.tape",
             tmp_path / "..n.aws.spk-0badc0de.tmp.tape.x1y2z3.tmp"]
    for p in stale:
        p.write_bytes(b"junk")
    src = volume(tmp_path / "src.3390", spool_files(1))
    r = cli("spool", "dump", src, "--to", tape)
    assert r.returncode == 0, r.stderr
    assert sorted(os.listdir(tmp_path)) == ["n.aws", "src.3390"]
    with contextlib.suppress(Exception):
        assert not glob.glob(str(tmp_path / ".*"))


def test_volume_target_left_open_is_closed_at_gc(tmp_path):
    tape = _two_runs(tmp_path, "aws")
    dst = volume(tmp_path / "dst.3390")
    from spoolkit.backup.target import open_target_volume

    tgt = open_target_volume(str(dst))
    log = B.load(tape, tgt)
    assert not log.errors and not tgt.closed
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del tgt
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    assert spoolids(dst) == [30, 31, 32, 33]


def test_append_refuses_to_cut_off_what_it_cannot_read(tmp_path):
    """A damaged run header in the middle, or a torn foreign last file: the
    append is refused and the tape left as it was."""
    tape = _two_runs(tmp_path, "aws")
    second = B.scan(tape).runs[1]
    data = bytearray(tape.read_bytes())
    data[second.start + 6 + 20] ^= 0x01              # inside the SPKR: its CRC fails
    tape.write_bytes(bytes(data))
    src = tmp_path / "s1.3390"
    r = cli("spool", "dump", src, "--to", tape)
    assert r.returncode == 2 and "SPKR block CRC-32C" in r.stderr, r.stderr
    assert tape.read_bytes() == bytes(data)
    foreign = tmp_path / "foreign.aws"
    with open_tape(foreign, "w") as t:
        t.write_block(b"\x01" * 900)
        t.tapemark()
        t.write_block(b"\x02" * 900)
    raw = foreign.read_bytes()
    end = raw.rindex(b"\x02" * 900) + 900             # the second file's block, no tapemark
    foreign.write_bytes(raw[:end - 100])
    before = foreign.read_bytes()
    r = cli("spool", "dump", src, "--to", foreign)
    assert r.returncode == 2 and "appending would cut it off" in r.stderr, r.stderr
    assert foreign.read_bytes() == before
