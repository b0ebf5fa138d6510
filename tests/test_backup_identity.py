"""DUMP writes the same archive bytes whichever encoder runs: the SHA-256 of
deterministic dumps (captured from the pure-Python block encoder before the C
encoder existed) and a byte-for-byte comparison with that Python encoder,
kept here as the reference."""

from __future__ import annotations

import hashlib
import random
import threading
import types

import pytest
from archive_golden import TARGETS, PiecesSource, dump_bytes, make_volume, volume_source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoolkit import create_dasd, open_dasd
from spoolkit.backup import blocks as A
from spoolkit.backup import dump, verify, writer
from spoolkit.backup.catalog import read_runs
from spoolkit.backup.reader import read_file
from spoolkit.backup.writer import ArchiveFile, RunWriter
from spoolkit.tape import open_tape

#: captured with ``python tests/archive_golden.py`` on the pure-Python encoder; the
#: zlib HET digest also pins the vendored compressor's exact output (its tables and
#: version), so changing the compressor changes that one digest
GOLDEN = {
    "volume-aws": "c8c4fac2c1bf33c3b68b82b1ff920a758d18119abbb4e8417fe037c19a1bc487",
    "pieces-aws": "921a948a303b698f21f890c6b2e70f82a7c8b8e0597496f72ea658c6dd1c5a49",
    "volume-aws4k": "a8bfb8f196475a7abfa8bce36efee3da541955167011f26da3c3770c7c12646c",
    "pieces-aws4k": "840e4e6cd9cc6bdfe4a49503d3981f91b5559dd36697f938010e6601481b41b9",
    "volume-het": "6e9c7d400bed9fc6d54dd6116ed4c075363bfae8034717e94f3528d523f611d8",
    "pieces-het": "15114e7d0906d1c239c7448548cdc7a95a7138cfa65b86477eb0078267ef2476",
    "volume-hetbz": "5645d86be24de55fa2ad584cff846f871542488dabefc8547d056aa8b0c6a77b",
    "pieces-hetbz": "f9c6a9ffe33c50c9314c65f983e76f2c9db750d781e443f7b9062ff64f511a3d",
    "volume-fkt": "73ae142a380fa412311fb4fc48a0320cef1b039f7dc8d10c40f5ddf7d0add3e9",
    "pieces-fkt": "b5084c268aafaa125c4e1d7c244bcd47befb02b22f5d835c8fa32dcb7f9b20e0",
    "volume-mdisk": "f2dd5100324512559e26532ecb2ccc42a08ac471f29f8defa5f2c222edb4ef98",
    "pieces-mdisk": "cdf5f63f1f1732381630052ed54f9e3437c46b55e34997b2f693d53297f082cb",
}


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    return make_volume(tmp_path_factory.mktemp("golden") / "src.3390")


@pytest.mark.parametrize("target", list(TARGETS))
@pytest.mark.parametrize("label", ["volume", "pieces"])
def test_dump_matches_golden(tmp_path, volume, label, target):
    src = volume_source(volume) if label == "volume" else PiecesSource()
    try:
        data = dump_bytes(src, tmp_path, target)
    finally:
        if hasattr(src, "close"):
            src.close()
    assert hashlib.sha256(data).hexdigest() == GOLDEN[f"{label}-{target}"]


# -- the pure-Python encoder as the reference ------------------------------------------
def reference_run(tape, files, source, run_id):
    """One run written block by block with archive.py's encoders, as DUMP wrote
    it before the blocks were framed in C."""
    tape.write_block(A.RunHeader(run_id, run_id, source).encode())
    blocks, entries = 1, []
    for seq, f in enumerate(files):
        e = f.entry
        e.fileseq, e.block, e.offset, e.flags = seq, blocks, tape.tell(), 0
        tape.write_block(A.FileHeader(seq, e.pages, e.records, e.spoolid, e.owner, e.created,
                                      e.crc, f.header_page).encode())
        blocks += 1
        data = b"".join(bytes(memoryview(b).cast("B")) for b in f.pages())
        step = A.PAGES_PER_BLOCK * A.PAGE_SIZE
        for i in range(0, len(data), step):
            tape.write_block(A.encode_pages(seq, i // A.PAGE_SIZE, data[i:i + step]))
            blocks += 1
        entries.append(e)
    tape.tapemark()
    for b in A.encode_catalog(run_id, blocks, entries):
        tape.write_block(b)
    tape.tapemark()
    return entries


def _files_from(sizes, cuts_seed):
    rnd = random.Random(cuts_seed)
    files = []
    for i, n in enumerate(sizes):
        pages = b"".join(rnd.randbytes(A.PAGE_SIZE) if rnd.random() < 0.5 else
                         bytes([i]) * A.PAGE_SIZE for _ in range(n))
        # uneven cuts, not always on page boundaries
        cuts = sorted({0, len(pages), *(rnd.randrange(len(pages) + 1) for _ in range(3))})
        kinds = (bytes, bytearray, memoryview)
        pieces = [kinds[j % 3](pages[a:b]) for j, (a, b) in enumerate(zip(cuts, cuts[1:]))]
        e = A.CatalogEntry(0, 300 + i, "U%d" % i, "PUN", "B", n, n, 1_700_000_000 + i,
                           A.crc32c(pages), fname="X%d" % i)
        files.append(ArchiveFile(e, rnd.randbytes(A.PAGE_SIZE), lambda p=pieces: iter(p)))
    return files


def _write(path, files, fast, **kw):
    with open_tape(path, "w", overwrite=True, **kw) as t:
        if fast:
            w = RunWriter(t, "REF", run_id=77)
            for f in files:
                w.add(f)
            entries = w.finish()
        else:
            entries = reference_run(t, files, "REF", 77)
    return path.read_bytes(), [(e.fileseq, e.block, e.offset) for e in entries]


TAPES = [{"format": "aws"}, {"format": "aws", "chunk_size": 3000}, {"format": "fkt"},
         {"format": "het", "compress": "zlib", "level": 1}]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 70), min_size=1, max_size=6),
       seed=st.integers(0, 2**20), kw=st.sampled_from(TAPES),
       batch=st.sampled_from([1, 20, 960]), piece=st.sampled_from([15, 30, 240]))
def test_run_matches_python_encoder(tmp_path, monkeypatch, sizes, seed, kw, batch, piece):
    """Also with small batches and pieces: many writes, each patching the
    previous-length field of its first header, files split over batches."""
    monkeypatch.setattr(writer, "time", types.SimpleNamespace(time=lambda: 77e-6))
    monkeypatch.setattr(writer, "_BATCH_PAGES", batch)
    monkeypatch.setattr(writer, "_PIECE_PAGES", piece)
    ref = _write(tmp_path / "ref.tape", _files_from(sizes, seed), False, **kw)
    fast = _write(tmp_path / "fast.tape", _files_from(sizes, seed), True, **kw)
    assert fast == ref                         # the same bytes and catalog entries


@pytest.mark.parametrize("kw", TAPES)
def test_large_files_match_python_encoder(tmp_path, monkeypatch, kw):
    """Files of more pages than one C call and one batch take (961 pages)."""
    monkeypatch.setattr(writer, "time", types.SimpleNamespace(time=lambda: 77e-6))
    sizes = [500, 7, 961, 300]
    ref = _write(tmp_path / "ref.tape", _files_from(sizes, 9), False, **kw)
    fast = _write(tmp_path / "fast.tape", _files_from(sizes, 9), True, **kw)
    assert fast == ref


def test_minidisk_matches_python_path(tmp_path, monkeypatch):
    """On a minidisk the C-framed blocks land in the same track images as the
    per-block path (forced here with an ``on_block`` hook)."""
    monkeypatch.setattr(writer, "time", types.SimpleNamespace(time=lambda: 5.0))
    images = []
    for hook in (None, lambda n: None):
        path = tmp_path / ("md%d.3390" % len(images))
        create_dasd(path, "3390", volser="MD0001", cylinders=6).close()
        dump(_Source(_files_from([1, 15, 16, 40, 2], 5)), f"{path}@1-5", on_block=hook)
        with open_dasd(path) as dev:
            images.append([t.image for t in dev.tracks(1, 5)])
    assert images[0] == images[1]


class _Source:
    name = "SRC"

    def __init__(self, files, fail_after=None):
        self.files, self.fail_after = files, fail_after

    def archive_files(self, select=None):
        for i, f in enumerate(self.files):
            if i == self.fail_after:
                raise OSError("source volume went away")
            yield f

    def identities(self, select=None):
        return set()


def test_failed_source_leaves_tape_and_no_threads(tmp_path):
    tape = tmp_path / "t.aws"
    dump(_Source(_files_from([3, 20], 1)), tape)
    before = tape.read_bytes()
    threads = threading.active_count()
    with pytest.raises(OSError, match="went away"):
        dump(_Source(_files_from([30] * 40, 2), fail_after=25), tape)
    assert tape.read_bytes() == before
    assert threading.active_count() == threads   # the framing workers have ended
    assert not verify(tape).errors


def test_reused_buffer_and_empty_file(tmp_path):
    """A source may refill the buffer it yielded once it is asked for the next
    one, and a file may have no data pages: the archive still holds what
    was yielded at the time, and the catalog offsets lead to the SPKF blocks."""
    rnd = random.Random(3)
    chunks = [rnd.randbytes(7 * A.PAGE_SIZE) for _ in range(5)]
    buf = bytearray(7 * A.PAGE_SIZE)

    def refilled():
        for c in chunks:
            buf[:] = c
            yield buf

    data = b"".join(chunks)
    files = [ArchiveFile(A.CatalogEntry(0, 1, "A", "RDR", pages=35, crc=A.crc32c(data)),
                         bytes(A.PAGE_SIZE), refilled),
             ArchiveFile(A.CatalogEntry(0, 2, "B", "RDR", pages=0), bytes(A.PAGE_SIZE),
                         lambda: iter(()))]
    tape = tmp_path / "r.aws"
    dump(_Source(files), tape)
    with open_tape(tape) as t:
        runs = read_runs(t, str(tape))
        fh, pages = read_file(t, runs[0].entries[0], str(tape))
        assert b"".join(bytes(p) for p in pages) == data
        fh2, pages2 = read_file(t, runs[0].entries[1], str(tape))
        assert (fh2.spoolid, fh2.pages, list(pages2)) == (2, 0, [])
        for e in runs[0].entries:
            t.seek(e.offset)
            assert A.block_kind(t.read_block().data) == "SPKF"
