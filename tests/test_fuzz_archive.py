"""Mutated real spool archives (made by ``dump``) through SCAN, VERIFY and
LOAD: block headers, catalogs, run headers, truncation, bit flips.  Only
SpoolkitError subclasses whose ``str()`` formats come out; no hang, and the
memory used stays within a small factor of the archive (plus a fixed amount).

CI runs these (marker ``fuzz``) against the C core built with ASan/UBSan."""

from __future__ import annotations

import struct
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_backup_spool import ListVolume, spool_file

from spoolkit import backup as B
from spoolkit.backup.blocks import crc32c
from spoolkit.errors import SpoolkitError

pytestmark = pytest.mark.fuzz

#: fixed memory a read may use whatever the input: the tape's block buffers
#: (2 MiB each) and the interpreter's own
FIXED = 24 << 20
FACTOR = 8


def _seed_tape(tmp_path_factory, ext):
    import random

    d = tmp_path_factory.mktemp("seed")
    rnd = random.Random(77)
    files = [spool_file(i, rnd) for i in range(1, 5)]
    tape = d / f"seed.{ext}"
    B.dump(ListVolume(files[:2]), tape)
    B.dump(ListVolume(files), tape, incremental=[tape])
    return tape.read_bytes(), [r.start for r in B.scan(tape).runs], \
        [r.catalog_at for r in B.scan(tape).runs]


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return {ext: _seed_tape(tmp_path_factory, ext) for ext in ("aws", "het", "fkt")}


@st.composite
def mutation(draw, size, spots):
    """(kind, args) edits of a tape of ``size`` bytes; ``spots`` are offsets
    of run headers and catalogs (where damage matters most)."""
    edits = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "spot", "recrc", "grow"]))
        if kind == "flip":
            edits.append((kind, draw(st.integers(0, size * 8 - 1))))
        elif kind == "set":
            edits.append((kind, draw(st.integers(0, size - 1)), draw(st.integers(0, 255))))
        elif kind == "cut":
            edits.append((kind, draw(st.integers(0, size))))
        elif kind == "spot":
            at = draw(st.sampled_from(spots)) + draw(st.integers(0, 120))
            edits.append((kind, min(at, size - 1), draw(st.integers(0, 255))))
        elif kind == "recrc":        # a catalog or run header field changed, CRC made good
            base = draw(st.sampled_from(spots))
            edits.append((kind, base, draw(st.integers(0, 60)),
                          draw(st.sampled_from([0, 1, 0xFF, 0xFFFF, 0xFFFFFFFF]))))
        else:
            edits.append((kind, draw(st.binary(min_size=1, max_size=40))))
    return edits


def _apply(data: bytes, edits, ext: str) -> bytes:
    buf = bytearray(data)
    for e in edits:
        if e[0] == "flip" and buf:
            i = e[1] % (len(buf) * 8)
            buf[i // 8] ^= 1 << (i % 8)
        elif e[0] in ("set", "spot") and buf:
            buf[e[1] % len(buf)] = e[2]
        elif e[0] == "cut":
            del buf[e[1]:]
        elif e[0] == "recrc":
            hdr = 12 if ext == "fkt" else 6
            at = e[1] + hdr                      # the block's data (one chunk, uncompressed)
            try:
                n = int(buf[e[1] + 4:e[1] + 8], 16) if ext == "fkt" else \
                    int.from_bytes(buf[e[1]:e[1] + 2], "little")
            except ValueError:                   # a FakeTape header already mutated
                n = 0
            if 8 + e[2] + 4 <= n and at + n <= len(buf):
                struct.pack_into(">I", buf, at + 8 + e[2], e[3])
                struct.pack_into(">I", buf, at + n - 4, crc32c(bytes(buf[at:at + n - 4])))
        elif e[0] == "grow":
            buf += e[1]
    return bytes(buf)


def _exercise(path, tmp_path):
    """SCAN, VERIFY and LOAD; only SpoolkitErrors, and they format."""
    for op in (lambda: B.scan(path), lambda: B.verify(path),
               lambda: B.load(path, ListVolume(), state="all")):
        t0 = time.monotonic()
        try:
            op()
        except SpoolkitError as exc:
            assert str(exc) and exc.to_dict()["message"]
        assert time.monotonic() - t0 < 10


@pytest.mark.parametrize("ext", ["aws", "het", "fkt"])
def test_mutated_archives_raise_only_typed_errors(tmp_path_factory, seeds, ext):
    data, starts, catalogs = seeds[ext]
    spots = [s for s in starts + catalogs if s is not None]
    d = tmp_path_factory.mktemp("fz")
    path = d / f"m.{ext}"

    @settings(max_examples=150, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(mutation(len(data), spots))
    def run(edits):
        mutated = _apply(data, edits, ext)
        path.write_bytes(mutated)
        tracemalloc.start()
        try:
            _exercise(path, d)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak <= FIXED + FACTOR * len(mutated), (peak, len(mutated))

    run()


def test_mutated_minidisk_archive(tmp_path):
    """Bit flips in a minidisk archive's stream and label."""
    import random

    from spoolkit import Track, create_dasd, open_dasd

    vol = tmp_path / "v.3390"
    create_dasd(vol, "3390", volser="ARCH01", cylinders=3).close()
    rnd = random.Random(5)
    B.dump(ListVolume([spool_file(i, rnd) for i in range(1, 4)]), f"{vol}@1-2")
    with open_dasd(vol) as dev:
        tracks = {(c, h): [(r.r, b"", bytes(r.data)) for r in dev.read_track(c, h).records]
                  for c in (1,) for h in range(3)}
    tracks = {k: v for k, v in tracks.items() if v and all(len(r[2]) for r in v)}
    assert tracks
    for _ in range(60):
        (c, h), recs = rnd.choice(sorted(tracks.items()))
        i = rnd.randrange(len(recs))
        data = bytearray(recs[i][2])
        pos = rnd.randrange(min(len(data), 200 if rnd.random() < 0.5 else len(data)))
        data[pos] ^= 1 << rnd.randrange(8)
        with open_dasd(vol, "r+") as dev:
            new = list(recs)
            new[i] = (recs[i][0], b"", bytes(data))
            dev.write_track(c, h, Track.from_records(c, h, new))
        _exercise(f"{vol}@1-2", tmp_path)
        with open_dasd(vol, "r+") as dev:
            dev.write_track(c, h, Track.from_records(c, h, recs))
