"""Crafted and fuzzed bad compressed images: typed errors, checker reports."""

from __future__ import annotations

import struct
import zlib

import pytest
from conftest import small_cckd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spoolkit
from spoolkit._native import ffi, lib, new_err
from spoolkit.dasd import open_dasd
from spoolkit.errors import (
    CompressionError,
    FormatError,
    SpoolkitError,
    TruncatedError,
)

L1 = 1024


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> bytes:
    return small_cckd(tmp_path_factory.mktemp("good"), seed=5)


def l2_offset(raw: bytes) -> int:
    return struct.unpack_from("<I", raw, L1)[0]


def put(raw: bytes, off: int, fmt: str, *vals) -> bytes:
    b = bytearray(raw)
    struct.pack_into(fmt, b, off, *vals)
    return bytes(b)


def entry(raw: bytes, trk: int) -> tuple[int, int, int]:
    return struct.unpack_from("<IHH", raw, l2_offset(raw) + 8 * trk)


def write(tmp_path, raw: bytes, name: str = "bad.cckd"):
    p = tmp_path / name
    p.write_bytes(raw)
    return p


def read_all(path) -> None:
    with open_dasd(path) as d:
        for trk in range(d.total_tracks):
            d.read_track(*divmod(trk, d.heads))


def errors_of(path, level=3) -> list[dict]:
    report = spoolkit.check_dasd(path, level)
    assert not report["ok"]
    return report["errors"]


def test_good_is_good(good, tmp_path):
    p = write(tmp_path, good, "good.cckd")
    read_all(p)
    assert spoolkit.check_dasd(p, 3)["ok"]


def test_l1_entry_past_eof(good, tmp_path):
    p = write(tmp_path, put(good, L1, "<I", len(good) + 100))
    with open_dasd(p) as d, pytest.raises(FormatError, match="past the end"):
        d.read_track(0, 5)       # group 0 has no trustworthy table: refused, not null
    with pytest.raises(FormatError, match="past the end.*dasd check --repair"):
        open_dasd(p, "r+")
    assert any(e["kind"] == "l1" and "past the end" in e["message"] for e in errors_of(p))


def test_l2_overlapping_header(good, tmp_path):
    p = write(tmp_path, put(good, L1, "<I", 600))
    with open_dasd(p) as d, pytest.raises(FormatError, match="overlaps the headers"):
        d.read_track(0, 0)
    with pytest.raises(FormatError, match="overlaps the headers"):
        open_dasd(p, "r+")
    assert any("overlaps the headers" in e["message"] for e in errors_of(p))


def _track_with_stream(good: bytes, trk: int, payload: bytes) -> bytes:
    """Replace track trk's stored image by a zlib stream of payload (appended)."""
    off, ln, size = entry(good, trk)
    assert off
    head = bytes([1]) + good[off + 1:off + 5]
    stored = head + zlib.compress(payload)
    raw = good + stored
    raw = put(raw, l2_offset(good) + 8 * trk, "<IHH", len(good), len(stored), len(stored))
    return raw


def test_track_inflating_past_65535(good, tmp_path):
    trk = 31
    off, _, _ = entry(good, trk)
    p = write(tmp_path, _track_with_stream(good, trk, good[off + 5:off + 20] + bytes(70000)))
    with open_dasd(p) as d, pytest.raises(CompressionError) as ei:
        d.read_track(*divmod(trk, d.heads))
    assert ei.value.track == divmod(trk, 30)
    errs = errors_of(p)
    assert any(e.get("track") == trk and e.get("error") == "CompressionError" for e in errs)


def test_stream_inflating_past_slot(good, tmp_path):
    trk = 40
    off, _, _ = entry(good, trk)
    # 3350 slots are 19456 bytes; 25000 bytes fit 65535 but not the slot
    p = write(tmp_path, _track_with_stream(good, trk, bytes(25000)))
    with open_dasd(p) as d, pytest.raises(CompressionError):
        d.read_track(*divmod(trk, d.heads))
    assert any(e.get("track") == trk for e in errors_of(p))


def test_image_length_field_bad(good, tmp_path):
    trk = 45
    off, ln, size = entry(good, trk)
    p = write(tmp_path, put(good, l2_offset(good) + 8 * trk, "<IHH", off, ln, ln - 1))
    with open_dasd(p) as d, pytest.raises(FormatError):
        d.read_track(*divmod(trk, d.heads))
    assert any(e["kind"] == "l2" and e["track"] == trk for e in errors_of(p, 1))


def test_image_past_eof(good, tmp_path):
    trk = 50
    p = write(tmp_path, put(good, l2_offset(good) + 8 * trk, "<IHH", len(good) - 10, 500, 500))
    with open_dasd(p) as d, pytest.raises(TruncatedError):
        d.read_track(*divmod(trk, d.heads))
    assert any(e["kind"] == "bounds" for e in errors_of(p, 1))


def test_overlapping_images_reported(good, tmp_path):
    a, b = 33, 34
    off_a, ln_a, _ = entry(good, a)
    _, ln_b, _ = entry(good, b)
    p = write(tmp_path, put(good, l2_offset(good) + 8 * b, "<IHH", off_a, ln_a, ln_a))
    assert any(e["kind"] == "overlap" for e in errors_of(p, 1))


def _with_free_chain(good: bytes, blocks: list[tuple[int, int]], nxt: list[int]) -> bytes:
    raw = bytearray(good)
    end = len(raw)
    for (off, ln), n in zip(blocks, nxt):
        if off + ln > len(raw):
            raw.extend(bytes(off + ln - len(raw)))
        struct.pack_into("<II", raw, off, n, ln)
    total = sum(ln for _, ln in blocks)
    size = len(raw)
    # size, used, free, free_total, free_largest, free_num, free_imbed
    struct.pack_into("<IIIIIiI", raw, 512 + 12, size, end, blocks[0][0], total,
                     max(ln for _, ln in blocks), len(blocks), 0)
    return bytes(raw)


def test_free_chain_ok(good, tmp_path):
    n = len(good)
    p = write(tmp_path, _with_free_chain(good, [(n, 64), (n + 128, 64)], [n + 128, 0]))
    # bytes n+64..n+128 belong to nothing: reported, and repaired losslessly
    report = spoolkit.check_dasd(p, 3)
    assert report["warnings"] and report["stats"]["free_blocks"] == 2
    read_all(p)
    fixed = spoolkit.check_dasd(p, 1, repair=True)
    assert fixed["repaired"], fixed
    again = spoolkit.check_dasd(p, 3)
    assert again["ok"] and not again["warnings"], again
    assert again["stats"]["free_blocks"] == 0  # the free tail was given back


def test_free_chain_loop(good, tmp_path):
    n = len(good)
    p = write(tmp_path, _with_free_chain(good, [(n, 64), (n + 128, 64)], [n + 128, n]))
    read_all(p)  # reading does not need the free chain
    with pytest.raises(FormatError, match="free space chain.*back from.*dasd check --repair"):
        open_dasd(p, "r+")
    errs = errors_of(p, 0)
    assert any(e["kind"] == "free" and e["error"] == "ChainLoopError" for e in errs)


def test_checker_header_invariants(good, tmp_path):
    p = write(tmp_path, put(good, 512 + 16, "<I", 12345))  # cdh_used
    errs = errors_of(p, 0)
    assert any(e["kind"] == "header" and "used" in e["message"] for e in errs)
    fixed = spoolkit.check_dasd(p, 0, repair=True)
    assert fixed["ok"] and fixed["repaired"]
    assert spoolkit.check_dasd(p, 3)["ok"]


def test_cli_check_reports(good, tmp_path, capsys):
    import json

    from spoolkit.cli import main
    p = write(tmp_path, put(good, L1, "<I", 600))
    assert main(["dasd", "check", str(p), "--level", "3", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["errors"]
    assert main(["dasd", "check", str(write(tmp_path, good, "g.cckd"))]) == 0


# -- fuzz -------------------------------------------------------------------


@pytest.mark.fuzz
@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 4095), st.integers(0, 255)), min_size=1,
                max_size=12), st.booleans())
def test_fuzz_mutated_file(good, tmp_path, muts, in_meta):
    raw = bytearray(good)
    limit = 1024 + 2048 + 64 if in_meta else len(raw)
    for pos, val in muts:
        raw[(pos * 7919) % limit] = val
    p = tmp_path / "fz.cckd"
    p.write_bytes(bytes(raw))
    try:
        read_all(p)
    except SpoolkitError:
        pass
    try:
        report = spoolkit.check_dasd(p, 3)
    except SpoolkitError as exc:  # no longer a disk image at all (device id hit)
        assert "not a disk image" in str(exc)
    else:
        assert isinstance(report["ok"], bool)


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=600), st.integers(0, 3), st.integers(0, 70000))
def test_fuzz_c_expand(data, code, trk):
    out = bytearray(19456)
    err = new_err()
    stored = bytes([code]) + data
    for kind in (lib.SPK_CCKD_KIND_CKD, lib.SPK_CCKD_KIND_FBA):
        rc = lib.spk_cckd_trk_expand(stored, len(stored), kind, trk, 30, 1,
                                     ffi.from_buffer(out), len(out), err)
        assert rc < 0 or rc <= len(out)


@pytest.mark.fuzz
@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=512, max_size=2048), st.booleans(), st.integers(0, 2**40))
def test_fuzz_c_header_and_free_chain(data, is64, free_off):
    h = ffi.new("spk_cckd_hdr *")
    err = new_err()
    lib.spk_cckd_hdr_parse(data, len(data), is64, h, err)
    h.free_off = free_off % (len(data) + 64)
    h.free_num = free_off % 50
    out = ffi.new("spk_cckd_free[]", 64)
    rc = lib.spk_cckd_free_read(data, len(data), is64, free_off & 1, h, out, 64, err)
    assert rc < 0 or rc <= 64
    l2 = ffi.new("spk_cckd_l2ent[256]")
    lib.spk_cckd_l2_decode(data, len(data), is64, 0, l2, err)
    sp = ffi.new("spk_cckd_space[]", 256)
    k = lib.spk_cckd_l2_spaces(l2, 256, 0, sp, 256, ffi.NULL, ffi.NULL, err)
    if k > 0:
        bad = ffi.new("spk_cckd_overlap[]", 8)
        gap = ffi.new("uint64_t *")
        assert lib.spk_cckd_space_check(sp, k, len(data), bad, 8, gap) >= 0
