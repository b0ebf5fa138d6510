"""zlib inputs up to ``SPK_SMALL_DEFLATE_MAX`` bytes at levels 1-9 go through
the second build of libdeflate's compressor (hash tables sized for small
inputs): its streams must be ordinary zlib streams that the reference zlib and
Hercules' tools read back byte for byte, on both sides of the threshold, at
every level."""

from __future__ import annotations

import random
import struct
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoolkit import open_tape
from spoolkit._native import lib
from spoolkit.compress import ZLIB, compress, decompress
from spoolkit.tape import LabelledWriter

T = lib.SPK_SMALL_DEFLATE_MAX
SIZES = [1, 2, 60, 80, 296, 4096, 7200, T - 1, T, T + 1, 2 * T, 65535]


def text(size: int, seed: int) -> bytes:
    """EBCDIC-ish card images: compressible, with repeats near and far."""
    rnd = random.Random(seed)
    words = [b"SYSOUT ", b"DSN=SYS1.", b"LINKLIB ", b"DISP=SHR ", b"  ", b"\x40\x40\x40",
             b"\xc1\xc2\xc3", b"00010000", b"EXEC PGM=IEBCOPY"]
    card = bytearray()
    while len(card) < size:
        line = b"".join(rnd.choice(words) for _ in range(rnd.randint(2, 9)))
        card += line[:80].ljust(80, b"\x40")
    return bytes(card[:size])


def kinds(size: int, seed: int) -> list[bytes]:
    rnd = random.Random(seed)
    return [text(size, seed), bytes(size), rnd.randbytes(size),
            (rnd.randbytes(97) * (size // 97 + 1))[:size]]


def test_threshold_is_small():
    # the variant's tables (10/13-bit hashes) are meant for inputs of a few KiB
    assert 4096 <= T <= 65535


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("level", [1, 2, 4, 5, 6, 7, 9, 10, 12])
def test_round_trip_around_the_threshold(size, level):
    for i, data in enumerate(kinds(size, size + level)):
        packed = compress(data, ZLIB, level, limit=len(data) + 64)
        assert packed is not None
        assert zlib.decompress(packed) == data          # the reference inflater
        assert decompress(packed, ZLIB, len(data)) == data
        if i < 2 and size >= 80:                        # text and zeros shrink
            assert len(packed) < len(data)


def test_streams_are_the_same_on_both_sides_bar_the_tables():
    # the same bytes at T and T + 1 (one more zero) compress to about the same size:
    # the variant loses nothing measurable against the full-size tables there
    data = text(T + 1, 9)
    below, above = compress(data[:T], ZLIB, 5), compress(data, ZLIB, 5)
    assert below is not None and above is not None
    assert zlib.decompress(below) == data[:T] and zlib.decompress(above) == data
    assert abs(len(below) - len(above)) <= len(above) // 100 + 8


@pytest.mark.parametrize("level", [4, 5, 6])
def test_no_larger_than_reference_zlib_4_on_card_text(level):
    # HET's peer (hetupd -z) compresses each block with zlib level 4
    blocks = [text(n, n) for n in (80, 800, 4096, 7200, 16000, T)]
    ours = sum(len(compress(b, ZLIB, level) or b) for b in blocks)
    peer = sum(len(zlib.compress(b, 4)) for b in blocks)
    assert ours <= peer * (1.01 if level == 4 else 1.0), (ours, peer)


def test_limit_smaller_than_the_stream_is_refused():
    data = kinds(T, 3)[2]                              # random: does not shrink
    assert compress(data, ZLIB, 5) is None             # limit = its size
    assert compress(data, ZLIB, 5, limit=10) is None
    assert zlib.decompress(compress(data, ZLIB, 5, limit=T + 64) or b"") == data


def _het_blocks() -> list[bytes]:
    # one HET chunk each (hetget takes a data set's blocks up to its BLKSIZE, 65535)
    return [text(n, n) for n in SIZES if 2 <= n <= 65535] + [kinds(T, 5)[2], bytes(T)]


@pytest.mark.hercules
def test_hercules_reads_our_streams(tmp_path, herc):
    blocks = _het_blocks()
    path = tmp_path / "t.het"
    with open_tape(path, "w", compress="zlib") as t:
        w = LabelledWriter(t, "SMALL1", "ME")
        w.begin("SMALL.BLOCKS", "U", 0, 65535)
        for b in blocks:
            w.write(b)
        w.close()
    with open_tape(path) as t:
        methods = [b.method for b in t if not b.is_tapemark]
    assert methods.count(ZLIB) >= len(blocks) - 1      # all but the random block
    # hetmap reads every block (inflating them) ...
    out = herc("hetmap", "-a", path).stdout
    assert "SMALL.BLOCKS" in out
    # ... hetget extracts the data set ...
    herc("hetget", path, tmp_path / "ds", 1)
    assert (tmp_path / "ds").read_bytes() == b"".join(blocks)
    # ... and hetupd -d inflates the tape to AWS with Hercules' zlib: the same blocks
    herc("hetupd", "-d", path, tmp_path / "d.aws")
    with open_tape(tmp_path / "d.aws") as t, open_tape(path) as h:
        plain = [bytes(b.data) for b in t if not b.is_tapemark]
        assert plain == [bytes(b.data) for b in h if not b.is_tapemark]
    assert plain[3:-2] == blocks                       # VOL1 HDR1 HDR2 ... EOF1 EOF2 around


def test_tape_copy_stores_the_streams_unchanged(tmp_path):
    # an AWS -> HET copy (the C recoder) keeps each block's zlib stream as it is:
    # each chunk's data decompresses with the reference zlib to the block
    blocks = _het_blocks()
    src = tmp_path / "s.aws"
    with open_tape(src, "w") as t:
        t.write_blocks(blocks)
    dst = tmp_path / "d.het"
    with open_tape(src) as s, open_tape(dst, "w", compress="zlib") as d:
        d.copy_from(s)
    raw, pos, got = dst.read_bytes(), 0, []
    while pos < len(raw):                              # blocks <= 65535: one chunk each
        cur, _prev, f1, _f2 = struct.unpack_from("<HHBB", raw, pos)
        payload = raw[pos + 6:pos + 6 + cur]
        if not f1 & 0x40:                              # not a tapemark
            got.append(zlib.decompress(payload) if f1 & 0x01 else payload)
        pos += 6 + cur
    assert got == blocks


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzz_sizes_levels_and_limits(data):
    size = data.draw(st.one_of(st.integers(0, 600), st.integers(T - 300, T + 300),
                               st.integers(0, 70000)))
    level = data.draw(st.integers(1, 12))
    seed = data.draw(st.integers(0, 2**32))
    blob = kinds(size, seed)[data.draw(st.integers(0, 3))]
    limit = data.draw(st.one_of(st.just(size + 64), st.integers(0, size + 64)))
    packed = compress(blob, ZLIB, level, limit=limit)
    if packed is None:
        big = compress(blob, ZLIB, level, limit=size + 64)
        assert big is not None and len(big) > limit
    else:
        assert len(packed) <= limit
        assert zlib.decompress(packed) == blob
