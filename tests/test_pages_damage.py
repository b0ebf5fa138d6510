"""Damaged spool page chains: every fault is a typed error naming the page."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_pages import store_file

from spoolkit.errors import (
    ChainLoopError,
    ChecksumError,
    FormatError,
    SpoolkitError,
    TruncatedError,
)
from spoolkit.spool import SpoolFile, pages

RECS = [(0x09, bytes([0xC1 + i % 9]) * (40 + i % 90)) for i in range(400)]


@pytest.fixture
def chain():
    sf = SpoolFile(type="PRT", owner="MAINT", spoolid=321, records=RECS)
    store, addrs, info = store_file(sf)
    assert len(addrs) >= 5
    return sf, store, addrs, info


def walk(store, info, **kw):
    return list(pages.iter_records(store.__getitem__, info.first, info.npages,
                                   info.spoolfile.spoolid, expect_crc=info.data_crc, **kw))


def repage(page, **fields):
    """Change header words of a page and fix its CRC (a 'valid' but wrong page)."""
    page = bytearray(page)
    for off, value in fields.items():
        struct.pack_into(">I", page, int(off[1:], 16), value)
    struct.pack_into(">I", page, 0xFD4, pages.page_crc(page))
    return bytes(page)


def test_intact(chain):
    sf, store, addrs, info = chain
    assert walk(store, info) == list(sf.records())


def test_crc_failing_page(chain):
    sf, store, addrs, info = chain
    bad = bytearray(store[addrs[2]])
    bad[0x300] ^= 0x01
    store[addrs[2]] = bytes(bad)
    with pytest.raises(ChecksumError) as exc:
        walk(store, info)
    assert exc.value.page == addrs[2]
    assert exc.value.offset == 0xFD4
    # without page CRCs the entries still parse; the header's data CRC still catches it
    assert len(list(pages.iter_records(store.__getitem__, info.first, info.npages, 321,
                                       check_crc=False))) == len(RECS)
    with pytest.raises(ChecksumError, match="header says"):
        walk(store, info, check_crc=False)


def test_broken_forward_link(chain):
    sf, store, addrs, info = chain
    other = SpoolFile(type="PRT", owner="MAINT", spoolid=999, records=RECS)
    other_store, other_addrs, _ = store_file(other, volume=1)
    stray = other_addrs[3]                    # the link leads into another file's chain
    store[stray] = other_store[stray]
    store[addrs[2]] = repage(store[addrs[2]], x000=stray)
    with pytest.raises(FormatError, match="spool ID 999") as exc:
        walk(store, info)
    assert exc.value.page == stray


def test_broken_backward_link(chain):
    sf, store, addrs, info = chain
    store[addrs[3]] = repage(store[addrs[3]], x004=addrs[1])
    with pytest.raises(FormatError, match="backward link") as exc:
        walk(store, info)
    assert exc.value.page == addrs[3]


def test_chain_ends_early(chain):
    sf, store, addrs, info = chain
    store[addrs[1]] = repage(store[addrs[1]], x000=0)
    with pytest.raises(TruncatedError):
        walk(store, info)


def test_wrong_sequence_number(chain):
    sf, store, addrs, info = chain
    store[addrs[1]] = repage(store[addrs[1]], x008=7)
    with pytest.raises(FormatError, match="sequence") as exc:
        walk(store, info)
    assert exc.value.page == addrs[1]


def test_loop(chain):
    sf, store, addrs, info = chain
    store[addrs[3]] = repage(store[addrs[3]], x000=addrs[1])
    with pytest.raises(ChainLoopError) as exc:
        walk(store, info)
    assert exc.value.page == addrs[1]


def test_loop_onto_itself_with_huge_count(chain):
    sf, store, addrs, info = chain
    store[addrs[0]] = repage(store[addrs[0]], x000=addrs[0])
    with pytest.raises(ChainLoopError):
        list(pages.iter_records(store.__getitem__, addrs[0], 10**6, 321))


def test_truncated_page(chain):
    sf, store, addrs, info = chain
    store[addrs[2]] = store[addrs[2]][:4000]
    with pytest.raises(TruncatedError) as exc:
        walk(store, info)
    assert exc.value.page == addrs[2]
    with pytest.raises(TruncatedError):
        pages.unpack(b"".join(store[a] for a in addrs))


def test_bad_entry_length(chain):
    sf, store, addrs, info = chain
    page = bytearray(store[addrs[1]])
    struct.pack_into(">H", page, 0x10 + 10, 4)           # shorter than its data
    store[addrs[1]] = repage(page)
    with pytest.raises(FormatError, match="length") as exc:
        walk(store, info)
    assert exc.value.page == addrs[1] and exc.value.offset == 0x1A


def test_entry_count_past_the_page(chain):
    sf, store, addrs, info = chain
    store[addrs[1]] = repage(store[addrs[1]], x00C=100000)
    with pytest.raises(FormatError, match="past the data area|length 0"):
        walk(store, info)


def test_wrong_spoolid(chain):
    sf, store, addrs, info = chain
    page = bytearray(store[addrs[4]])
    struct.pack_into(">H", page, 0xFF8, 322)
    store[addrs[4]] = repage(page)
    with pytest.raises(FormatError, match="spool ID 322"):
        walk(store, info)


def test_page_of_an_older_file_with_the_same_spoolid(chain):
    sf, store, addrs, info = chain
    old = sf.with_attrs(created=sf.created.replace(year=2001, hour=(sf.created.hour + 1) % 24))
    old_store, old_addrs, _ = store_file(old)
    store[addrs[2]] = repage(old_store[old_addrs[2]], x000=addrs[3], x004=addrs[1])
    loader = pages.chain_loader(store.__getitem__, info)
    with pytest.raises(FormatError, match="SPTIME") as exc:
        list(loader())
    assert exc.value.page == addrs[2]


def test_data_crc_mismatch(chain):
    sf, store, addrs, info = chain
    with pytest.raises(ChecksumError, match="header says"):
        list(pages.iter_records(store.__getitem__, info.first, info.npages, 321,
                                expect_crc=info.data_crc ^ 1))


def test_header_page_damage(chain):
    sf, store, addrs, info = chain
    header = bytearray(pages.build_header_page(sf, info.first, info.last, info.npages,
                                               info.data_crc))
    header[0x30] ^= 0x40
    with pytest.raises(ChecksumError) as exc:
        pages.parse_header_page(bytes(header), path="vol.cckd", address=42)
    assert exc.value.page == 42 and exc.value.path == "vol.cckd"
    with pytest.raises(FormatError, match="SPKX"):
        pages.parse_header_page(store[addrs[0]])
    with pytest.raises(TruncatedError):
        pages.parse_header_page(bytes(header[:100]))
    # a CRC-valid header with a bad attribute is a format error, not a crash
    header = bytearray(pages.build_header_page(sf, info.first, info.last, info.npages,
                                               info.data_crc))
    header[0x08:0x10] = b"\x00" * 8
    struct.pack_into(">I", header, 0xFD4, pages.page_crc(header))
    with pytest.raises(FormatError, match="owner"):
        pages.parse_header_page(bytes(header))


@pytest.mark.fuzz
@given(st.binary(min_size=4096, max_size=3 * 4096), st.booleans())
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.large_base_example, HealthCheck.too_slow])
def test_fuzz_unpack_random(data, raw):
    data = data[:len(data) // 4096 * 4096]
    try:
        pages.unpack_chain(data, check_crc=False, raw=raw)
    except SpoolkitError:
        pass


@pytest.mark.fuzz
@given(st.data())
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz_unpack_mutated(data):
    recs = [(0x09, b"\xc1" * 70), (0x0B, b""), (0x41, b"\xf1" * 80)] * 40
    sf = SpoolFile(type="PRT", owner="A", spoolid=1, records=recs)
    addrs = list(range(1, pages.count_pages(sf) + 1))
    raw = bytearray(pages.pack(sf, addrs))
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    try:
        got = pages.unpack(bytes(raw), spoolid=1, check_crc=data.draw(st.booleans()),
                           addresses=addrs)
        assert len(got) <= len(addrs) * 502
    except SpoolkitError:
        pass


@pytest.mark.fuzz
@given(st.data())
@settings(max_examples=200, deadline=None)
def test_fuzz_header_page(data):
    sf = SpoolFile(type="PRT", owner="MAINT", spoolid=5, tag="X", chars=["GT10"])
    page = bytearray(pages.build_header_page(sf, 1, 2, 2, 0))
    for _ in range(data.draw(st.integers(1, 6))):
        page[data.draw(st.integers(0, 4095))] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        struct.pack_into(">I", page, 0xFD4, pages.page_crc(page))
    try:
        info = pages.parse_header_page(bytes(page))
        assert info.spoolfile.spoolid is not None
    except SpoolkitError:
        pass
