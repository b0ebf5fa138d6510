"""Bad CMS disks: chain loops, block numbers past the extent, FST counts that
disagree, a bitmap free under a used block, truncated images.  Typed errors
from reads, findings from check(), one line from the CLI; and hypothesis
fuzzing of mutated VM/370 and EDF disks (marked fuzz; CI runs it under
ASan/UBSan)."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys

import cmslayout as L
import pytest
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spoolkit
from spoolkit.cms import open_minidisk
from spoolkit.errors import (
    AddressError,
    ChainLoopError,
    FormatError,
    SpoolkitError,
    TruncatedError,
)

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def files():
    return [L.CMSFile("FIRST", "EXEC", "V", 72, [b"line %d" % i for i in range(40)]),
            L.CMSFile("SECOND", "DATA", "F", 80, [bytes([i]) * 80 for i in range(70)]),
            L.CMSFile("THIRD", "TEXT", "V", 20, [b"x" * 20, b"y"])]


def vm370_disk(tmp_path, mutate=None, name="bad"):
    """A 1-cylinder 3350 VM/370 disk from the model; ``mutate(blocks)`` may
    change its blocks first."""
    blocks = L.vm370_encode("3350", 1, "BAD001", files())
    if mutate:
        mutate(blocks)
    path = tmp_path / f"{name}.3350"
    with spoolkit.create_dasd(path, "3350", cylinders=1, raw=True, compress=None) as dev:
        L.CKDBlocks(dev, 0, 800).build(1, blocks)
    return path


def fst_of(blocks, slot):
    return bytearray(blocks[5][slot * 40:(slot + 1) * 40])


def put_fst(blocks, slot, raw):
    b = bytearray(blocks[5])
    b[slot * 40:(slot + 1) * 40] = raw
    blocks[5] = bytes(b)


def fcl_block(blocks, slot):
    return struct.unpack_from(">H", fst_of(blocks, slot), 28)[0]


def set_data_pointer(blocks, slot, k, value):
    fb = fcl_block(blocks, slot)
    b = bytearray(blocks[fb])
    struct.pack_into(">H", b, 80 + 2 * k, value)
    blocks[fb] = bytes(b)


def codes(report):
    return {f.code for f in report.findings}


def test_good_disk_checks_clean(tmp_path):
    with open_minidisk(vm370_disk(tmp_path)) as md:
        rep = md.check()
        assert rep.ok and rep.findings == [] and rep.files == 3
        assert rep.referenced == md.stats()["used"]


def test_chain_loop(tmp_path):
    def loop(blocks):
        set_data_pointer(blocks, 1, 3, fcl_block(blocks, 1))    # a data block = its FCL
    with open_minidisk(vm370_disk(tmp_path, loop)) as md:
        with pytest.raises(ChainLoopError, match="already uses"):
            md.read("SECOND", "DATA")
        rep = md.check()
        assert not rep.ok and "chain" in codes(rep)
        assert md.read("FIRST", "EXEC")[0] == b"line 0"          # the others still read


def test_block_past_the_extent(tmp_path):
    def past(blocks):
        set_data_pointer(blocks, 0, 0, 9999)
    with open_minidisk(vm370_disk(tmp_path, past)) as md:
        with pytest.raises(AddressError, match="past the end"):
            md.read("FIRST", "EXEC")
        assert "chain" in codes(md.check())


def test_fst_counts_that_disagree(tmp_path):
    def more(blocks):
        raw = fst_of(blocks, 1)
        struct.pack_into(">H", raw, 26, 9000)                     # records the blocks lack
        put_fst(blocks, 1, raw)
    with open_minidisk(vm370_disk(tmp_path, more)) as md:
        with pytest.raises(TruncatedError):
            md.read("SECOND", "DATA")
        rep = md.check()
        assert "records" in codes(rep) and not rep.ok


def data_pointer(blocks, slot, k):
    return struct.unpack_from(">H", blocks[fcl_block(blocks, slot)], 80 + 2 * k)[0]


def test_v_blocks_out_of_order_and_bad_v_records(tmp_path):
    """A V file whose data blocks lie out of order on the disk reads as the
    records written; a V length of 0 is the same error from read_all as from
    read, and the files before it still read."""
    recs = [bytes([65 + i % 26]) * (50 + i) for i in range(40)]      # 3 blocks of V
    model = files() + [L.CMSFile("FOURTH", "DATA", "V", 89, recs)]
    assert L.vm370_encode("3350", 1, "BAD001", model) is not None

    def build(mutate, name):
        blocks = L.vm370_encode("3350", 1, "BAD001", model)
        mutate(blocks)
        path = tmp_path / f"{name}.3350"
        with spoolkit.create_dasd(path, "3350", cylinders=1, raw=True, compress=None) as dev:
            L.CKDBlocks(dev, 0, 800).build(1, blocks)
        return path

    def swap(blocks):
        a, c = data_pointer(blocks, 3, 0), data_pointer(blocks, 3, 2)
        set_data_pointer(blocks, 3, 0, c)
        set_data_pointer(blocks, 3, 2, a)
        blocks[a], blocks[c] = blocks[c], blocks[a]

    with open_minidisk(build(swap, "swapped")) as md:
        got = dict((f.fname, list(r)) for f, r in md.read_all())
        assert got["FOURTH"] == recs and got["FIRST"] == model[0].records
        assert list(md.read("FOURTH", "DATA")) == recs

    def zero_length(blocks):
        b = bytearray(blocks[data_pointer(blocks, 3, 1)])
        b[0:800] = bytes(800)                     # records cut off by a length of 0
        blocks[data_pointer(blocks, 3, 1)] = bytes(b)

    with open_minidisk(build(zero_length, "zero")) as md:
        with pytest.raises(FormatError) as one:
            md.read("FOURTH", "DATA")
        with pytest.raises(FormatError) as every:
            list(md.read_all())
        assert str(one.value) == str(every.value) and "length 0" in str(one.value)
        assert [f.fname for f, _ in md.read_all(md.files()[:3])] == ["FIRST", "SECOND", "THIRD"]


def test_bitmap_free_under_a_used_block(tmp_path):
    victim = []

    def clear(blocks):
        fb = fcl_block(blocks, 2)
        data = struct.unpack_from(">H", blocks[fb], 80)[0]
        victim.append(data)
        mfd = bytearray(blocks[4])
        mfd[384 + (data - 1) // 8] &= ~(0x80 >> ((data - 1) % 8)) & 0xFF
        blocks[4] = bytes(mfd)
    with open_minidisk(vm370_disk(tmp_path, clear)) as md:
        rep = md.check()
        f = [x for x in rep.findings if x.code == "free-in-bitmap"]
        assert f and f[0].blocks == victim and not rep.ok
        assert "counter" in codes(rep)                            # ADTUSED disagrees too


def test_cross_linked_files(tmp_path):
    def share(blocks):
        other = struct.unpack_from(">H", blocks[fcl_block(blocks, 0)], 80)[0]
        set_data_pointer(blocks, 2, 0, other)
    with open_minidisk(vm370_disk(tmp_path, share)) as md:
        rep = md.check()
        assert "cross-link" in codes(rep) and "lost" in codes(rep)


def test_truncated_images(tmp_path):
    path = vm370_disk(tmp_path)
    size = path.stat().st_size
    trk = (size - 512) // 30
    with open(path, "r+b") as f:
        f.truncate(512 + trk * 10 + 100)                          # inside track 10
    with pytest.raises(SpoolkitError):
        with open_minidisk(path) as md:
            for f in md.files():
                md.read(f)
    r = subprocess.run([sys.executable, "-m", "spoolkit", "cms", "check", str(path)],
                       capture_output=True, env=ENV, timeout=60)
    assert r.returncode == 2 and r.stderr.decode().startswith("spoolkit: error:")
    assert "Traceback" not in r.stderr.decode()


def test_cli_check(tmp_path):
    good = vm370_disk(tmp_path)
    r = subprocess.run([sys.executable, "-m", "spoolkit", "cms", "check", str(good), "--json"],
                       capture_output=True, env=ENV, timeout=60)
    assert r.returncode == 0 and json.loads(r.stdout)["ok"] is True

    def loop(blocks):
        set_data_pointer(blocks, 1, 3, fcl_block(blocks, 1))
    bad = vm370_disk(tmp_path, loop, "loop")
    r = subprocess.run([sys.executable, "-m", "spoolkit", "cms", "check", str(bad)],
                       capture_output=True, env=ENV, timeout=60)
    assert r.returncode == 1 and "SECOND DATA" in r.stdout.decode()


def edf_disk(tmp_path, mutate=None, name="bad", bs=512):
    fs = [L.CMSFile("VARIABLE", "FILE", "V", 300, [bytes([i % 250 + 1]) * (i % 300 + 1)
                                                  for i in range(400)]),
          L.CMSFile("FIXED", "FILE", "F", 100, [bytes([i]) * 100 for i in range(200)])]
    nblocks = 1200
    blocks = L.edf_encode(bs, nblocks, "EDFBAD", fs, fba=True)
    if mutate:
        mutate(blocks)
    path = tmp_path / f"{name}.fba"
    with spoolkit.create_fba(path, "3370", blocks=nblocks * bs // 512) as dev:
        L.FBABlocks(dev, 0, bs).build(nblocks, blocks)
    return path


def test_edf_bad_pointer_and_bitmap(tmp_path):
    with open_minidisk(edf_disk(tmp_path)) as md:
        rep = md.check()
        assert rep.ok, rep.text()
        f = md.find("FIXED", "FILE")
        meta, data, _, _ = md.impl.file_blocks(f)
    first_ptr = meta[0]

    def past(blocks):
        b = bytearray(blocks[first_ptr])
        struct.pack_into(">I", b, 8, 123456)
        blocks[first_ptr] = bytes(b)
    with open_minidisk(edf_disk(tmp_path, past, "past")) as md:
        with pytest.raises(AddressError):
            md.read("FIXED", "FILE")
        assert "chain" in codes(md.check())

    def clear(blocks):
        mb = struct.unpack_from(">I", blocks[4], 64 + 40)[0]     # .ALLOCMAP's first block
        raw = bytearray(blocks[mb])
        k = data[5] - 1
        raw[k // 8] &= ~(0x80 >> (k % 8)) & 0xFF
        blocks[mb] = bytes(raw)
    with open_minidisk(edf_disk(tmp_path, clear, "clear")) as md:
        rep = md.check()
        assert [x.blocks for x in rep.findings if x.code == "free-in-bitmap"] == [[data[5]]]


def test_edf_bad_label(tmp_path):
    def blk(blocks):
        raw = bytearray(blocks[2])
        struct.pack_into(">I", raw, 16, 77)                       # directory origin 77
        blocks[2] = bytes(raw)
    with pytest.raises(FormatError, match="directory origin"):
        open_minidisk(edf_disk(tmp_path, blk))


# -- fuzzing -------------------------------------------------------------------------

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _exercise(path, first=None, last=None):
    try:
        with open_minidisk(path, first, last) as md:
            for f in md.files():
                try:
                    md.read(f)
                except SpoolkitError as exc:
                    str(exc)
            str(md.check().text())
    except SpoolkitError as exc:
        str(exc)


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    d = tmp_path_factory.mktemp("cmsseeds")
    vm = vm370_disk(d)
    edf = edf_disk(d)
    return {"vm370": vm.read_bytes(), "edf": edf.read_bytes(), "dir": d}


@pytest.mark.fuzz
@FUZZ
@given(kind=st.sampled_from(["vm370", "edf"]),
       edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1,
                      max_size=12),
       region=st.sampled_from(["meta", "any"]))
def test_fuzz_mutated_disks(seeds, kind, edits, region):
    data = bytearray(seeds[kind])
    if region == "meta":          # the label, directory and first blocks
        span = (512, 512 + 19456 * 2) if kind == "vm370" else (0, 40 * 512)
    else:
        span = (512 if kind == "vm370" else 0, len(data))
    for pos, value in edits:
        data[span[0] + int(pos * (span[1] - span[0] - 1))] = value
    path = seeds["dir"] / ("m.3350" if kind == "vm370" else "m.fba")
    path.write_bytes(bytes(data))
    try:
        _exercise(path)
    except SpoolkitError:
        pass


@pytest.mark.fuzz
@FUZZ
@given(blocks=st.lists(st.integers(0, 70000), max_size=60),
       nblocks=st.integers(0, 20000), blksize=st.sampled_from([512, 800, 1024, 4096]),
       var=st.booleans(), payload=st.binary(max_size=3000))
def test_fuzz_c_decoders(blocks, nblocks, blksize, var, payload):
    """The C decoders on arbitrary bytes: a typed error or a result, no crash."""
    from array import array

    from spoolkit._native import ffi, lib, new_err

    err = new_err()
    out = array("I", [0]) * max(nblocks, 1)
    fcl = payload[:200].ljust(200, b"\0")
    lib.spk_cms_vm370_blocks(fcl, len(fcl), payload or ffi.NULL, len(payload), nblocks,
                             min(max(nblocks, 5), 65535), ffi.NULL, 0,
                             ffi.from_buffer("uint32_t[]", out), len(out), err)
    if blksize != 800:
        cnt = min(nblocks, 4000)
        o2 = array("I", [0]) * max(cnt, 1)
        h = array("I", [0]) * max(cnt, 1)
        dsp = array("I", [0]) * max(cnt, 1)
        lib.spk_cms_edf_ptrs(payload or b"\0", len(payload), blksize, int(var), cnt, 70000,
                             ffi.from_buffer("uint32_t[]", o2), ffi.from_buffer("uint32_t[]", h),
                             ffi.from_buffer("uint32_t[]", dsp), err)
    recs = min(nblocks, 2000)
    outbuf = bytearray(max(len(payload), 1))
    ends = array("I", [0]) * max(recs, 1)
    lib.spk_cms_unpack(payload or b"\0", len(payload), int(var), blksize, recs,
                       ffi.from_buffer(outbuf), len(outbuf), ffi.from_buffer("uint32_t[]", ends),
                       err)
    arr = array("I", blocks)
    marks = bytearray(8)
    lib.spk_cms_groups(ffi.from_buffer("uint32_t[]", arr) if blocks else ffi.NULL, len(arr),
                       19, 150, ffi.from_buffer(marks), len(marks), err)
    bm = bytearray(payload[:64].ljust(64, b"\0"))
    lib.spk_cms_bitmap_set(ffi.from_buffer(bm), len(bm), 512,
                           ffi.from_buffer("uint32_t[]", arr) if blocks else ffi.NULL, len(arr),
                           1, ffi.NULL, err)


@pytest.mark.fuzz
@FUZZ
@given(recs=st.lists(st.tuples(st.integers(0, 21), st.integers(0, 900)), max_size=24),
       wanted=st.lists(st.integers(0, 60), max_size=40),
       cuts=st.lists(st.integers(0, 3), min_size=1, max_size=6),
       lens=st.lists(st.floats(0, 1), min_size=6, max_size=6),
       noise=st.binary(max_size=64))
def test_fuzz_gather_files(recs, wanted, cuts, lens, noise):
    """spk_cms_gather_files on arbitrary tracks (record numbers, lengths,
    garbage), requests and per-file cuts: a typed error or
    each place filled with its block's bytes, nothing written past a cut."""
    from array import array

    from spoolkit._native import ffi, lib, new_err
    from spoolkit.dasd.track import Track

    bs = 800
    img = bytearray(Track.from_records(0, 0, [
        (0, 0, r, b"", bytes([r]) * dl) for r, dl in recs]).image)
    if noise:
        img[5 + 16 + 8:5 + 16 + 8 + len(noise)] = noise
    lay = ffi.new("spk_cms_layout *")
    lay.blksize, lay.per_group, lay.group_tracks, lay.tracks, lay.heads = bs, 19, 1, 2, 30
    blocks = array("I", wanted)
    n = len(blocks)
    # split the requests into files at the cuts
    fstart, k = array("Q", [0]), 0
    for c in cuts:
        k = min(n, k + c * 4)
        fstart.append(k)
    fstart[-1] = n
    nf = len(fstart) - 1
    bufs = [bytearray((fstart[f + 1] - fstart[f]) * bs + 16) for f in range(nf)]
    dests = ffi.new("spk_cms_dest[]", max(nf, 1))
    keep = []
    for f in range(nf):
        c = ffi.from_buffer("uint8_t[]", bufs[f])
        keep.append(c)
        dests[f].data = c
        dests[f].len = int(lens[f] * (fstart[f + 1] - fstart[f]) * bs)
    order = array("I", [0]) * n
    err = new_err()
    lib.spk_cms_order(ffi.from_buffer("uint32_t[]", blocks) if n else ffi.NULL, n,
                      ffi.from_buffer("uint32_t[]", order) if n else ffi.NULL, err)
    got = bytearray(max(n, 1))
    offs, tl = array("I", [0, 0]), array("I", [len(img), len(img)])
    rc = lib.spk_cms_gather_files(ffi.from_buffer(img), len(img),
                                  ffi.from_buffer("uint32_t[]", offs),
                                  ffi.from_buffer("uint32_t[]", tl), 2, 0, lib.SPK_TRK_ANYHA, lay,
                                  ffi.from_buffer("uint32_t[]", blocks) if n else ffi.NULL,
                                  ffi.from_buffer("uint32_t[]", order) if n else ffi.NULL, n,
                                  ffi.from_buffer("uint64_t[]", fstart), nf, dests,
                                  ffi.from_buffer(got), err)
    for f in range(nf):
        cut = dests[f].len
        assert bufs[f][cut:] == bytes(len(bufs[f]) - cut)      # nothing past the cut
        if rc < 0 or noise:                   # noise may land in the records' data
            continue
        for i in range(fstart[f], fstart[f + 1]):
            if got[i]:
                at = (i - fstart[f]) * bs
                piece = bufs[f][at:min(at + bs, cut)]
                assert piece == bytes([(blocks[i] - 1) % 19 + 1]) * len(piece)


@pytest.mark.fuzz
@FUZZ
@given(payload=st.binary(max_size=5000), bs=st.sampled_from([512, 1024, 4096]),
       files=st.lists(st.tuples(st.booleans(), st.integers(0, 12), st.integers(0, 12),
                                st.integers(0, 1200), st.integers(0, 1300)), max_size=6),
       maxblock=st.sampled_from([0, 1000, 1 << 20, (1 << 32) - 1]), room=st.integers(0, 1400))
def test_fuzz_edf_ptrs_many(payload, bs, files, maxblock, room):
    """spk_cms_edf_ptrs_many on arbitrary pointer blocks and file tables:
    a typed error naming the file, or each file's block numbers exactly what
    spk_cms_edf_ptrs gives for it alone."""
    from array import array

    from spoolkit._native import ffi, lib, new_err

    buf = bytes(payload.ljust(bs, b"\0"))
    # most files: pointer blocks inside the buffer and no more pointers than they hold
    have = len(buf) // bs
    files = [(v, a % have, min(b, have - a % have), c % (min(b, have - a % have)
                                                         * (bs // (12 if v else 4)) + 1), o)
             if c % 5 else (v, a, b, c, o) for v, a, b, c, o in files]
    nf = len(files)
    var = bytearray(int(v) for v, *_ in files)
    first = array("Q", (a for _, a, _, _, _ in files))
    nblk = array("Q", (b for _, _, b, _, _ in files))
    count = array("Q", (c for *_, c, _ in files))
    ostart = array("Q", (o for *_, o in files))
    out = array("I", [0xEEEEEEEE]) * max(room, 1)
    bad = ffi.new("uint64_t *")
    err = new_err()
    u64 = lambda a: ffi.from_buffer("uint64_t[]", a) if len(a) else ffi.NULL  # noqa: E731
    rc = lib.spk_cms_edf_ptrs_many(buf, len(buf), bs, nf,
                                   ffi.from_buffer("uint8_t[]", var) if nf else ffi.NULL,
                                   u64(first), u64(nblk), u64(count), u64(ostart), maxblock,
                                   ffi.from_buffer("uint32_t[]", out), room, bad, err)
    if rc < 0:
        assert rc in (lib.SPK_EARG, lib.SPK_ETRUNC, lib.SPK_ERANGE) and bad[0] < nf
        return
    assert rc == sum(count) and bad[0] == nf
    for f, (v, a, b, c, o) in enumerate(files):
        one = array("I", [0]) * max(c, 1)
        extra = array("I", [0]) * max(c, 1)
        n = lib.spk_cms_edf_ptrs(buf[a * bs:(a + b) * bs], b * bs, bs, int(v), c, maxblock,
                                 ffi.from_buffer("uint32_t[]", one),
                                 ffi.from_buffer("uint32_t[]", extra),
                                 ffi.from_buffer("uint32_t[]", extra), err)
        assert n == c
        if c and not any(o2 < o + c and o < o2 + c2                 # a place no later
                         for _, _, _, c2, o2 in files[f + 1:]):     # file overwrote
            assert out[o:o + c] == one[:c]


@pytest.mark.fuzz
@FUZZ
@given(payload=st.binary(max_size=3000),
       files=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 3100), st.integers(0, 3100),
                                st.integers(0, 300), st.integers(0, 400)), max_size=6),
       room=st.integers(0, 2000))
def test_fuzz_unpack_files(payload, files, room):
    """spk_cms_unpack_files on arbitrary files in a buffer: a typed error, or
    each V file's records moved to its start, the F ends multiples of LRECL."""
    from array import array

    from spoolkit._native import ffi, lib, new_err

    buf = bytearray(payload or b"\0")
    before = bytes(buf)
    nf = len(files)
    kind = bytearray(k for k, *_ in files)
    at = array("Q", (a for _, a, _, _, _ in files))
    ln = array("Q", (n for _, _, n, _, _ in files))
    lrecl = array("I", (r for *_, r, _ in files))
    nrecs = array("Q", (n for *_, n in files))
    ends = array("I", [0]) * max(room, 1)
    size = array("Q", [0]) * max(nf, 1)
    bad = ffi.new("uint64_t *")
    err = new_err()
    u64 = lambda a: ffi.from_buffer("uint64_t[]", a) if len(a) else ffi.NULL  # noqa: E731
    rc = lib.spk_cms_unpack_files(ffi.from_buffer("uint8_t[]", buf), len(buf), nf,
                                  ffi.from_buffer("uint8_t[]", kind) if nf else ffi.NULL,
                                  u64(at), u64(ln),
                                  ffi.from_buffer("uint32_t[]", lrecl) if nf else ffi.NULL,
                                  u64(nrecs), ffi.from_buffer("uint32_t[]", ends), room,
                                  u64(size) if nf else ffi.NULL, bad, err)
    if rc < 0:
        assert bad[0] < nf
        return
    assert rc == sum(nrecs) and bad[0] == nf
    e = 0
    for f, (k, a, _n, r, cnt) in enumerate(files):
        mine = ends[e:e + cnt]
        if k == 0:
            assert list(mine) == [(i + 1) * r for i in range(cnt)]
        elif k == 2 and cnt:           # V: the records of the original bytes, moved to a
            pos, out = a, b""
            for _ in range(cnt):
                m = before[pos] << 8 | before[pos + 1]
                out += before[pos + 2:pos + 2 + m]
                pos += 2 + m
            assert bytes(buf[a:a + len(out)]) == out and size[f] == len(out)
            break                      # later files may overlap this one's bytes
        e += cnt


@given(groups=st.sets(st.integers(0, 300), max_size=120))
def test_group_runs(groups):
    """The runs of consecutive track groups the gather reads: every group in
    exactly one run, each run consecutive, runs apart from each other."""
    from array import array

    from spoolkit.cms.extent import _group_runs

    g = sorted(groups)
    runs = _group_runs(array("I", g))
    assert [x for a, n in runs for x in range(a, a + n)] == g
    assert all(n >= 1 for _, n in runs)
    assert all(a1 + n1 < a2 for (a1, n1), (a2, _) in zip(runs, runs[1:]))
