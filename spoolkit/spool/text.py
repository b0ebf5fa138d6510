"""Spool files as text: printer carriage-control CCWs <-> ASA / plain lines,
punch files <-> 80-column cards (zvm-spool.md 2.5 for the CCW codes).

Printer CCWs act *after* the line (write then space/skip), ASA characters
*before* it; the renderer keeps the motion pending until the next line.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .. import ebcdic
from ..errors import InvalidArgumentError, UnsupportedError
from .records import Records, is_data_record

ASA_CHANNEL = "123456789ABC"
ASA_SPACE = {0: "+", 1: " ", 2: "0", 3: "-"}
WRITE_SPACE = {1: 0x09, 2: 0x11, 3: 0x19}       # write, then space n
IMMED_SPACE = {1: 0x0B, 2: 0x13, 3: 0x1B}       # space n immediate
WRITE_NOSPACE = 0x01
PUNCH_WRITE = 0x41


def skip_immediate(channel: int) -> int:
    """Skip to channel 1..12 immediate: X'8B' + 8*(channel-1)."""
    return 0x83 + 8 * channel


def _motion_table() -> dict[int, tuple[bool, str, int]]:
    table: dict[int, tuple[bool, str, int]] = {WRITE_NOSPACE: (True, "space", 0)}
    for n in (1, 2, 3):
        table[WRITE_SPACE[n]] = (True, "space", n)
        table[IMMED_SPACE[n]] = (False, "space", n)
    for channel in range(1, 13):
        table[0x81 + 8 * channel] = (True, "skip", channel)
        table[skip_immediate(channel)] = (False, "skip", channel)
    return table


MOTION = _motion_table()


def printer_motion(op: int) -> tuple[bool, str, int]:
    """(is_write, 'space'|'skip'|'', amount) for a printer CCW opcode; other
    orders (NOP, load FCB, UCS, ...) neither print nor move the paper."""
    return MOTION.get(op, (False, "", 0))


def _print_lines(blocks: Iterable[Records], codec: str, asa: bool) -> Iterator[str]:
    spaces, skip = None, 0        # pending motion before the next line
    for block in blocks:
        text = block.data.decode(codec)   # 1:1 bytes -> characters, offsets hold
        start = 0
        for op, end in zip(block.ops, block.ends):
            is_write, motion, amount = printer_motion(op)
            if is_write:
                line = text[start:end]
                if line == " ":        # CP keeps one blank of a blank line (vmur: empty)
                    line = ""
                if asa:
                    if skip:
                        if spaces:
                            yield ASA_CHANNEL[skip - 1]
                            skip = 0
                        else:
                            yield ASA_CHANNEL[skip - 1] + line
                    if not skip:
                        n = 1 if spaces is None else spaces
                        while n > 3:
                            yield " "
                            n -= 1
                        yield ASA_SPACE[n] + line
                else:
                    if skip == 1:
                        yield "\f" + line
                    else:
                        for _ in range(max((spaces or 1) - 1, 0)):
                            yield ""
                        yield line
                spaces, skip = 0, 0
            if motion == "space":
                spaces = (spaces or 0) + amount
            elif motion == "skip":
                skip, spaces = amount, 0
            start = end


def render(kind: str, lrecl: int, blocks: Iterable[Records], codepage: str, asa: bool) -> str:
    """The records (``blocks``) of a ``kind`` spool file as text (see
    :meth:`~spoolkit.spool.SpoolFile.render_text`)."""
    codec = ebcdic.codec_name(codepage)
    if kind in ("PRT", "CON"):
        lines = _print_lines(blocks, codec, asa)
    elif kind in ("PUN", "RDR"):
        width = max(80, lrecl)
        lines = (data.decode(codec).ljust(width)
                 for block in blocks for op, data in block if is_data_record(op, data))
    else:
        raise UnsupportedError(f"render_text: a {kind} file is a system data file, not text")
    return "".join(line + "\n" for line in lines)


def _lines(text: str) -> list[str]:
    """Lines split at LF / CRLF only (str.splitlines would also split at a form feed)."""
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def print_records(text: str, codec: str, asa: bool) -> Iterator[tuple[int, bytes]]:
    """Print records for text lines; with ``asa`` the first column controls
    motion before the line, as immediate CCWs before a write-no-space."""
    for lineno, line in enumerate(_lines(text), 1):
        if not asa:
            if line.startswith("\f"):
                yield skip_immediate(1), b""
                line = line[1:]
            yield 0x09, (line or " ").encode(codec)
            continue
        control, line = (line[:1] or " "), line[1:]
        if control in ASA_CHANNEL:
            yield skip_immediate(ASA_CHANNEL.index(control) + 1), b""
        elif control in "0-":
            yield IMMED_SPACE[2 if control == "0" else 3], b""
        elif control == " ":
            yield IMMED_SPACE[1], b""
        elif control != "+":
            raise InvalidArgumentError(f"text: line {lineno}: {control!r} is no ASA character")
        yield WRITE_NOSPACE, (line or " ").encode(codec)


def card_records(data: bytes | str, codec: str, lrecl: int) -> Iterator[tuple[int, bytes]]:
    """Punch records: text lines, or EBCDIC bytes cut into lrecl-byte cards."""
    if isinstance(data, str):
        for line in _lines(data):
            card = line.encode(codec)
            if len(card) > lrecl:
                raise InvalidArgumentError(f"text: a card of {len(card)} columns (> {lrecl})")
            yield PUNCH_WRITE, card or b"\x40"
        return
    data = bytes(data)
    for i in range(0, len(data), lrecl):
        yield PUNCH_WRITE, data[i:i + lrecl]
