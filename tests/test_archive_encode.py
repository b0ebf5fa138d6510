"""spk_archive_encode: SPKF/SPKP blocks framed in one C call are the bytes of
the Python encoder (archive.py) framed block by block as the tape writes
them; every length and argument is checked."""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spoolkit._native import check, ffi, lib, new_err
from spoolkit.backup import blocks as A
from spoolkit.errors import FormatError, InvalidArgumentError, SpoolkitError

AWS, FKT, STREAM = lib.SPK_TAPE_AWS, lib.SPK_TAPE_FAKETAPE, lib.SPK_ARCH_STREAM
PAGE = A.PAGE_SIZE


def _entry(npages: int, seq: int = 3) -> A.CatalogEntry:
    return A.CatalogEntry(seq, 4321, "Maint", "PRT", pages=npages, records=99,
                          created=1_760_000_000_123_456, crc=0x89ABCDEF)


def _info(e: A.CatalogEntry) -> object:
    return ffi.new("spk_archive_file *", {
        "fileseq": e.fileseq, "pages": e.pages, "records": e.records, "spoolid": e.spoolid,
        "owner": A._pad(e.owner), "created": e.created, "crc": e.crc})


def _frame(fmt: int, method: int = 0, level: int = 1, chunk: int = 65535, prev: int = 0):
    return ffi.new("spk_archive_frame *", {"format": fmt, "method": method, "level": level,
                                           "chunksize": chunk, "prev": prev})


def encode(e, header, first, pages, final, fr, cap=None):
    """Call spk_archive_encode; -> (bytes, blocks, last)."""
    npages = len(pages) // PAGE
    bound = lib.spk_archive_bound(fr, header is not None, npages)
    out = bytearray(cap if cap is not None else max(bound, 0) + 16)
    err = new_err()
    n = lib.spk_archive_encode(_info(e), ffi.NULL if header is None else ffi.from_buffer(header),
                               0 if header is None else len(header), first,
                               ffi.from_buffer(pages), len(pages), final, fr,
                               ffi.from_buffer(out), len(out), err)
    check(n, err)
    assert n <= bound
    return bytes(out[:n]), fr.blocks, fr.prev


def reference(e, header, first, pages, fmt, method=0, level=1, chunk=65535, prev=0):
    """The Python encoder's blocks, each framed by spk_tape_build_block (or
    with the minidisk's 8-byte header) as the per-block DUMP path writes them."""
    blocks = []
    if header is not None:
        blocks.append(A.FileHeader(e.fileseq, e.pages, e.records, e.spoolid, e.owner,
                                   e.created, e.crc, header).encode())
    step = A.PAGES_PER_BLOCK * PAGE
    for i in range(0, len(pages), step):
        blocks.append(A.encode_pages(e.fileseq, first + i // PAGE, pages[i:i + step]))
    out = bytearray()
    for b in blocks:
        if fmt == STREAM:
            out += struct.pack(">IB3x", len(b), 0) + b
            continue
        buf = bytearray(len(b) + (len(b) // max(chunk, 1) + 2) * 12 + 64)
        last = ffi.new("uint32_t *")
        err = new_err()
        n = check(lib.spk_tape_build_block(ffi.from_buffer(b), len(b), fmt, method, level,
                                           chunk, prev, ffi.from_buffer(buf), len(buf), last,
                                           ffi.NULL, err), err)
        out += buf[:n]
        prev = last[0]
    return bytes(out), len(blocks), prev


def _pages(n: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    # a mix of random (incompressible) and repetitive (compressible) pages
    return b"".join(rnd.randbytes(PAGE) if rnd.random() < 0.5 else
                    bytes([rnd.randrange(256)]) * PAGE for _ in range(n))


FRAMINGS = [
    (AWS, 0, 1, 65535), (AWS, 0, 1, 4096), (AWS, 0, 1, 1000), (AWS, 0, 1, 1),
    (AWS, 1, 1, 65535), (AWS, 1, 6, 3000), (AWS, 2, 9, 65535), (FKT, 0, 0, 0),
    (STREAM, 0, 0, 0),
]


# one-byte chunks make 7 bytes of every byte: small files are enough there
CASES = [(*f, n) for f in FRAMINGS for n in (0, 1, 14, 15, 16, 30, 31, 47)
         if f[3] != 1 or n <= 16]


@pytest.mark.parametrize("fmt,method,level,chunk,npages", CASES)
def test_matches_python_encoder(fmt, method, level, chunk, npages):
    e = _entry(npages)
    header, pages = _pages(1, npages), _pages(npages, npages + 1)
    prev = 0 if fmt == STREAM else 1234
    got = encode(e, header, 0, pages, 1, _frame(fmt, method, level, chunk, prev))
    assert got == reference(e, header, 0, pages, fmt, method, level, chunk, prev)


@settings(max_examples=60, deadline=None)
@given(fmt=st.sampled_from(FRAMINGS), blocks=st.integers(0, 4), rest=st.integers(0, 14),
       first=st.integers(0, 2**32 - 200), header=st.booleans(),
       prev=st.integers(0, 0xFFFF), seed=st.integers(0, 2**16))
def test_pieces_match_python_encoder(fmt, blocks, rest, first, header, prev, seed):
    fmt, method, level, chunk = fmt
    if chunk < 512:
        chunk = 512                        # keeps the test fast; 1-byte chunks are above
    prev = 0 if fmt == STREAM else prev
    e = _entry(blocks * 15 + rest, seq=seed)
    hp = _pages(1, seed) if header else None
    pages = _pages(blocks * 15 + rest, seed + 1)
    got = encode(e, hp, first, pages, 1, _frame(fmt, method, level, chunk, prev))
    assert got == reference(e, hp, first, pages, fmt, method, level, chunk, prev)
    if rest == 0:                          # whole blocks may also come as a middle piece
        assert encode(e, hp, first, pages, 0, _frame(fmt, method, level, chunk, prev)) == got


def test_bound_is_exact_for_plain_framing():
    for fmt, chunk in ((AWS, 65535), (AWS, 700), (FKT, 0), (STREAM, 0)):
        for n in (0, 1, 15, 16, 44):
            fr = _frame(fmt, chunk=chunk)
            data, _, _ = encode(_entry(n), bytes(PAGE), 0, bytes(n * PAGE), 1, fr)
            assert len(data) == lib.spk_archive_bound(_frame(fmt, chunk=chunk), 1, n)


@pytest.mark.parametrize("fmt,method", [(AWS, 0), (AWS, 1), (FKT, 0), (STREAM, 0)])
def test_output_one_byte_short_is_refused(fmt, method):
    pages = bytes(20 * PAGE)
    bound = lib.spk_archive_bound(_frame(fmt, method), 1, 20)
    with pytest.raises(SpoolkitError, match="output buffer"):
        encode(_entry(20), bytes(PAGE), 0, pages, 1, _frame(fmt, method), cap=bound - 1)
    data, blocks, _ = encode(_entry(20), bytes(PAGE), 0, pages, 1, _frame(fmt, method),
                             cap=bound)
    assert blocks == 3 and len(data) <= bound


def test_bad_arguments_are_refused():
    e, hp = _entry(2), bytes(PAGE)
    with pytest.raises(FormatError, match="header page of 4095"):
        encode(e, hp[:-1], 0, bytes(2 * PAGE), 1, _frame(AWS))
    with pytest.raises(FormatError, match="not whole"):
        encode(e, hp, 0, bytes(2 * PAGE - 1), 1, _frame(AWS))
    with pytest.raises(InvalidArgumentError, match="block boundary"):
        encode(e, hp, 0, bytes(16 * PAGE), 0, _frame(AWS))
    with pytest.raises(InvalidArgumentError, match="overflows"):
        encode(e, None, 2**32 - 1, bytes(2 * PAGE), 1, _frame(AWS))
    bad = [_frame(AWS, chunk=0), _frame(AWS, chunk=65536), _frame(AWS, prev=65536),
           _frame(AWS, method=7), _frame(FKT, method=1), _frame(STREAM, method=1),
           _frame(9)]
    for fr in bad:
        assert lib.spk_archive_bound(fr, 1, 1) == lib.SPK_EARG
        with pytest.raises(InvalidArgumentError):
            encode(e, hp, 0, bytes(2 * PAGE), 1, fr, cap=1 << 20)
    err = new_err()
    out = bytearray(1 << 16)
    assert lib.spk_archive_encode(ffi.NULL, ffi.NULL, 0, 0, ffi.NULL, 0, 1, _frame(AWS),
                                  ffi.from_buffer(out), len(out), err) == lib.SPK_EARG
    assert lib.spk_archive_encode(_info(e), ffi.NULL, 0, 0, ffi.NULL, PAGE, 1, _frame(AWS),
                                  ffi.from_buffer(out), len(out), err) == lib.SPK_EARG
    assert lib.spk_archive_encode(_info(e), ffi.NULL, 0, 0, ffi.NULL, 0, 1, _frame(AWS),
                                  ffi.NULL, 0, err) == lib.SPK_EARG
    assert lib.spk_archive_bound(ffi.NULL, 1, 1) == lib.SPK_EARG
    assert lib.spk_archive_bound(_frame(AWS), 1, 2**32) == lib.SPK_EARG


def _python_track(cyl, head, data, n, reclen=PAGE):
    """The minidisk track image as mdisk.py built it in Python."""
    image = bytearray(struct.pack(">BHHHHBBH8x", 0, cyl, head, cyl, head, 0, 0, 8))
    for r in range(n):
        image += struct.pack(">HHBBH", cyl, head, r + 1, 0, reclen)
        image += data[r * reclen:(r + 1) * reclen]
    return bytes(image + b"\xff" * 8)


@pytest.mark.parametrize("cyl,head,n", [(0, 0, 12), (1, 14, 12), (65535, 65535, 1), (300, 2, 10)])
def test_track_image_matches_python_builder(cyl, head, n):
    data = _pages(n, cyl + head)
    out = bytearray(64 * 1024)
    err = new_err()
    k = check(lib.spk_track_build_fixed(ffi.from_buffer(out), len(out), cyl, head,
                                          ffi.from_buffer(data), len(data), PAGE, n, err), err)
    assert bytes(out[:k]) == _python_track(cyl, head, data, n)


def test_track_image_arguments_are_checked():
    data = bytes(12 * PAGE)
    out = bytearray(64 * 1024)
    err = new_err()

    def build(cyl=1, head=1, d=data, reclen=PAGE, n=12, cap=None):
        cap = len(out) if cap is None else cap
        return lib.spk_track_build_fixed(ffi.from_buffer(out), cap, cyl, head,
                                           ffi.from_buffer(d), len(d), reclen, n, err)

    assert build() > 0
    assert build(d=data[:-1]) == lib.SPK_EARG            # data is not n records
    assert build(n=0) == lib.SPK_EARG
    assert build(n=256, d=bytes(256 * 16), reclen=16) == lib.SPK_EARG
    assert build(reclen=0, n=12, d=b"x") == lib.SPK_EARG
    assert build(reclen=65536, n=1, d=bytes(65536)) == lib.SPK_EARG
    assert build(cyl=65536) == lib.SPK_EARG
    assert build(cap=len(_python_track(1, 1, data, 12)) - 1) == lib.SPK_EBUFSIZE
    assert build(cap=len(_python_track(1, 1, data, 12))) == len(_python_track(1, 1, data, 12))
    assert lib.spk_track_build_fixed(ffi.NULL, 0, 0, 0, ffi.NULL, 0, PAGE, 1,
                                       err) == lib.SPK_EARG
