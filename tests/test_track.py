"""Track images: parse, validate, build, overflow bit, bad input."""

import struct

import pytest

from spoolkit import Track
from spoolkit.errors import FormatError, InvalidArgumentError, TruncatedError

EOT = b"\xff" * 8


def raw_track(cyl, head, recs, r0=bytes(8), ha_flag=0):
    """Independent pure-Python builder used to check the C one."""
    out = bytearray(struct.pack(">BHH", ha_flag, cyl, head))
    out += struct.pack(">HHBBH", cyl, head, 0, 0, 8) + r0
    for c, h, r, key, data in recs:
        out += struct.pack(">HHBBH", c, h, r, len(key), len(data)) + key + data
    return bytes(out + EOT)


def test_build_matches_independent_layout():
    recs = [(7, 3, 1, b"", b"A" * 80), (7, 3, 2, b"KEYK", b"data" * 10), (7, 3, 3, b"", b"")]
    t = Track.from_records(7, 3, [(r, k, d) for _, _, r, k, d in recs])
    assert t.image == raw_track(7, 3, recs)
    assert (t.cyl, t.head, t.nrecs) == (7, 3, 3)
    assert [(r.r, bytes(r.key), bytes(r.data)) for r in t.records] == \
        [(r, k, d) for _, _, r, k, d in recs]
    assert t.records[2].is_eof
    assert t.key_bytes == 4 and t.data_bytes == 120


def test_records_are_views_not_copies():
    t = Track.from_records(0, 1, [(1, b"K", b"x" * 100)])
    rec = t.records[0]
    assert isinstance(rec.data, memoryview) and isinstance(rec.key, memoryview)
    assert rec.data.obj is t.image


def test_bytes_after_eot_are_dropped():
    image = raw_track(1, 1, [(1, 1, 1, b"", b"z" * 10)])
    t = Track(image + b"\x99" * 500, 1, 1)
    assert t.image == image


def test_r0_data_kept():
    t = Track.from_records(2, 0, [], r0=b"R0R0R0R0")
    assert bytes(t.r0.data) == b"R0R0R0R0"
    assert t.nrecs == 0 and len(t) == 29


def test_overflow_bit():
    image = raw_track(5, 1, [(0x8005, 1, 1, b"", b"seg1"), (5, 1, 2, b"", b"x")])
    t = Track(image, 5, 1)
    assert [(r.cyl, r.overflow) for r in t.records] == [(5, True), (5, False)]
    # a volume with >= 32768 cylinders has no overflow flag: CC is taken as is
    t2 = Track(image, 5, 1, overflow=False)
    assert t2.records[0].cyl == 0x8005 and not t2.records[0].overflow
    # and building with the flag round-trips
    t3 = Track.from_records(5, 1, [t.records[0], t.records[1]])
    assert t3.image == image


def test_null_formats():
    assert len(Track.null(3, 4, 0)) == 37 and Track.null(3, 4, 0).records[0].is_eof
    assert len(Track.null(3, 4, 1)) == 29
    t2 = Track.null(3, 4, 2)
    assert len(t2) == 49277 and [r.dl for r in t2.records] == [4096] * 12


@pytest.mark.parametrize("cut", [0, 4, 5, 20, 28])
def test_truncated(cut):
    image = raw_track(0, 0, [])
    with pytest.raises(FormatError):
        Track(image[:cut], 0, 0)


def test_missing_eot():
    image = raw_track(0, 0, [(0, 0, 1, b"", b"abc")])[:-8]
    with pytest.raises(TruncatedError, match="end-of-track"):
        Track(image, 0, 0)
    # zeros where EOT should be are an empty count, still without an EOT after it
    with pytest.raises(TruncatedError, match="no end-of-track marker after record 2"):
        Track(image + bytes(8), 0, 0)


def test_dl_past_slot_names_offset():
    image = bytearray(raw_track(0, 0, [(0, 0, 1, b"", b"abc")]))
    image[21 + 6:21 + 8] = struct.pack(">H", 60000)
    with pytest.raises(FormatError) as exc:
        Track(bytes(image), 0, 0)
    assert exc.value.offset == 21
    assert "runs past" in str(exc.value)


def test_home_address_mismatch():
    image = raw_track(4, 2, [])
    with pytest.raises(FormatError, match="home address says cylinder 4 head 2"):
        Track(image, 4, 3)
    with pytest.raises(FormatError, match="flag byte"):
        Track(b"\x01" + image[1:], 4, 2)


def test_from_records_rejects_bad_input():
    with pytest.raises(InvalidArgumentError):
        Track.from_records(0, 1, [(256, b"", b"")])
    with pytest.raises(InvalidArgumentError):
        Track.from_records(0, 1, [(1, b"k" * 256, b"")])
    with pytest.raises(InvalidArgumentError):
        Track.from_records(0, 1, [(1, b"", bytes(65536))])


@pytest.mark.parametrize("call", [
    lambda: Track(Track.null(0, 0).image, -1, 0),
    lambda: Track(Track.null(0, 0).image, 0, 1 << 32),
    lambda: Track.from_records(-1, 0, []),
    lambda: Track.from_records(0, 70000, [(1, b"", b"")]),
    lambda: Track.from_records(0, 0, [(0, 70000, 1, b"", b"")]),
    lambda: Track.from_records(0, 0, [(-3, 0, 1, b"", b"")]),
    lambda: Track.null(0, -5),
])
def test_cchh_out_of_range_is_a_typed_error(call):
    # CC and HH are 16-bit; out-of-range values are the caller's error, not OverflowError
    with pytest.raises(InvalidArgumentError, match="outside 0..65535"):
        call()
