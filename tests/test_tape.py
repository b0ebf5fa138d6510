"""Tape images against Hercules 3.13's own tools (hetmap, hetinit, hetupd,
hetget) and the real tapes in ../shared/fixtures."""

from __future__ import annotations

import random

import pytest

from spoolkit.cli import main
from spoolkit.cli.tape import _map_text, tape_map
from spoolkit.errors import CompressionError, FormatError, InvalidArgumentError, TruncatedError
from spoolkit.tape import LabelledWriter, datasets, deblock, open_tape
from spoolkit.tape import labels as sl

FIXTURE_TAPES = ["j90009.het", "hercules-tests/tape.aws", "hercules-tests/awsbsf.aws",
                 "hercules-tests/hetbsf.het", "hercules-tests/hetbsf-bzip2.het"]


def hetmap_text(herc, path):
    """hetmap -a output without its banner and file-name lines."""
    out = herc("hetmap", "-a", path).stdout.splitlines()
    return [ln for ln in out if not ln.startswith(("Filename", "Hercules ", "(c)Copyright"))]


def our_text(path):
    return [ln for ln in _map_text(tape_map(str(path))).splitlines()
            if not ln.startswith("Filename")]


@pytest.mark.hercules
@pytest.mark.parametrize("name", FIXTURE_TAPES)
def test_fixture_maps_equal_hetmap(fixtures, herc, name):
    assert our_text(fixtures / name) == hetmap_text(herc, fixtures / name)


def test_j90009_datasets(fixtures):
    with open_tape(fixtures / "j90009.het") as t:
        ds = list(datasets(t))
    assert [(d.seq, d.dsn, d.recfm, d.lrecl, d.blksize, d.blocks, d.label_blocks)
            for d in ds] == [(1, "SMPMCS", "FB", 80, 7200, 10, 10),
                             (2, "M023000.F1", "VS", 32756, 32760, 4, 4),
                             (3, "M023000.F2", "VS", 32756, 32760, 7, 7)]
    assert ds[0].created.isoformat() == "1974-04-24" and (ds[0].job, ds[0].step) == \
        ("MODTAPE", "MAKEMCS")
    with open_tape(fixtures / "j90009.het") as t:
        t.skip_files(1)
        recs = list(deblock((b.data for b in t.blocks()), "FB", 80))
    assert len(recs) == 70880 // 80 and all(len(r) == 80 for r in recs)


@pytest.mark.hercules
@pytest.mark.parametrize("opts,name", [(["-d"], "i.aws"), ([], "i.het"), (["-d", "-n"], "n.aws"),
                                       (["-n"], "n.het")])
def test_reads_hetinit_tapes(tmp_path, herc, opts, name):
    path = tmp_path / name
    herc("hetinit", *opts, path, *([] if "-n" in opts else ["TAPE01", "OWNER1"]))
    assert our_text(path) == hetmap_text(herc, path)
    with open_tape(path) as t:
        blocks = list(t)
    if "-n" in opts:
        assert [b.is_tapemark for b in blocks] == [True, True]
    else:
        assert sl.parse(blocks[0].data)["Volume Serial"] == "TAPE01"
        assert sl.parse(blocks[1].data).id == "HDR1" and blocks[2].is_tapemark


def sample_blocks(seed, n=40, big=False):
    rnd = random.Random(seed)
    words = [b"SPOOL ", b"TRACK ", b"CYLINDER ", b"HERCULES ", b"BLOCK "]
    out = []
    for i in range(n):
        size = rnd.choice([80, 800, 4096, 32760, 60000, 65535])
        text = b"".join(rnd.choice(words) for _ in range(size // 5 + 1))[:size]
        out.append(text if i % 3 else bytes(rnd.getrandbits(8) for _ in range(size)))
    if big:
        out += [b"X" * 200_000, bytes(range(256)) * 8192]  # 200 KB and 2 MiB
    return out


def write_tape(path, blocks, marks_every=10, **kw):
    with open_tape(path, "w", **kw) as t:
        for i, b in enumerate(blocks, 1):
            t.write_block(b)
            if i % marks_every == 0:
                t.tapemark()


@pytest.mark.hercules
@pytest.mark.parametrize("fmt,compress,name", [("aws", None, "a.aws"), ("het", "zlib", "z.het"),
                                               ("het", "bzip2", "b.het")])
def test_written_tapes_match_hetmap(tmp_path, herc, fmt, compress, name):
    # (Hercules 3.13's hetmap has no FakeTape support; FakeTape is checked by
    # the round trips below)
    path = tmp_path / name
    blocks = sample_blocks(1)
    write_tape(path, blocks, format=fmt, compress=compress)
    assert our_text(path) == hetmap_text(herc, path)
    with open_tape(path) as t:
        assert [b.data for b in t if not b.is_tapemark] == blocks


@pytest.mark.hercules
def test_multichunk_blocks_match_hetmap(tmp_path, herc):
    path = tmp_path / "strict.aws"
    blocks = sample_blocks(2, 12)
    write_tape(path, blocks, chunk_size=4096)  # strict AWSTAPE chunking
    assert our_text(path) == hetmap_text(herc, path)


@pytest.mark.hercules
@pytest.mark.parametrize("flag,method", [("-z", 1), ("-b", 2)])
def test_reads_hetupd_output(tmp_path, herc, flag, method):
    src = tmp_path / "s.aws"
    blocks = sample_blocks(3)
    write_tape(src, blocks)
    dst = tmp_path / "d.het"
    proc = herc("hetupd", flag, src, dst, check=False)
    if proc.returncode and "Compression error" in proc.stdout + proc.stderr:
        pytest.skip(f"this hetupd was built without {flag} support")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open_tape(dst) as t:
        got = [b for b in t if not b.is_tapemark]
    assert [b.data for b in got] == blocks
    assert {b.method for b in got} == {0, method}  # random blocks stay plain
    assert our_text(dst) == hetmap_text(herc, dst)


@pytest.mark.hercules
def test_hetget_extracts_what_we_wrote(tmp_path, herc):
    path = tmp_path / "sl.het"
    data = [bytes([65 + i]) * 800 for i in range(5)]
    with open_tape(path, "w", compress="zlib") as t:
        w = LabelledWriter(t, "TST001", "ME")
        w.begin("FIRST.DATA", "FB", 80, 800)
        for b in data:
            w.write(b)
        w.begin("SECOND.DATA", "U", 0, 32760)
        w.write(b"second dataset block")
        w.close()
    herc("hetget", path, tmp_path / "o1", 1)
    assert (tmp_path / "o1").read_bytes() == b"".join(data)
    assert our_text(path) == hetmap_text(herc, path)
    with open_tape(path) as t:
        ds = list(datasets(t))
    assert [(d.dsn, d.recfm, d.blocks, d.label_blocks) for d in ds] == [
        ("FIRST.DATA", "FB", 5, 5), ("SECOND.DATA", "U", 1, 1)]
    # HDR2 carries label number 2 (Hercules' sl_ds2 writes 1)
    assert ds[0].labels[1].id == "HDR2" and ds[0].labels[-1].id == "EOF2"


def test_round_trip_formats_and_big_blocks(tmp_path):
    blocks = sample_blocks(4, 20, big=True)
    small = [b for b in blocks if len(b) <= 65535]
    aws = tmp_path / "a.aws"
    write_tape(aws, blocks)
    het = tmp_path / "h.het"
    main(["tape", "copy", str(aws), str(het), "--het", "-z"])
    with open_tape(het) as t:
        assert [b.data for b in t if not b.is_tapemark] == blocks
    # FakeTape holds at most 65535 bytes a block: round trip the small ones
    aws2 = tmp_path / "small.aws"
    write_tape(aws2, small)
    fkt = tmp_path / "f.fkt"
    main(["tape", "copy", str(aws2), str(fkt), "--fkt"])
    back = tmp_path / "back.aws"
    main(["tape", "copy", str(fkt), str(back), "--aws"])
    assert back.read_bytes() == aws2.read_bytes()
    het2 = tmp_path / "h2.het"
    main(["tape", "copy", str(aws2), str(het2), "--bzip2"])
    back2 = tmp_path / "back2.aws"
    main(["tape", "copy", str(het2), str(back2), "--aws"])
    assert back2.read_bytes() == aws2.read_bytes()


def _walk_back(path):
    """Every block offset found by backspacing from the end (prev fields)."""
    with open_tape(path, "r") as t:
        t.seek(path.stat().st_size)
        offs = []
        while t.backspace_block():
            offs.append(t.tell())
    return offs[::-1]


@pytest.mark.parametrize("fmt,compress,chunk", [("het", "zlib", 65535), ("het", "bzip2", 4096),
                                                ("aws", None, 4096), ("fkt", None, 65535)])
def test_segmented_copy_equals_block_by_block_writes(tmp_path, fmt, compress, chunk):
    # the batch copy (segments recoded in C on threads) must write exactly
    # the bytes of the one-block-at-a-time writer, prev fields included
    blocks = [b for b in sample_blocks(9, 60) if fmt != "fkt" or len(b) <= 65535]
    src = tmp_path / "src.het"
    write_tape(src, blocks, marks_every=7, compress="zlib")
    ref = tmp_path / f"ref.{fmt}"
    with open_tape(ref, "w", format=fmt, compress=compress, chunk_size=chunk) as t, \
            open_tape(src) as s:
        for blk in s:
            t.tapemark() if blk.is_tapemark else t.write_block(blk.data)
        t.close(finish=False)
    out = tmp_path / f"out.{fmt}"
    seen = []
    with open_tape(src) as s, open_tape(out, "w", format=fmt, compress=compress,
                                        chunk_size=chunk) as t:
        n = t.copy_from(s, workers=2, progress=seen.append, segment=50_000)
        assert s.tell() == src.stat().st_size and s.file_number == len(blocks) // 7 + 2
        assert t.file_number == s.file_number
        t.close(finish=False)
    assert n == (len(blocks), len(blocks) // 7 + 2)
    assert sum(seen) == src.stat().st_size and len(seen) > 5
    assert out.read_bytes() == ref.read_bytes()
    with open_tape(out) as t:
        assert _walk_back(out) == [b.offset for b in t]


@pytest.mark.parametrize("compress", [None, "zlib"])
def test_copy_with_blocks_longer_than_a_segment(tmp_path, compress):
    # segments far smaller than the blocks: each read buffer holds a block's
    # start only and grows to it, the bytes read past a segment's end go to
    # the next one; a copy from the middle starts at the source's position
    rng = random.Random(7)
    blocks = [bytes(rng.randrange(i % 2 * 250 + 4) for _ in range(rng.choice((1, 300, 70_000))))
              for i in range(30)]
    src = tmp_path / "src.aws"
    write_tape(src, blocks, marks_every=4, chunk_size=4096)
    for skip in (0, 5):
        ref, out = tmp_path / f"ref{skip}.het", tmp_path / f"out{skip}.het"
        with open_tape(src) as s, open_tape(ref, "w", format="het", compress=compress) as t:
            for i, blk in enumerate(s):
                if i >= skip:
                    t.tapemark() if blk.is_tapemark else t.write_block(blk.data)
            t.close(finish=False)
        with open_tape(src) as s, open_tape(out, "w", format="het", compress=compress) as t:
            for _ in range(skip):
                s.read_block()
            t.copy_from(s, workers=2, segment=1000)
            assert s.tell() == src.stat().st_size
            t.close(finish=False)
        assert out.read_bytes() == ref.read_bytes()


def test_writer_starts_write_back_behind_itself(tmp_path, monkeypatch):
    # the tape writer hands every byte it wrote to the write-back hint, in
    # order, so closing's fsync has little left
    import spoolkit.output
    import spoolkit.tape.framing as framing

    ends: list[int] = []

    class Recording(spoolkit.output.Writeback):
        def __init__(self, fd, start=0):
            super().__init__(fd, start, step=4096)

        def advance(self, end):
            ends.append(end)
            super().advance(end)
            assert self.done <= end

    src = tmp_path / "src.aws"
    write_tape(src, sample_blocks(3, 60), marks_every=7)
    monkeypatch.setattr(framing, "Writeback", Recording)
    out = tmp_path / "out.het"
    with open_tape(src) as s, open_tape(out, "w", compress="zlib") as t:
        t.copy_from(s, segment=20_000)
        t.close(finish=False)
    assert ends == sorted(ends) and len(ends) > 3 and ends[-1] == out.stat().st_size


def test_copy_continues_when_blocks_inflate_past_the_buffer(tmp_path):
    # 40 highly compressible 1 MiB blocks fit one 4 MiB source segment but
    # inflate to 40 MiB: the C call stops and resumes with a fresh buffer
    blocks = [bytes([i]) * (1 << 20) for i in range(40)]
    src = tmp_path / "z.het"
    write_tape(src, blocks, marks_every=100, compress="zlib")
    assert src.stat().st_size < 1 << 20
    out = tmp_path / "big.aws"
    with open_tape(src) as s, open_tape(out, "w", format="aws") as t:
        assert t.copy_from(s) == (40, 2)
        t.close(finish=False)
    with open_tape(out) as t:
        got = [(b.data, b.offset) for b in t if not b.is_tapemark]
    assert [g[0] for g in got] == blocks
    assert _walk_back(out)[:40] == [g[1] for g in got]


def test_copy_refuses_what_the_target_cannot_hold(tmp_path):
    src = tmp_path / "big.aws"
    write_tape(src, [b"a" * 100, b"b" * 70_000])
    with pytest.raises(InvalidArgumentError, match="offset 106"), open_tape(src) as s, \
            open_tape(tmp_path / "x.fkt", "w", format="fkt") as t:
        t.copy_from(s)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.aws"]  # temp file removed


def test_positioning(tmp_path):
    path = tmp_path / "p.aws"
    blocks = [b"a" * 100_000, b"b" * 10, b"c" * 70_000]
    with open_tape(path, "w") as t:
        offs = [t.write_block(blocks[0]), t.write_block(blocks[1])]
        t.tapemark()
        offs.append(t.write_block(blocks[2]))
    with open_tape(path, "r+") as t:
        assert [b.data for b in t.blocks()] == blocks[:2]
        assert t.file_number == 1
        t.backspace_block()          # back over the tapemark
        t.backspace_block()          # and over b
        assert t.read_block().data == blocks[1]
        t.seek(offs[2])
        assert t.read_block().data == blocks[2]
        assert t.backspace_block() and t.backspace_block()
        assert t.read_block().is_tapemark
        t.rewind()
        assert t.skip_files(1) == 1 and t.read_block().data == blocks[2]
        # multi-chunk backspace lands on the block start
        t.seek(offs[1])
        assert t.backspace_block() and t.tell() == 0
        # writing in the middle truncates the rest
        t.seek(offs[1])
        t.write_block(b"new")
        t.close()
    with open_tape(path) as t:
        data = [b.data for b in t if not b.is_tapemark]
    assert data == [blocks[0], b"new"]


def test_append_and_abort(tmp_path):
    path = tmp_path / "ap.het"
    write_tape(path, [b"one" * 100, b"two" * 100], marks_every=2, compress="zlib")
    original = path.read_bytes()
    with pytest.raises(RuntimeError):
        with open_tape(path, "a") as t:
            t.write_block(b"three" * 100)
            raise RuntimeError("killed")
    assert path.read_bytes() == original
    with open_tape(path, "a") as t:
        t.write_block(b"three" * 100)
        t.tapemark()
    with open_tape(path) as t:
        seq = [(b.is_tapemark, b.data[:5]) for b in t]
    assert seq == [(False, b"oneon"), (False, b"twotw"), (True, b""), (False, b"three"),
                   (True, b""), (True, b"")]


# -- bad input -------------------------------------------------------------------
def _aws_hdr(clen, plen, f1, f2=0):
    return clen.to_bytes(2, "little") + plen.to_bytes(2, "little") + bytes([f1, f2])


@pytest.mark.parametrize("raw,err,offset", [
    (_aws_hdr(10, 0, 0xA0) + b"x" * 10 + b"\x05\x00", TruncatedError, 16),
    (_aws_hdr(100, 0, 0xA0) + b"x" * 10, TruncatedError, 0),
    (_aws_hdr(4, 0, 0x80) + b"abcd" + _aws_hdr(4, 4, 0xA0) + b"efgh", FormatError, 10),
    (_aws_hdr(4, 0, 0x81) + b"abcd" + _aws_hdr(4, 4, 0x20) + b"efgh", FormatError, 10),
    (b"0000000A000B" + b"x" * 10, FormatError, 0),
])
def test_bad_input_names_offset(tmp_path, raw, err, offset):
    path = tmp_path / ("bad.fkt" if raw[:4] == b"0000" else "bad.aws")
    path.write_bytes(raw)
    with open_tape(path) as t, pytest.raises(err) as exc:
        list(t)
    assert exc.value.offset == offset and exc.value.path == str(path)


def test_inflate_bomb_is_stopped(tmp_path):
    import zlib

    bomb = zlib.compress(bytes(3 * 1024 * 1024), 9)
    path = tmp_path / "bomb.het"
    path.write_bytes(_aws_hdr(len(bomb), 0, 0xA1) + bomb)
    with open_tape(path) as t, pytest.raises(CompressionError, match="past the limit"):
        t.read_block()


def test_cli_map_json_init_get(tmp_path, capsys, fixtures):
    import json

    assert main(["tape", "map", str(fixtures / "j90009.het"), "--json"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert m["total"] == {"files": 10, "blocks": 34, "bytes": 157080, "stored": 35625}
    out = tmp_path / "smpmcs.txt"
    assert main(["tape", "get", str(fixtures / "j90009.het"), "1", str(out), "--ascii"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 886
    init = tmp_path / "new.aws"
    assert main(["tape", "init", str(init), "--volser", "NEW001"]) == 0
    with open_tape(init) as t:
        b = [x for x in t]
    assert sl.parse(b[0].data)["Volume Serial"] == "NEW001" and b[2].is_tapemark


def test_faketape_layout(tmp_path):
    path = tmp_path / "f.fkt"
    with open_tape(path, "w") as t:
        t.write_block(b"\xc1" * 10)
        t.write_block(b"\xc2" * 300)
        t.tapemark()
    raw = path.read_bytes()
    # previous length, current length, xor of the two: 4 upper-case hex digits each
    assert raw[:12] == b"0000000A000A" and raw[22:34] == b"000A012C0126"
    assert raw[334:346] == b"012C0000012C" and raw[346:358] == b"00000000" + b"0000"
    with open_tape(path) as t:
        assert t.format == "fkt"
        assert [len(b.data) for b in t] == [10, 300, 0, 0]
        t.seek(22)
        assert t.backspace_block() and t.tell() == 0
    with pytest.raises(Exception, match="65535"):
        with open_tape(tmp_path / "g.fkt", "w") as t:
            t.write_block(bytes(70000))


def test_chunking_and_previous_lengths(tmp_path):
    path = tmp_path / "c.aws"
    with open_tape(path, "w") as t:
        t.write_block(b"\x11" * 245760)
    raw = path.read_bytes()
    off, chunks = 0, []
    while off < len(raw):
        clen = int.from_bytes(raw[off:off + 2], "little")
        plen = int.from_bytes(raw[off + 2:off + 4], "little")
        chunks.append((clen, plen, raw[off + 4]))
        off += 6 + clen
    assert chunks == [(65535, 0, 0x80), (65535, 65535, 0x00), (65535, 65535, 0x00),
                      (49155, 65535, 0x20), (0, 49155, 0x40), (0, 0, 0x40)]


def test_bustech_zlib_is_read(tmp_path):
    import zlib

    data = b"BUS-TECH " * 500
    comp = zlib.compress(data)
    path = tmp_path / "bt.het"
    path.write_bytes(_aws_hdr(len(comp), 0, 0xA0, 0x80) + comp + _aws_hdr(0, len(comp), 0x40))
    with open_tape(path) as t:
        blk = t.read_block()
        assert blk.data == data and blk.compressed_size == len(comp)
    path.write_bytes(_aws_hdr(len(comp), 0, 0xA1, 0x80) + comp)  # bits in both flags
    with open_tape(path) as t, pytest.raises(FormatError, match="conflicting"):
        t.read_block()


@pytest.mark.parametrize("name", FIXTURE_TAPES)
def test_streamed_map_equals_the_whole_map(fixtures, name):
    """``tape map`` prints file by file; text and JSON equal the whole-map forms."""
    import io
    import json

    from spoolkit.cli.tape import stream_map

    path = str(fixtures / name)
    text, js = io.StringIO(), io.StringIO()
    stream_map(path, False, text)
    stream_map(path, True, js)
    assert text.getvalue() == _map_text(tape_map(path)) + "\n"
    assert json.loads(js.getvalue()) == tape_map(path)


def test_iter_map_batches_and_positions(tmp_path):
    """More files than one C batch; skip_files and append positioning after them."""
    path = tmp_path / "many.aws"
    with open_tape(path, "w") as t:
        for i in range(5000):
            t.write_block(bytes([i % 256]) * (1 + i % 300))
            t.tapemark()
    with open_tape(path) as t:
        stats = list(t.iter_map())
        assert [s.blocks for s in stats] == [1] * 5000 + [0]
        assert [s.bytes for s in stats[:5000]] == [1 + i % 300 for i in range(5000)]
        assert t.skip_files(4999) == 4999
        assert t.read_block().data == bytes([4999 % 256]) * (1 + 4999 % 300)
    with open_tape(path, "a") as t:
        t.write_block(b"LAST")
    with open_tape(path) as t:
        assert t.skip_files(5000) == 5000 and t.read_block().data == b"LAST"
