"""A pure-Python VMFPLC2 DUMP and LOAD of the layout spoolkit writes
(docs/formats.md "VMFPLC2 and TAPE DUMP tapes") on plain AWS images: the
baseline bench/bench_cms_tapes.py measures spoolkit against.  Records are
packed and unpacked one by one, blocks framed in Python."""

from __future__ import annotations

import struct

PLCH = bytes([0x02, 0xD7, 0xD3, 0xC3, 0xC8])
PLCD = bytes([0x02, 0xD7, 0xD3, 0xC3, 0xC4])
FST = struct.Struct(">8s8s4sHH2sHHBBIH2sIIIIIBB6s4s")


def _bcd(v: int) -> int:
    return (v // 10) << 4 | v % 10


def _name(s: str) -> bytes:
    return s.upper().ljust(8).encode("cp037")


def header(fname, ftype, fmode, recfm, lrecl, records, when) -> bytes:
    n = len(records)
    raw = sum(len(r) for r in records) + (2 * n if recfm == "V" else 0)
    numblk, rest = divmod(raw, 4000)
    lastsz = -(-rest // 800)
    dbc = -(-raw // 800)
    if recfm == "V":
        lrecl = max(lrecl, max((len(r) for r in records), default=0))
    md = bytes([_bcd(when.month), _bcd(when.day), _bcd(when.hour), _bcd(when.minute)])
    adt = bytes(_bcd(v) for v in (when.year % 100, when.month, when.day, when.hour,
                                  when.minute, when.second))
    return PLCH + FST.pack(_name(fname), _name(ftype), md, min(n + 1, 0xFFFF), 1,
                           fmode.encode("cp037"), min(n, 0xFFFF), 0,
                           0xC6 if recfm == "F" else 0xE5, 8 if when.year >= 2000 else 0,
                           lrecl, min(dbc, 0xFFFF), f"{when.year % 100:02d}".encode("cp037"),
                           lastsz, numblk, 0, dbc, n, 0, 0, adt, bytes(4))


def dump(path, files) -> None:
    """files: (fname, ftype, fmode, recfm, lrecl, records, date)."""
    out = encode(files)
    with open(path, "wb") as fh:
        fh.write(out)


def encode(files) -> bytearray:
    """The AWS image of a VMFPLC2 tape of files, in memory."""
    out = bytearray()
    prev = 0

    def block(data: bytes) -> None:
        nonlocal prev
        out.extend(struct.pack("<HHBB", len(data), prev, 0xA0, 0))
        out.extend(data)
        prev = len(data)

    for fname, ftype, fmode, recfm, lrecl, records, when in files:
        block(header(fname, ftype, fmode, recfm, lrecl, records, when))
        stream = bytearray()
        for r in records:
            if recfm == "V":
                stream += len(r).to_bytes(2, "big")
            stream += r
        for off in range(0, len(stream), 4000):
            chunk = bytes(stream[off:off + 4000])
            if len(chunk) % 800:
                chunk += bytes(800 - len(chunk) % 800)
            block(PLCD + chunk)
    for _ in range(2):
        out.extend(struct.pack("<HHBB", 0, prev, 0x40, 0))
        prev = 0
    return out


def load(path):
    """[(fname, ftype, fmode, recfm, lrecl, records)] of a plain AWS VMFPLC2 tape."""
    data = open(path, "rb").read()
    pos, cur, blocks = 0, bytearray(), []
    while pos < len(data):
        clen, _, f1, _ = struct.unpack_from("<HHBB", data, pos)
        pos += 6
        if f1 & 0x40:
            blocks.append(None)
            continue
        cur += data[pos:pos + clen]
        pos += clen
        if f1 & 0x20:
            blocks.append(bytes(cur))
            cur = bytearray()
    files = []
    i = 0
    while i < len(blocks):
        b = blocks[i]
        i += 1
        if b is None or b[:5] != PLCH:
            continue
        f = FST.unpack(b[5:77])
        fn, ft, fm, recfm, lrecl, n = (f[0].decode("cp037").rstrip(),
                                       f[1].decode("cp037").rstrip(), f[5].decode("cp037"),
                                       "F" if f[8] == 0xC6 else "V", f[10], f[17] or f[6])
        stream = bytearray()
        while i < len(blocks) and blocks[i] is not None and blocks[i][:5] == PLCD:
            stream += blocks[i][5:]
            i += 1
        recs, p = [], 0
        for _ in range(n):
            if recfm == "F":
                recs.append(bytes(stream[p:p + lrecl]))
                p += lrecl
            else:
                ln = stream[p] << 8 | stream[p + 1]
                if not 1 <= ln <= lrecl:
                    raise ValueError(f"{fn} {ft}: record length {ln}")
                recs.append(bytes(stream[p + 2:p + 2 + ln]))
                p += 2 + ln
        files.append((fn, ft, fm, recfm, lrecl, recs))
    return files
