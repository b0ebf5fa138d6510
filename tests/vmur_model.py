"""s390-tools vmur and the Linux unit-record driver, restated for the tests from
their sources (s390-tools vmur/vmur.c, vmur/vmur.h; drivers/s390/char/vmur.c,
vmur.h) without spoolkit: the reader page layout field by field, what
``vmur receive`` writes, what ``vmur punch``/``print`` submit and what CP
stores of it.  Nothing here imports spoolkit."""

from __future__ import annotations

import struct

PAGE = 4096
DATA = 0x10                 # struct splink_page: magic, reserved1[8], data_recs, data[]
REC_LEN = 0xFE0             # splink_page.rec_len (the driver's FILE_RECLEN_OFFSET)
SPOOLID = 0xFF8             # splink_page.spoolid
NOP = 0x03
CCW_IMMED_FLAG = 0x10
IS_CONTROL_RECORD = 0x20
NETDATA_ID = bytes([0xC9, 0xD5, 0xD4, 0xD9, 0xF0])      # EBCDIC "INMR0"
VMUR_REC_COUNT = 511


def e(text: str) -> bytes:
    return text.encode("cp037")


# -- building reader pages (CP's DIAGNOSE X'14' form) ---------------------------

def entry(op: int, data: bytes = b"", *, flags: int = 0, pad: int | None = None,
          count: int | None = None) -> bytes:
    """A CCW entry with data: CCW (op, address 0, flags, 0, count), the TIC
    halfword X'0800', the entry length, the data; ``pad`` bytes of zeros after
    the data (default: up to a doubleword)."""
    n = len(data) if count is None else count
    if pad is None:
        pad = -(12 + len(data)) % 8
    length = 12 + len(data) + pad
    return (struct.pack(">B3xBxHBxH", op, flags, n, 0x08, length) + data + bytes(pad))


def immediate(op: int) -> bytes:
    """An immediate CCW: 8 bytes, flag X'10' (CCW skip), no count, no data."""
    return struct.pack(">B3xBxH", op, CCW_IMMED_FLAG, 0)


def tag_entry(text: str = "") -> bytes:
    return entry(NOP, e(text).ljust(136, b"\x40"))


def page(entries: list[bytes], *, spoolid: int, reclen: int | None = None,
         origin: tuple[bytes, bytes] | None = None, sptime: bytes = bytes(6),
         limit: int = REC_LEN) -> bytes:
    """One 4096-byte reader page: links and SPRMISC 0, SPRECNUM, the entries
    from X'010', origin node/userid at X'FC0'/X'FC8', the record length at
    X'FE0' (the Linux driver, first page), SPFILID, SPTIME."""
    body = b"".join(entries)
    assert DATA + len(body) <= limit, "entries overrun the data area"
    p = bytearray(PAGE)
    struct.pack_into(">I", p, 12, len(entries))
    p[DATA:DATA + len(body)] = body
    if origin is not None:
        p[0xFC0:0xFC8], p[0xFC8:0xFD0] = origin
    if reclen is not None:
        struct.pack_into(">H", p, REC_LEN, reclen)
    struct.pack_into(">H6s", p, SPOOLID, spoolid, sptime)
    return bytes(p)


# -- vmur receive ------------------------------------------------------------------

def get_spoolfile_fmt(raw: bytes) -> str | None:
    """vmur.c get_spoolfile_fmt on the first page."""
    if struct.unpack_from(">I", raw, 0)[0] != 0:
        return "VMDUMP"
    count = struct.unpack_from(">I", raw, 12)[0]
    rec = DATA
    for _ in range(count):
        if raw[rec + 4] & CCW_IMMED_FLAG:
            rec += 8
            continue
        if raw[rec + 13] & IS_CONTROL_RECORD and raw[rec + 14:rec + 19] == NETDATA_ID:
            return "NETDATA"
        rec += struct.unpack_from(">H", raw, rec + 10)[0]
    return None


def ebcdic_to_ascii(data: bytes) -> bytes:
    """iconv IBM037 -> ISO-8859-1 (glibc's table is Python's cp037)."""
    return data.decode("cp037").encode("latin-1")


def vmur_receive(raw: bytes, mode: str | tuple[int, int] = "binary",
                 spoolid: int | None = None) -> bytes:
    """ur_receive + convert_sfdata: VMDUMP pages as they are; else per page its
    data_recs entries: a NOP skipped by its record_len, an X'10' entry by 8
    bytes, every other entry converted (binary: padded with X'40' to
    file_reclen; text: iconv + LF, one blank -> LF; blocked: padded, trailing
    padding removed, separator)."""
    if struct.unpack_from(">I", raw, 0)[0] != 0:
        return raw
    file_reclen = struct.unpack_from(">H", raw, REC_LEN)[0]
    if spoolid is not None and spoolid != struct.unpack_from(">H", raw, SPOOLID)[0]:
        raise ValueError("Spoolid mismatch")
    out = bytearray()
    for p in range(0, len(raw) - len(raw) % PAGE, PAGE):
        count = struct.unpack_from(">I", raw, p + 12)[0]
        rec = p + DATA
        for _ in range(count):
            op, flag, data_len = struct.unpack_from(">B3xBxH", raw, rec)
            if op == NOP:
                rec += struct.unpack_from(">H", raw, rec + 10)[0]
                continue
            if flag & CCW_IMMED_FLAG:
                rec += 8
                continue
            data = raw[rec + 12:rec + 12 + data_len]
            if mode == "text":
                out += b"\n" if data == b"\x40" else ebcdic_to_ascii(data) + b"\n"
            else:
                assert data_len <= file_reclen, "vmur: negative residual (memset overrun)"
                record = data + b"\x40" * (file_reclen - data_len)
                if mode != "binary":
                    sep, padding = mode
                    record = record.rstrip(bytes([padding])) + bytes([sep])
                out += record
            rec += struct.unpack_from(">H", raw, rec + 10)[0]
    return bytes(out)


# -- vmur punch / print --------------------------------------------------------------

def read_line(data: bytes, pos: int, length: int, lf: int) -> tuple[int, bytes | None]:
    """vmur.c read_line: up to ``length`` bytes up to lf; (-ENODATA at EOF even
    after a partial line, -EINVAL when no lf within length)."""
    offs = 0
    buf = bytearray()
    while offs < length:
        if pos + offs >= len(data):
            return -61, None                      # -ENODATA: the partial line is lost
        c = data[pos + offs]
        if c == lf:
            return offs, bytes(buf)
        buf.append(c)
        offs += 1
    return -22, None                              # -EINVAL


def vmur_punch(data: bytes, reclen: int, mode: str | tuple[int, int] = "binary") -> list[bytes]:
    """The ur_reclen-byte records ur_write hands the driver (each one WRITE CCW)."""
    records: list[bytes] = []
    if mode == "binary":
        for i in range(0, len(data), reclen * VMUR_REC_COUNT):
            chunk = data[i:i + reclen * VMUR_REC_COUNT]
            chunk += bytes((reclen - len(chunk) % reclen) % reclen)
            records += [chunk[j:j + reclen] for j in range(0, len(chunk), reclen)]
        if not records:
            raise ValueError("No spool file created - probably empty input.")
        return records
    sep, padding = (0x0A, 0x20) if mode == "text" else mode
    pos, line = 0, 1
    while True:
        n, buf = read_line(data, pos, reclen + 1, sep)
        if n == -61:
            break
        if n == -22:
            raise ValueError(f"Input line {line} too long")
        assert buf is not None
        pos += n + 1
        line += 1
        rec = buf + bytes([padding]) * (reclen - n)
        records.append(rec.decode("latin-1").encode("cp037") if mode == "text" else rec)
    if not records:
        raise ValueError("No spool file created - probably empty input.")
    return records


def cp_stores(record: bytes) -> bytes:
    """CP removes a record's trailing blanks; a blank record keeps one."""
    stripped = record.rstrip(b"\x40")
    return stripped if stripped or not record else b"\x40"


def spoolfile_name(name: bytes, force: bool = False) -> tuple[bytes, bytes]:
    """vmur.c set_spoolfile_name (+ to_valid_cpname / invalid_operand)."""
    s = bytearray(name)
    if not s:
        raise ValueError("Empty spool file name is invalid")
    flag = s[-1] == ord(".")
    i = len(s) - 1
    while i > 0:
        if s[i] == ord("."):
            if flag and s[i - 1] == ord("."):
                i -= 1
                continue
            break
        i -= 1
    ftype = bytearray()
    if 0 < i < len(s) - 1:
        ftype = s[i + 1:]
        del s[i:]

    def printable(c: int) -> bool:                # isprint(c) && !isspace(c), C locale
        return 0x21 <= c <= 0x7E

    if force:
        s, ftype = s[:8], ftype[:8]
        return (bytes(c if printable(c) else ord("_") for c in s),
                bytes(c if printable(c) else ord("_") for c in ftype))
    for part in (s, ftype):
        if len(part) > 8 or not all(printable(c) for c in part):
            raise ValueError("Malformed spool file name")
    return bytes(s), bytes(ftype)
