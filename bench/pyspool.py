"""A pure-Python packer/unpacker of spoolkit's spool data page layout
(docs/formats.md "Spool files"): the baseline for bench_spool.py and an
independent second implementation the tests compare the C core against."""

from __future__ import annotations

import struct

PAGE = 4096
DATA_START, DATA_END = 0x10, 0xFC0


def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _crc_table()


def crc32c(data: bytes, crc: int = 0) -> int:
    c = crc ^ 0xFFFFFFFF
    t = _TABLE
    for b in data:
        c = t[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def page_crc(page) -> int:
    return crc32c(page[OFF_CRC + 4:], crc32c(page[:OFF_CRC]))


OFF_CRC = 0xFD4


def py_pack(records, addrs, *, spoolid, time6, tag136, node8=b"\x40" * 8, user8=b"\x40" * 8,
            trailer40=bytes(40), crc=page_crc):
    """Records [(op, data)] -> pages bytes (same bytes as the C packer)."""
    pages = []
    page = bytearray(PAGE)
    pos = DATA_START
    entries = 1
    page[pos:pos + 12] = struct.pack(">B3xBxHBxH", 0x03, 0, 136, 0x08, 152)
    page[pos + 12:pos + 148] = tag136
    pos += 152

    def finish(page, entries):
        i = len(pages)
        nxt = addrs[i + 1] if i + 1 < len(addrs) else 0
        prv = addrs[i - 1] if i else 0
        struct.pack_into(">IIII", page, 0, nxt, prv, i + 1, entries)
        page[0xFC0:0xFC8] = node8
        page[0xFC8:0xFD0] = user8
        if i == 0:
            page[0xFD0:0xFF8] = trailer40
            page[0xFD4:0xFE0] = bytes(12)
        struct.pack_into(">H6s", page, 0xFF8, spoolid, time6)
        struct.pack_into(">I", page, OFF_CRC, crc(page))
        pages.append(bytes(page))

    for op, data in records:
        n = len(data)
        while n > 1 and data[n - 1] == 0x40:
            n -= 1
        immediate = n == 0 and op & 3 == 3
        size = 8 if immediate else (12 + n + 7) & ~7
        if pos + size > DATA_END:
            finish(page, entries)
            page = bytearray(PAGE)
            pos, entries = DATA_START, 0
        if immediate:
            page[pos:pos + 8] = struct.pack(">B3xBxH", op, 0x10, 0)
        else:
            page[pos:pos + 12] = struct.pack(">B3xBxHBxH", op, 0, n, 0x08, size)
            page[pos + 12:pos + 12 + n] = data[:n]
        pos += size
        entries += 1
    finish(page, entries)
    return b"".join(pages)


def py_unpack(pages: bytes, *, check_crc=True, crc=page_crc):
    """Pages -> (tag, [(op, data)]) walking the entries as vmur does."""
    records, tag = [], None
    for i in range(0, len(pages), PAGE):
        page = pages[i:i + PAGE]
        if check_crc and struct.unpack_from(">I", page, OFF_CRC)[0] != crc(page):
            raise ValueError("crc")
        count = struct.unpack_from(">I", page, 12)[0]
        pos = DATA_START
        for k in range(count):
            op, flags, n = struct.unpack_from(">B3xBxH", page, pos)
            if flags & 0x10:
                records.append((op, b""))
                pos += 8
                continue
            step = struct.unpack_from(">H", page, pos + 10)[0]
            data = page[pos + 12:pos + 12 + n]
            if i == 0 and k == 0 and op == 0x03:
                tag = data
            else:
                records.append((op, data))
            pos += step
    return tag, records
