"""Hex dumps with an EBCDIC text column, laid out like Hercules' ``data_dump``:

    +0000 E5D6D3F1 E5D4F5F0 E4F1F040 40404040  *VOL1VM50U10     *

Offsets are hexadecimal; the text column decodes the bytes in an EBCDIC
code page (:mod:`spoolkit.ebcdic`) and shows ``.`` for bytes that are not
printable there.  Runs of identical lines collapse into one "same as
above" line, so 4 KiB of zeros take three lines.
"""

from __future__ import annotations

from typing import Union

from . import ebcdic

Buffer = Union[bytes, bytearray, memoryview]


def _printable_table(codepage: str) -> str:
    chars = ebcdic.decode(bytes(range(256)), codepage)
    return "".join(c if c.isprintable() and not c.isspace() or c == " " else "." for c in chars)


_TABLES: dict[str, str] = {}


def text_column(data: Buffer, codepage: str = "037") -> str:
    """``data`` as EBCDIC text, ``.`` for each byte that is not printable."""
    table = _TABLES.get(codepage)
    if table is None:
        table = _TABLES[codepage] = _printable_table(codepage)
    return "".join(table[b] for b in bytes(data))


def _hex_groups(chunk: bytes, width: int) -> str:
    groups = [chunk[i:i + 4].hex().upper() for i in range(0, len(chunk), 4)]
    full = width * 2 + (width // 4 - 1)
    return " ".join(groups).ljust(full)


def hexdump(data: Buffer, *, width: int = 16, codepage: str = "037", indent: str = "",
            start: int = 0) -> list[str]:
    """Lines ``+OFFSET  HEX...  *TEXT*`` for ``data``; offsets count from
    ``start``.  ``width`` (a multiple of 4) bytes per line."""
    if width < 4 or width % 4:
        raise ValueError(f"width {width} is not a positive multiple of 4")
    raw = bytes(data)
    lines: list[str] = []
    same = 0
    prev = None
    for off in range(0, len(raw), width):
        chunk = raw[off:off + width]
        if chunk == prev and off + width < len(raw):  # the last line is always shown
            same += 1
            continue
        if same:
            lines.append(f"{indent}      {same} line{'s' * (same != 1)} same as above")
            same = 0
        prev = chunk
        lines.append(f"{indent}+{start + off:04X} {_hex_groups(chunk, width)}  "
                     f"*{text_column(chunk, codepage).ljust(width)}*")
    return lines
