"""Mutated track bytes either parse or raise FormatError — never crash.

Seeds: a built track and real tracks of the fixture images (the interleaved
CP tracks of vm50u1 among them).  CI runs these (marker ``fuzz``) against the
C core built with ASan/UBSan."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoolkit import Track, create_dasd, open_dasd
from spoolkit._native import ffi, lib, new_err
from spoolkit.dasd.track import ANY_HA, OVERFLOW
from spoolkit.errors import FormatError, SpoolkitError
from spoolkit.geometry import lookup_ckd

BASE = Track.from_records(1, 2, [(1, b"", b"A" * 80), (2, b"KEY1", b"B" * 300),
                                 (3, b"", b"")]).image
DEV = lookup_ckd("3390-3")

pytestmark = pytest.mark.fuzz


def _real_seeds() -> list[tuple[str, Track]]:
    """(model, track) for a few non-empty real tracks per fixture image."""
    picks = [("vm50u1.cckd", [(0, 0), (0, 1), (0, 2), (0, 29), (1, 0)]),
             ("vm14-3.cckd", [(0, 0), (0, 1)]),
             ("cms/cmsuser_191.cckd", [(0, 0), (0, 1), (3, 7)]),
             ("hercules-tests/3390.cckd64", [(0, 0), (0, 1)]),
             ("hercules-tests/3380.cckd64", [(0, 0)])]
    out = []
    for name, tracks in picks:
        if FIXTURES is None or not (FIXTURES / name).exists():
            continue
        with open_dasd(FIXTURES / name) as dev:
            out += [(dev.model, dev.read_track(c, h)) for c, h in tracks]
    return out


REAL = _real_seeds()
SEEDS = [("3390-3", Track(BASE))] + REAL


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


def mutate(draw, data: bytearray) -> bytes:
    """Byte sets, bit flips, cuts, growth, and count fields with extreme KL/DL/R."""
    counts = [r.offset for r in Track(bytes(data), overflow=True).records] or [13]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["set", "flip", "cut", "grow", "count"]))
        if kind in ("set", "flip") and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255)) if kind == "set" else \
                data[i] ^ (1 << draw(st.integers(0, 7)))
        elif kind == "cut":
            del data[draw(st.integers(0, len(data))):]
        elif kind == "grow":
            data += draw(st.binary(max_size=64))
        else:
            off = draw(st.sampled_from(counts)) + draw(st.sampled_from([4, 5, 6]))
            if off + 2 <= len(data):
                data[off:off + 2] = draw(st.sampled_from(
                    [b"\x00\x00", b"\xff\xff", b"\x00\xff", b"\xff\x00", b"\x80\x00"]))
    return bytes(data)


@st.composite
def mutated_real(draw):
    model, track = draw(st.sampled_from(SEEDS))
    return model, track, mutate(draw, bytearray(track.image))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_real())
def test_mutated_real_tracks_parse_validate_or_typed_error(case):
    model, track, data = case
    dev = lookup_ckd(model)
    try:
        t = Track(data, track.cyl, track.head)
    except FormatError:
        t = None
    if t is not None:
        assert len(t.image) <= len(data) and t.image.endswith(b"\xff" * 8)
        for rec in t.records:
            assert rec.offset + 8 + rec.kl + rec.dl <= len(t.image) - 8
    err = new_err()
    info = ffi.new("spk_track_info *")
    rc = lib.spk_track_validate(data, len(data), track.cyl, track.head, OVERFLOW, dev._ptr,
                                info, err)
    assert rc <= 0
    if rc == 0:
        assert t is not None and info.length == len(t.image)


@pytest.fixture(scope="module")
def volumes(tmp_path_factory):
    """One small open volume per fixture model, for TRACKWRITE fuzzing."""
    d = tmp_path_factory.mktemp("fz")
    vols = {}
    for model in sorted({m for m, _ in SEEDS}):
        vols[model] = create_dasd(d / f"{model}.img", model, None, cylinders=2, raw=True)
    yield vols
    for v in vols.values():
        v.close()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=mutated_real())
def test_mutated_real_tracks_write_or_typed_error(volumes, case):
    model, track, data = case
    dev = volumes[model]
    cyl, head = track.cyl % 2, track.head
    data = bytearray(data)
    if len(data) >= 5:
        data[1:5] = bytes([0, cyl, head >> 8, head & 0xFF])  # keep the HA on this volume
    try:
        dev.write_track(cyl, head, bytes(data))
    except SpoolkitError as exc:
        assert str(exc)
        return
    got = dev.read_track(cyl, head).image
    assert bytes(data).startswith(got)


@pytest.mark.skipif(not REAL, reason="real fixture images not found")
@settings(max_examples=200, deadline=None)
@given(st.sampled_from(REAL), st.randoms(use_true_random=False))
def test_real_tracks_with_records_in_any_order_validate(seed, rnd):
    # record numbers and their order are not rules: any permutation of a real
    # track's records is as valid as the track (formula -1 devices sum the
    # same bytes in any order; others keep the original last record)
    model, track = seed
    recs = [(r.cyl, r.head, r.r, bytes(r.key), bytes(r.data)) for r in track.records]
    last = recs[-1:] if lookup_ckd(model).formula == -2 else []
    body = recs[:len(recs) - len(last)]
    rnd.shuffle(body)
    t = Track.from_records(track.cyl, track.head, body + last, r0=bytes(track.r0.data))
    err = new_err()
    assert lib.spk_track_validate(t.image, len(t.image), track.cyl, track.head, OVERFLOW,
                                  lookup_ckd(model)._ptr, ffi.NULL, err) == 0, \
        ffi.string(err.msg)
