"""Spool data pages and header pages: layout, round trips, chain walking."""

from __future__ import annotations

import struct
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spool_strategies import spoolfiles

from spoolkit.errors import InvalidArgumentError, SpoolkitError
from spoolkit.spool import SpoolFile, pages
from spoolkit.spool.records import Records

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent.parent / "bench"))
import pyspool  # noqa: E402


def store_file(sf, volume=0, first_slot=10, stride=3):
    """Pack sf into a dict 'volume' at scattered slots; return (store, HeaderInfo)."""
    n = pages.count_pages(sf)
    addrs = [pages.page_address(volume, first_slot + stride * i) for i in range(n)]
    data, crc = pages.pack_chain(sf, addrs)
    store = {a: data[i * 4096:(i + 1) * 4096] for i, a in enumerate(addrs)}
    header = pages.build_header_page(sf, addrs[0], addrs[-1], n, crc)
    return store, addrs, pages.parse_header_page(header, address=1)


def test_crc32c_known_values_and_fallback():
    assert pages.crc32c(b"123456789") == 0xE3069283
    assert pages.crc32c(b"") == 0
    from spoolkit._native import lib
    blob = bytes(range(256)) * 40 + b"xyz"
    for start in (0, 1, 5):
        part = blob[start:]
        assert pages.crc32c(part) == lib.spk_crc32c_sw(0, part, len(part))
        assert pages.crc32c(part) == pyspool.crc32c(part)
    # extending equals one pass
    assert pages.crc32c(blob[1000:], pages.crc32c(blob[:1000])) == pages.crc32c(blob)


def test_first_page_layout():
    sf = SpoolFile(type="PRT", owner="MAINT", spoolid=1234, origin=("OPER", "NODE7"),
                   records=[(0x8B, b""), (0x09, "HELLO   ".encode("cp037")), (0x13, b"")],
                   tag="TAGTEXT", chars=["GT12"], fcb="FCB1", flash_count=3)
    addrs = [pages.page_address(2, 77)]
    page = pages.pack(sf, addrs)
    assert len(page) == 4096
    nxt, prv, seq, nent = struct.unpack_from(">IIII", page, 0)
    assert (nxt, prv, seq, nent) == (0, 0, 1, 4)       # tag + 3 entries
    # tag: NOP, count 136, TIC X'08', entry length 152
    assert struct.unpack_from(">B3xBxHBxH", page, 0x10) == (0x03, 0, 136, 0x08, 152)
    assert page[0x1C:0x1C + 7] == "TAGTEXT".encode("cp037")
    assert page[0x1C + 7:0x1C + 136] == b"\x40" * 129
    # immediate skip to channel 1: the 8-byte CCW alone
    assert page[0xA8:0xB0] == bytes([0x8B, 0, 0, 0, 0x10, 0, 0, 0])
    # write, space 1: trailing blanks gone, entry padded to a doubleword
    assert struct.unpack_from(">B3xBxHBxH", page, 0xB0) == (0x09, 0, 5, 0x08, 24)
    assert page[0xBC:0xC1] == "HELLO".encode("cp037")
    assert page[0xC8:0xD0] == bytes([0x13, 0, 0, 0, 0x10, 0, 0, 0])
    assert page[0xFC0:0xFC8] == "NODE7   ".encode("cp037")
    assert page[0xFC8:0xFD0] == "OPER    ".encode("cp037")
    assert page[0xFD0:0xFD4] == "GT12".encode("cp037")
    assert page[0xFE0:0xFE4] == "FCB1".encode("cp037")
    assert page[0xFF4] == 3
    assert struct.unpack_from(">H", page, 0xFF8)[0] == 1234
    assert page[0xFFA:0x1000] == sf.created.strftime("%H%M%S").encode("cp037")
    assert struct.unpack_from(">I", page, 0xFD4)[0] == pyspool.page_crc(page)


def test_links_and_sequence_over_many_pages():
    recs = [(0x09, bytes([0xC1 + i % 9]) * 133) for i in range(200)]
    sf = SpoolFile(type="PRT", owner="A", spoolid=5, records=recs)
    n = pages.count_pages(sf)
    assert n == 8          # 27 entries of 152 bytes per page, 26 on the first
    addrs = [pages.page_address(1, 100 + 7 * i) for i in range(n)]
    data, crc = pages.pack_chain(sf, addrs)
    assert crc == pages.crc32c(data)
    for i in range(n):
        nxt, prv, seq, _ = struct.unpack_from(">IIII", data, i * 4096)
        assert nxt == (addrs[i + 1] if i + 1 < n else 0)
        assert prv == (addrs[i - 1] if i else 0)
        assert seq == i + 1
    # the pure-Python packer of the same layout gives the same bytes
    ref = pyspool.py_pack(recs, addrs, spoolid=5, time6=data[0xFFA:0x1000],
                          tag136=b"\x40" * 136, node8=data[0xFC0:0xFC8],
                          user8=data[0xFC8:0xFD0], trailer40=data[0xFD0:0xFF8])
    assert ref == data
    tag, back = pyspool.py_unpack(data)
    assert back == recs and tag == b"\x40" * 136


@given(spoolfiles())
@settings(max_examples=120, deadline=None)
def test_roundtrip_property(sf):
    store, addrs, info = store_file(sf)
    assert info.npages == len(addrs) == pages.count_pages(sf)
    assert info.spoolfile.attrs() == sf.attrs()
    assert not info.spoolfile.has_records
    back = info.spoolfile.with_attrs(loader=pages.chain_loader(store.__getitem__, info))
    assert back == sf
    assert list(back.records()) == list(sf.records())
    # contiguous unpack and the Python reference agree
    raw = b"".join(store[a] for a in addrs)
    un = pages.unpack_chain(raw, spoolid=sf.spoolid, addresses=addrs)
    assert un.records == sf.packed_records()
    assert un.tag == sf.tag_bytes()
    assert un.data_crc == info.data_crc
    assert pyspool.py_unpack(raw)[1] == list(sf.records())


def test_iter_records_batches():
    recs = [(0x41, bytes([i % 256]) * 80) for i in range(3000)]
    sf = SpoolFile(type="PUN", owner="A", spoolid=9, records=recs)
    store, addrs, info = store_file(sf)
    assert len(addrs) > 50
    for batch in (1, 7, 64):
        got = list(pages.iter_records(store.__getitem__, info.first, info.npages, 9,
                                      batch=batch, expect_crc=info.data_crc))
        assert got == list(sf.records())
    assert got[64] == (0x41, b"\x40")       # a blank card keeps one blank, as CP
    assert got[65] == recs[65]


def test_pack_argument_errors():
    sf = SpoolFile(type="PRT", owner="A", spoolid=1, records=[(0x09, b"\xc1")])
    with pytest.raises(InvalidArgumentError):
        pages.pack(sf, [1, 2])                 # one page needed
    with pytest.raises(InvalidArgumentError):
        pages.pack(sf, [0])                    # 0 is "none"
    with pytest.raises(InvalidArgumentError, match="spoolid"):
        pages.pack(sf.with_attrs(spoolid=None), [1])
    with pytest.raises(InvalidArgumentError, match="4004"):
        SpoolFile(type="PRT", owner="A", records=[(0x09, b"\xc1" * 4005)], lrecl=5000)
    assert pages.count_pages(SpoolFile(type="PRT", owner="A", records=[(9, b"\xc1" * 4004)],
                                       lrecl=4004)) == 2
    assert pages.count_pages(SpoolFile(type="PRT", owner="A", records=[])) == 1


def test_page_address():
    assert pages.page_address(3, 17) == 0x03000011
    assert pages.split_address(0x03000011) == (3, 17)
    with pytest.raises(InvalidArgumentError):
        pages.page_address(0, 0)


def test_unpack_returns_compact_records():
    sf = SpoolFile(type="PRT", owner="A", spoolid=3, records=[(9, b"\xc1\xc2"), (0x0B, b"")])
    raw = pages.pack(sf, [7])
    recs = pages.unpack(raw, spoolid=3)
    assert isinstance(recs, Records)
    assert list(recs) == [(9, b"\xc1\xc2"), (0x0B, b"")]
    assert recs[1] == (0x0B, b"") and recs[-2] == (9, b"\xc1\xc2")


@given(st.lists(st.sampled_from([0, 1, 2]), min_size=1, max_size=5))
@settings(max_examples=10, deadline=None)
def test_header_page_is_recognised(_):
    sf = SpoolFile(type="NSS", owner="SYSTEM", spoolid=4, records=[(0x02, b"\x00" * 4004)])
    store, addrs, info = store_file(sf)
    header = pages.build_header_page(sf, info.first, info.last, info.npages, info.data_crc)
    assert pages.is_header_page(header)
    assert not pages.is_header_page(store[addrs[0]])


def test_pack_into_a_region_of_a_larger_buffer():
    sf = SpoolFile(type="PUN", owner="A", spoolid=77,
                   records=[(0x41, bytes([0xF0 + i % 10]) * 80) for i in range(200)])
    addrs = [pages.page_address(0, 40 + i) for i in range(pages.count_pages(sf))]
    image = bytearray(4096 * (len(addrs) + 2))
    crc = pages.pack_into(sf, addrs, memoryview(image)[4096:])
    assert image[:4096] == bytes(4096)
    assert bytes(image[4096:4096 * (1 + len(addrs))]) == pages.pack(sf, addrs)
    assert crc == pages.crc32c(bytes(image[4096:4096 * (1 + len(addrs))]))
    with pytest.raises(SpoolkitError):
        pages.pack_into(sf, addrs, bytearray(4096))      # too small
    with pytest.raises(SpoolkitError):
        pages.pack_into(sf, addrs, bytes(len(image)))    # read-only
    with pytest.raises(InvalidArgumentError, match="writable"):
        pages.pack_into(sf, addrs, bytes(len(image)))


def test_lazy_file_of_many_batches_equals_original():
    recs = [(0x09, bytes([0xC1 + i % 9]) * (1 + i % 133)) for i in range(20000)]
    sf = SpoolFile(type="PRT", owner="A", spoolid=11, records=recs, tag="T")
    store, addrs, info = store_file(sf)
    assert len(addrs) > 2 * 64                           # several C batches
    lazy = info.spoolfile.with_attrs(loader=pages.chain_loader(store.__getitem__, info))
    assert lazy.packed_records() == sf.packed_records()  # blocks joined, offsets rebased
    assert lazy == sf
    again = lazy.with_attrs(spoolid=12)                  # a lazy copy packs like the original
    assert pages.pack(again, addrs) == pages.pack(sf.with_attrs(spoolid=12), addrs)
