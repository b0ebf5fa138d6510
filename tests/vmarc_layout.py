"""An independent VMARC reader and LZW writer in pure Python, written from
the layout (shared docs vm-formats.md 3.1; VMARC.ASSEMBLE: HEADER DSECT,
VMLZW, VMS2, VMASIS, GETCODE/PUTCODE, GETBYTE/PUTBYTE), for tests and as the
pure-Python baseline of bench/bench_cms_archives.py.  It imports nothing of
spoolkit.

Symbols: 1..256 are the bytes 00..FF, 0 ends a record (V) or the file (F,
or a 0 after an empty V record).  Codes are 12 bits, big-endian, 3 bytes for
two.  Strings are kept here as tuples of symbols.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

MAGIC = bytes.fromhex("7ac3c6c640404040")
TABLE = 4096
FIRST = 257


class LayoutError(Exception):
    pass


@dataclass
class Header:
    offset: int
    magic: bytes
    version: int
    fname: str
    ftype: str
    fmode: str
    lrecl: int
    date: bytes
    recfm: str
    flags: int

    @property
    def method(self) -> str:
        return "S2" if self.flags & 0x80 else "STORE" if self.flags & 0x40 else "LZW"


def parse_header(buf: bytes, off: int) -> Header:
    h = buf[off:off + 38]
    if len(h) != 38:
        raise LayoutError(f"short header at {off}")
    return Header(off, h[0:8], h[8] << 8 | h[9], h[10:18].decode("cp037").rstrip(),
                  h[18:26].decode("cp037").rstrip(), h[26:28].decode("cp037").rstrip(),
                  h[28] << 8 | h[29], h[30:36], h[36:37].decode("cp037"), h[37])


class Records:
    """PUTBYTE: where the symbols become records."""

    def __init__(self, fixed: bool, lrecl: int) -> None:
        self.fixed, self.lrecl = fixed, lrecl
        self.records: list[bytes] = []
        self.cur = bytearray()

    def put(self, sym: int) -> bool:
        """True at the end of the file."""
        if sym == 0:
            if self.fixed or not self.cur:
                if self.cur:
                    raise LayoutError("F file ends inside a record")
                return True
            self.records.append(bytes(self.cur))
            self.cur = bytearray()
            return False
        if len(self.cur) >= self.lrecl:
            raise LayoutError("record longer than LRECL")
        self.cur.append(sym - 1)
        if self.fixed and len(self.cur) == self.lrecl:
            self.records.append(bytes(self.cur))
            self.cur = bytearray()
        return False


class CodeReader:
    def __init__(self, buf: bytes, pos: int) -> None:
        self.buf, self.bit = buf, pos * 8

    def next(self) -> int:
        byte, shift = divmod(self.bit, 8)
        if byte + 1 >= len(self.buf):
            raise LayoutError("stream ends before its end code")
        two = self.buf[byte] << 8 | self.buf[byte + 1]
        code = (two >> 4) if shift == 0 else (two & 0xFFF)
        self.bit += 12
        return code

    @property
    def end(self) -> int:
        return -(-self.bit // 8)


def _free(ref: list[int], last: int) -> Optional[int]:
    """The first entry nothing refers to after the last made, then from 257."""
    for i in range(last + 1, TABLE):
        if ref[i] == 0:
            return i
    for i in range(FIRST, TABLE):
        if ref[i] == 0:
            return i
    return None


def lzw_decode(buf: bytes, pos: int, fixed: bool, lrecl: int) -> tuple[list[bytes], int]:
    """(records, offset after the stream)."""
    strings: dict[int, tuple[int, ...]] = {i: (i,) for i in range(FIRST)}
    pred: list[Optional[int]] = [None] * TABLE
    ref = [1] * FIRST + [0] * (TABLE - FIRST)
    last, pending, prev = FIRST - 1, None, None
    out = Records(fixed, lrecl)
    rd = CodeReader(buf, pos)
    while True:
        code = rd.next()
        if code == pending and prev is not None:
            s = strings[prev] + (strings[prev][0],)
        elif code in strings:
            s = strings[code]
        else:
            raise LayoutError(f"undefined LZW code {code}")
        if pending is not None and prev is not None:
            strings[pending] = strings[prev] + (s[0],)
        for i, sym in enumerate(s):
            if out.put(sym):
                if i != len(s) - 1:
                    raise LayoutError("end inside a string")
                return out.records, rd.end
        ref[code] += 1
        v = _free(ref, last)
        if v is None:
            ref[code] -= 1
            pending = None
        else:
            old = pred[v]
            if old is not None:
                ref[old] -= 1
                strings.pop(v, None)
            pred[v] = code
            pending = last = v
        prev = code


def s2_decode(buf: bytes, pos: int, fixed: bool, lrecl: int) -> tuple[list[bytes], int]:
    strings: dict[int, tuple[int, ...]] = {i: (i,) for i in range(FIRST)}
    parts: list[Optional[tuple[int, int]]] = [None] * TABLE
    count = [1] * FIRST + [0] * (TABLE - FIRST)
    last = TABLE
    out = Records(fixed, lrecl)
    rd = CodeReader(buf, pos)
    first = rd.next()
    if first >= FIRST:
        raise LayoutError("S2 starts with a string")
    if out.put(first):
        return out.records, rd.end
    prev = first
    while True:
        code = rd.next()
        if code not in strings:
            raise LayoutError(f"undefined S2 code {code}")
        s = strings[code]
        for i, sym in enumerate(s):
            if out.put(sym):
                if i != len(s) - 1:
                    raise LayoutError("end inside a string")
                return out.records, rd.end
        # the new string <prev, code>, at most 2049 symbols
        if len(strings[prev]) + len(s) <= 2049:
            count[prev] += 1
            count[code] += 1
            e, found = last, None
            for _ in range(TABLE - FIRST):
                e = e + 1 if e + 1 < TABLE else FIRST
                if count[e] == 0:
                    found = e
                    break
            if found is None:
                count[prev] -= 1
                count[code] -= 1
            else:
                old = parts[found]
                if old is not None:
                    count[old[0]] -= 1
                    count[old[1]] -= 1
                parts[found] = (prev, code)
                strings[found] = strings[prev] + s
                last = found
        prev = code


def store_decode(buf: bytes, pos: int, fixed: bool, lrecl: int) -> tuple[list[bytes], int]:
    recs = []
    while True:
        if pos + 2 > len(buf):
            raise LayoutError("STORE stream ends early")
        n = buf[pos] << 8 | buf[pos + 1]
        pos += 2
        if n == 0:
            return recs, pos
        if (fixed and n != lrecl) or n > lrecl or pos + n > len(buf):
            raise LayoutError(f"STORE record of {n}")
        recs.append(buf[pos:pos + n])
        pos += n


def read_archive(buf: bytes, reclen: int = 80) -> list[tuple[Header, list[bytes], int]]:
    """Every member: (header, records, offset after its stream)."""
    out = []
    pos = 0
    while pos < len(buf):
        if not any(buf[pos:pos + reclen]):
            pos += reclen
            continue
        h = parse_header(buf, pos)
        if h.magic != MAGIC:
            raise LayoutError(f"no header at {pos}")
        fn = {"LZW": lzw_decode, "S2": s2_decode, "STORE": store_decode}[h.method]
        recs, end = fn(buf, pos + 38, h.recfm == "F", h.lrecl)
        out.append((h, recs, end))
        pos = -(-end // reclen) * reclen
    return out


def symbols(records: list[bytes], fixed: bool) -> list[int]:
    out: list[int] = []
    for r in records:
        out.extend(b + 1 for b in r)
        if not fixed:
            out.append(0)
    return out


def lzw_encode(records: list[bytes], fixed: bool) -> bytes:
    """The codes VMARC's PACKLZW makes, packed (no header, no padding)."""
    table: dict[tuple[int, int], int] = {}
    key: list[Optional[tuple[int, int]]] = [None] * TABLE
    ref = [1] * FIRST + [0] * (TABLE - FIRST)
    last = FIRST - 1
    codes: list[int] = []
    cur = -1
    for ch in symbols(records, fixed):
        if cur < 0:
            cur = ch
            continue
        hit = table.get((cur, ch))
        if hit is not None:
            cur = hit
            continue
        ref[cur] += 1
        v = _free(ref, last)
        if v is None:
            ref[cur] -= 1
        else:
            old = key[v]
            if old is not None:
                del table[old]
                ref[old[0]] -= 1
            key[v] = (cur, ch)
            table[(cur, ch)] = v
            last = v
        codes.append(cur)
        cur = ch
    if cur >= 0:
        codes.append(cur)
    codes.append(0)
    return pack_codes(codes)


def pack_codes(codes: list[int]) -> bytes:
    out = bytearray()
    for i in range(0, len(codes) - 1, 2):
        a, b = codes[i], codes[i + 1]
        out += bytes((a >> 4, (a & 15) << 4 | b >> 8, b & 0xFF))
    if len(codes) % 2:
        a = codes[-1]
        out += bytes((a >> 4, (a & 15) << 4))
    return bytes(out)
