"""Where a new run goes on a tape opened for update (an append)."""

from __future__ import annotations

import bz2
import zlib
from typing import Optional

from ..errors import FormatError, SpoolkitError, TruncatedError
from ..tape.medium import TAPEMARK, TapeMedium, goto, read_next
from .blocks import MAGIC_RUN, RunHeader, block_kind
from .catalog import Run, read_catalog
from .recover import seal_torn_run


def plan_append(tape: TapeMedium, path: str = "") -> tuple[int, int]:
    """Where a new run goes on ``tape`` (opened for update), and how many
    tapemarks follow that point: the closing tapemark of the double tapemark
    after the last non-empty tape file, or the end of the tape.  Empty tape
    files and foreign files before it are kept.  A run cut short by a kill
    (its data or catalog file torn, or without its tapemark) is sealed first
    (:func:`seal_torn_run`), a torn block after the last run cut off.  A
    damaged block elsewhere, or a torn foreign file, is refused: appending
    would cut it off."""
    tape.rewind()
    data_end = 0                  # after the tapemark closing the last non-empty file
    marks = 0                     # tapemarks since then
    prev_run: Optional[tuple[RunHeader, int]] = None   # a run whose catalog comes next
    prev_kind: Optional[str] = None          # block kind that began the last non-empty file
    while True:
        pos = tape.tell()
        try:
            block = read_next(tape)
        except TruncatedError:
            return _after_tear(tape, pos, prev_run, prev_kind, path)
        if block is None:
            break
        if block is TAPEMARK:
            marks += 1
            continue
        kind = block_kind(block)
        header = RunHeader.decode(block, path=path, block=0, offset=pos) \
            if kind == "SPKR" else None
        try:
            closed = tape.skip_files(1)
        except TruncatedError:
            closed = 0
        if not closed:                        # the file runs into the end of the tape
            if header is not None:
                return _seal(tape, header, pos, None, path)
            if prev_run is not None:          # the run's catalog file, cut short
                if _whole_catalog(tape, prev_run, pos, path):
                    tape.tapemark()           # only its tapemark was missing
                    at = tape.tell()
                    tape.tapemark()
                    return at, 1
                return _seal(tape, prev_run[0], prev_run[1], pos, path)
            raise FormatError("the last tape file (not a spoolkit run) ends without a "
                              "tapemark or in a torn block; appending would cut it off",
                              path=path, offset=pos)
        prev_run = (header, pos) if header is not None else None
        prev_kind = kind
        data_end, marks = tape.tell(), 1
    if prev_run is not None:                  # a run's data file without its catalog
        return _seal(tape, prev_run[0], prev_run[1], data_end, path)
    if data_end == 0:
        return 0, 0                           # nothing but tapemarks: start at the load point
    return data_end, max(marks - 1, 0)


def _whole_catalog(tape: TapeMedium, run: tuple[RunHeader, int], pos: int, path: str) -> bool:
    """True when the catalog file at ``pos`` is whole up to the end of the
    tape (the tape is then at its end)."""
    try:
        goto(tape, pos, run[1])
        read_catalog(tape, Run(run[0], 0, run[1], catalog_at=pos), path)
    except SpoolkitError:
        return False
    return read_next(tape) is None


def _after_tear(tape: TapeMedium, pos: int, prev_run: Optional[tuple[RunHeader, int]],
                prev_kind: Optional[str], path: str) -> tuple[int, int]:
    """The first block of the file at ``pos`` is torn (it runs past the end
    of the tape): a dump was killed there, or another program."""
    if prev_run is not None:                  # the run's catalog file was being written
        return _seal(tape, prev_run[0], prev_run[1], pos, path)
    head = _torn_head(tape, pos)
    if head == MAGIC_RUN or head is None and prev_kind == "SPKC":
        return pos, 0                         # a run killed in its first block: cut it off
    raise FormatError("the last tape file (not a spoolkit run) ends in a torn block; "
                      "appending would cut it off", path=path, offset=pos)


def _torn_head(tape: TapeMedium, pos: int) -> Optional[bytes]:
    """The first 4 data bytes of the torn block at ``pos`` of a tape image
    (read from the file itself: no reader passes a torn block); None where
    they cannot be told (an in-memory tape, a bzip2 block)."""
    path = getattr(tape, "path", None)
    fmt = getattr(tape, "format", None)
    if not isinstance(path, str) or fmt not in ("aws", "het", "fkt", "faketape"):
        return None
    try:
        with open(path, "rb") as f:
            f.seek(pos)
            raw = f.read(1024)
    except OSError:
        return None
    if fmt in ("fkt", "faketape"):
        return raw[12:16] if len(raw) >= 16 else None
    if len(raw) < 6:
        return None
    data, method = raw[6:], raw[4] & 0x03
    try:
        if method == 1:
            data = zlib.decompressobj().decompress(data, 4)
        elif method == 2:
            data = bz2.BZ2Decompressor().decompress(data, 4)
    except (zlib.error, OSError, EOFError, ValueError):
        return None
    return data[:4] if len(data) >= 4 else None


def _seal(tape: TapeMedium, header: RunHeader, start: int, catalog_at: Optional[int],
          path: str) -> tuple[int, int]:
    seal_torn_run(tape, header, start, catalog_at, path)
    at = tape.tell()
    tape.tapemark()                           # the closing double tapemark
    return at, 1


__all__ = ["plan_append"]
