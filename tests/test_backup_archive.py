"""Spool archive blocks and the archive layer on a tape: runs, catalogs,
seeking, recovery of a run cut short, corruption, incremental chains."""

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from memtape import MemTape

from spoolkit.backup import blocks as A
from spoolkit.backup.catalog import read_runs, resolve_latest
from spoolkit.backup.reader import read_file
from spoolkit.backup.writer import ArchiveFile, RunWriter
from spoolkit.errors import ChecksumError, FormatError, SpoolkitError, TruncatedError


def make_file(spoolid, npages, owner="MAINT", seed=0, created=None):
    rnd = random.Random(seed * 7919 + spoolid)
    pages = rnd.randbytes(npages * A.PAGE_SIZE)
    header = rnd.randbytes(A.PAGE_SIZE)
    crc = A.crc32c(pages)
    e = A.CatalogEntry(0, spoolid, owner, "RDR", "A", npages, npages * 10,
                       created if created is not None else 1_700_000_000_000_000 + spoolid,
                       crc, fname=f"F{spoolid}", ftype="DATA")
    # pages are handed over in uneven pieces, as a chain walk might yield them
    cuts = sorted({0, npages, *(rnd.randrange(npages + 1) for _ in range(3))})
    pieces = [pages[a * A.PAGE_SIZE:b * A.PAGE_SIZE] for a, b in zip(cuts, cuts[1:])]
    return ArchiveFile(e, header, lambda: iter(pieces)), pages


def write_run(tape, files, source="TEST01", refs=()):
    w = RunWriter(tape, source)
    for f in files:
        w.add(f)
    for r in refs:
        w.add_ref(r)
    return w.finish()


def test_block_round_trips():
    h = A.FileHeader(3, 20, 200, 17, "OPERATOR", 123456789, 0xCAFEBABE, bytes(range(256)) * 16)
    assert A.FileHeader.decode(h.encode()) == h
    r = A.RunHeader(5, 6, "vol SPOOL1")
    assert A.RunHeader.decode(r.encode()) == r
    pages = os.urandom(3 * 4096)
    assert A.decode_pages(A.encode_pages(9, 30, pages))[:2] == (9, 30)
    assert bytes(A.decode_pages(A.encode_pages(9, 30, pages))[2]) == pages
    assert len(A.encode_pages(0, 0, bytes(15 * 4096))) <= 65535   # fits FakeTape
    with pytest.raises(FormatError):
        A.encode_pages(0, 0, bytes(16 * 4096))
    assert A.crc32c(b"123456789") == 0xE3069283                # the CRC-32C check value


names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789$#@", max_size=8)


@given(st.builds(A.CatalogEntry, fileseq=st.integers(0, 2**32 - 1),
                 spoolid=st.integers(0, 9999), owner=names, kind=names,
                 klass=st.sampled_from("ABCZ019*"), pages=st.integers(0, 2**32 - 1),
                 records=st.integers(0, 2**32 - 1), created=st.integers(0, 2**64 - 1),
                 crc=st.integers(0, 2**32 - 1), block=st.integers(0, 2**32 - 1),
                 offset=st.integers(0, 2**64 - 1), flags=st.integers(0, 1),
                 hold=st.sampled_from([0, 0x40, 0x80]), copies=st.integers(0, 255),
                 fname=names, ftype=names, form=names, dest=names, dist=names, node=names,
                 record_length=st.integers(0, 65535)))
@settings(max_examples=100, deadline=None)
def test_catalog_entry_round_trip(e):
    assert A.CatalogEntry.decode(e.encode()) == e


def test_catalog_spans_blocks():
    entries = [A.CatalogEntry(i, i % 9999, "U%d" % i, "PRT", pages=2) for i in range(1000)]
    blocks = A.encode_catalog(42, 7, entries)
    assert len(blocks) == 3 and all(len(b) <= 65535 for b in blocks)
    got = []
    for b in blocks:
        info, part = A.decode_catalog_block(b)
        got += part
    assert info["last"] and info["total"] == 1000 and info["pages"] == 2000
    assert got == entries


def test_run_round_trip_and_seek():
    tape = MemTape()
    files = [make_file(i, n) for i, n in enumerate([1, 15, 16, 31, 0, 44], start=1)]
    entries = write_run(tape, [f for f, _ in files])
    assert [e.block for e in entries] == [1, 3, 5, 8, 12, 13]
    runs = read_runs(tape, "mem")
    assert len(runs) == 1 and runs[0].complete and runs[0].header.source == "TEST01"
    assert [e.spoolid for e in runs[0].entries] == [1, 2, 3, 4, 5, 6]
    for (f, pages), e in zip(reversed(files), reversed(runs[0].entries)):
        fh, blocks = read_file(tape, e, "mem")
        assert fh.header_page == f.header_page
        assert b"".join(bytes(b) for b in blocks) == pages
        assert fh.identity == e.identity == f.entry.identity


def test_appended_runs_and_labels_are_found():
    tape = MemTape()
    tape.write_block("VOL1SPOOL1".encode("cp037").ljust(80, b"\x40"))
    tape.tapemark()
    write_run(tape, [make_file(1, 2)[0]], "first")
    write_run(tape, [make_file(2, 3)[0], make_file(3, 1)[0]], "second")
    tape.tapemark()
    runs = read_runs(tape)
    assert [r.header.source for r in runs] == ["first", "second"]
    assert [[e.spoolid for e in r.entries] for r in runs] == [[1], [2, 3]]
    assert [r.file_number for r in runs] == [1, 3]


def test_selective_read_touches_a_tiny_part():
    tape = MemTape()
    files = [make_file(i, 60)[0] for i in range(1, 41)]          # 2400 pages, ~10 MB
    write_run(tape, files)
    total = tape.size
    tape.bytes_read = 0
    runs = read_runs(tape)
    e = runs[0].entries[17]
    fh, blocks = read_file(tape, e)
    data = b"".join(bytes(b) for b in blocks)
    assert len(data) == 60 * 4096
    # the catalog plus one 60-page file: under 4 % of this small tape; the share
    # shrinks with the tape (the catalog is 128 bytes per file)
    assert tape.bytes_read < 0.04 * total
    catalog_only = tape.bytes_read - (60 * 4096 + 4096)
    assert catalog_only < 0.01 * total


@pytest.mark.parametrize("seed", range(8))
def test_killed_dump_leaves_finished_files(seed):
    rnd = random.Random(seed)
    files = [make_file(i, rnd.randrange(0, 40), seed=seed) for i in range(1, 9)]
    clean = MemTape()
    write_run(clean, [f for f, _ in files])
    kill = rnd.randrange(1, clean.writes)
    tape = MemTape(fail_at=kill)
    with pytest.raises(RuntimeError):
        write_run(tape, [f for f, _ in files])
    runs = read_runs(tape)
    assert len(runs) == 1
    run = runs[0]
    assert not run.complete or kill >= clean.writes - 1
    # every recovered file is whole and equal; the files are a prefix
    assert [e.spoolid for e in run.entries] == list(range(1, len(run.entries) + 1))
    for e in run.entries:
        fh, blocks = read_file(tape, e)
        assert b"".join(bytes(b) for b in blocks) == files[e.spoolid - 1][1]
    # each file whose last block was written before the kill is recovered
    finished = [e for e in read_runs(clean)[0].entries
                if e.block + -(-e.pages // 15) < kill]
    assert len(run.entries) >= len(finished)


def test_corrupt_page_block_names_file_and_block():
    tape = MemTape()
    write_run(tape, [make_file(i, 20)[0] for i in (1, 2, 3)])
    blk = tape.blocks[5]                 # file 2's second page block
    data = bytearray(blk.data)
    data[100] ^= 0x01
    blk.data = bytes(data)
    entries = read_runs(tape)[0].entries
    fh, blocks = read_file(tape, entries[1], "t.aws")
    with pytest.raises(ChecksumError) as ei:
        list(blocks)
    assert ei.value.block == 5 and ei.value.path == "t.aws" and "CRC-32C" in str(ei.value)
    # the files after it are still readable
    fh, blocks = read_file(tape, entries[2])
    assert sum(len(b) for b in blocks) == 20 * 4096


def test_truncated_catalog_is_recovered():
    tape = MemTape()
    write_run(tape, [make_file(i, 3)[0] for i in (1, 2)])
    del tape.blocks[-2:]                 # lose the catalog block and its tapemark
    run = read_runs(tape)[0]
    assert not run.complete and "catalog" in run.problem
    assert [e.spoolid for e in run.entries] == [1, 2]


def test_incremental_chain_resolves_latest():
    tape = MemTape()
    f1, f2, f3 = (make_file(i, 2)[0] for i in (1, 2, 3))
    write_run(tape, [f1, f2, f3], "full")
    f2b = make_file(2, 4, seed=1, created=5)[0]           # file 2 changed
    f4 = make_file(4, 1)[0]                                # new file
    refs = [A.CatalogEntry(0, f1.entry.spoolid, f1.entry.owner, "RDR", pages=2,
                           created=f1.entry.created, crc=f1.entry.crc)]   # 3 was purged
    write_run(tape, [f2b, f4], "incr", refs=refs)
    runs = read_runs(tape)
    latest = resolve_latest(runs)
    assert sorted((e.spoolid, e.run_id) for e in latest) == [
        (1, runs[0].header.run_id), (2, runs[1].header.run_id), (4, runs[1].header.run_id)]
    fh, blocks = read_file(tape, next(e for e in latest if e.spoolid == 2))
    assert fh.pages == 4
    # a chain missing its base cannot resolve the reference
    with pytest.raises(FormatError):
        resolve_latest(runs[1:])


@pytest.mark.fuzz
@given(st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_blocks_give_typed_errors(data):
    f, _ = make_file(1, 2)
    blocks = [A.RunHeader(1, 2, "x").encode(),
              A.FileHeader(0, 2, 3, 1, "A", 1, 2, f.header_page).encode(),
              A.encode_pages(0, 0, bytes(2 * 4096)),
              A.encode_catalog(1, 4, [f.entry])[0]]
    decoders = [A.RunHeader.decode, A.FileHeader.decode, A.decode_pages,
                A.decode_catalog_block]
    i = data.draw(st.integers(0, 3))
    b = bytearray(blocks[i])
    kind = data.draw(st.sampled_from(["flip", "cut", "grow"]))
    if kind == "flip":
        pos = data.draw(st.integers(0, len(b) - 1))
        b[pos] ^= data.draw(st.integers(1, 255))
    elif kind == "cut":
        del b[data.draw(st.integers(0, len(b) - 1)):]
    else:
        b += data.draw(st.binary(min_size=1, max_size=64))
    with pytest.raises(SpoolkitError) as ei:
        decoders[i](b)
    assert isinstance(ei.value, (FormatError, TruncatedError))
