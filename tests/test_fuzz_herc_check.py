"""Fuzz: the C emulation of Hercules 3.x ``cckdcdsk -3``'s track check
(``spk_cckd_herc_check``) against a line-by-line Python transcription of
``cdsk_valid_trk`` (cckdutil.c), on mutated track images; and the
same-method copy of mutated stored images (``spk_cckd_pass_image``) never
reads or writes outside its buffers (CI runs these under ASan/UBSan)."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoolkit import Track
from spoolkit._native import ffi, lib, new_err

SETTINGS = settings(max_examples=400, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
HEADS, TRKSIZE = 15, 56832


def cdsk_valid_trk(buf: bytes, trk: int, heads: int) -> bool:
    """cckdutil.c (Hercules 3.13) cdsk_valid_trk for a CKD image, len > 0."""
    bufl = len(buf)
    if bufl <= 5 + 8 + 8 + 8 + 8:
        return False

    def hw(i: int) -> int:
        return (buf[i] << 8) | buf[i + 1]

    if hw(1) != trk // heads or hw(3) != trk % heads:
        return False
    if hw(1) != hw(5) or hw(3) != hw(7) or buf[9] != 0 or buf[10] != 0 or hw(11) != 8:
        return False
    i = 21
    while i < bufl - 8:
        if hw(i + 2) >= heads or buf[i + 4] == 0:
            break
        i += 8 + buf[i + 5] + hw(i + 6)
    return i == bufl - 8 and buf[i:i + 8] == b"\xff" * 8


def _parses(image: bytes, trk: int) -> bool:
    err = new_err()
    return lib.spk_track_parse(image, len(image), trk // HEADS, trk % HEADS, 1, ffi.NULL, 0,
                               ffi.NULL, err) >= 0


SEEDS = [Track.from_records(0, 7, [(1, b"", b"x" * 40), (2, b"KEY", b"y" * 300)]).image,
         Track.from_records(0, 7, []).image,
         Track.from_records(0, 7, [(1, b"", b"")]).image,
         Track.from_records(0, 7, [(r, b"", bytes([r]) * r) for r in range(1, 30)]).image]


@pytest.mark.fuzz
@SETTINGS
@given(st.sampled_from(SEEDS), st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)),
                                        max_size=6),
       st.integers(-40, 40))
def test_herc_check_matches_cdsk_valid_trk(seed, flips, cut):
    image = bytearray(seed)
    for pos, val in flips:
        if pos < len(image):
            image[pos] = val
    if cut > 0:
        image = image[:max(0, len(image) - cut)]
    elif cut < 0:
        image += bytes(-cut)
    image = bytes(image)
    err = new_err()
    rc = lib.spk_cckd_herc_check(image, len(image), 7, HEADS, err)
    if rc < 0:
        assert ffi.string(err.msg)
    if _parses(image, 7):      # the check's contract: images the parser took
        assert (rc >= 0) == cdsk_valid_trk(image, 7, HEADS), image.hex()


@pytest.mark.fuzz
@SETTINGS
@given(st.sampled_from(SEEDS), st.integers(0, 2), st.binary(max_size=64),
       st.integers(0, 80), st.integers(0, 2))
def test_pass_image_stays_inside_its_buffers(seed, code, junk, cut, nullfmt):
    body = seed[5:] if code == 0 else zlib.compress(seed[5:]) if code == 1 else junk
    stored = bytes([code]) + seed[1:5] + body
    stored = stored[:max(0, len(stored) - cut)] + (junk if cut % 3 == 0 else b"")
    scratch = bytearray(TRKSIZE)
    err = new_err()
    rc = lib.spk_cckd_pass_image(stored, len(stored), 7, HEADS, 1, TRKSIZE, nullfmt,
                                 ffi.from_buffer(scratch), len(scratch), err)
    assert rc < 0 or rc in (0, 1, 2, lib.SPK_CCKD_KEEP, lib.SPK_CCKD_FLAGGED,
                            lib.SPK_CCKD_RESTORE)
    if rc < 0:
        assert ffi.string(err.msg)
