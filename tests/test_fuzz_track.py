"""Mutated track bytes either parse or raise FormatError — never crash.

CI runs these (marker ``fuzz``) against the C core built with ASan/UBSan."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoolkit import Track
from spoolkit._native import ffi, lib, new_err
from spoolkit.dasd.track import ANY_HA, OVERFLOW
from spoolkit.errors import FormatError
from spoolkit.geometry import lookup_ckd

BASE = Track.from_records(1, 2, [(1, b"", b"A" * 80), (2, b"KEY1", b"B" * 300),
                                 (3, b"", b"")]).image
DEV = lookup_ckd("3390-3")

pytestmark = pytest.mark.fuzz


@st.composite
def mutated(draw):
    data = bytearray(BASE)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["set", "cut", "grow"]))
        if kind == "set" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[draw(st.integers(0, len(data))):]
        else:
            data += draw(st.binary(max_size=64))
    return bytes(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_parse_or_format_error(data):
    try:
        t = Track(data, 1, 2)
    except FormatError:
        return
    # whatever parsed must be self-consistent and inside the buffer
    assert len(t.image) <= len(data)
    assert t.image.endswith(b"\xff" * 8)
    for rec in t.records:
        assert rec.offset + 8 + rec.kl + rec.dl <= len(t.image) - 8


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 0xF))
def test_validate_random_bytes(data, flags):
    err = new_err()
    info = ffi.new("spk_track_info *")
    rc = lib.spk_track_validate(data, len(data), 1, 2, flags & (OVERFLOW | ANY_HA | 8),
                                DEV._ptr, info, err)
    assert rc <= 0
    if rc == 0:
        assert info.length <= len(data)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 255), st.binary(max_size=20),
                          st.binary(max_size=3000)), max_size=20))
def test_build_parse_roundtrip(recs):
    t = Track.from_records(9, 14, recs)
    assert [(r.r, bytes(r.key), bytes(r.data)) for r in t.records] == recs
    assert Track(t.image + b"junk", 9, 14) == t


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=600), st.integers(0, 3))
def test_image_header_random(tmp_path_factory, data, tracks):
    """Random headers (with a valid magic) open or raise a SpoolkitError."""
    from spoolkit import SpoolkitError, open_dasd

    path = tmp_path_factory.mktemp("h") / "x.img"
    path.write_bytes(b"CKD_P370" + data + bytes(tracks * 1000))
    try:
        with open_dasd(path) as dev:
            dev.scan()
    except SpoolkitError:
        pass
