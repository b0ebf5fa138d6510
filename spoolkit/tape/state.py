"""The state of an open tape image, shared by its parts: reading
(:mod:`.reading`), positioning (:mod:`.position`), framing and writing
(:mod:`.framing`), copying (:mod:`.recode`); :mod:`.image` opens and closes it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Optional

from .._native import lib
from ..errors import InvalidArgumentError
from ..output import Writeback
from .window import Window

MAXBLOCK = lib.SPK_TAPE_MAXBLOCK
AWS = lib.SPK_TAPE_AWS
FAKETAPE = lib.SPK_TAPE_FAKETAPE
FORMATS = {"aws": AWS, "het": AWS, "fkt": FAKETAPE, "faketape": FAKETAPE}
EWINDOW = lib.SPK_EWINDOW


@dataclass
class Block:
    """One block read from a tape (or a tapemark)."""

    data: bytes
    is_tapemark: bool
    offset: int
    compressed_size: int
    method: int = 0

    def __len__(self) -> int:
        return len(self.data)


@dataclass
class FileStat:
    """Per-file counts, as ``hetmap`` shows them."""

    file: int
    blocks: int
    bytes: int
    stored: int
    min_block: int
    max_block: int
    min_stored: int
    max_stored: int
    offset: int

    def to_dict(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in _FILESTAT_FIELDS}


_FILESTAT_FIELDS = tuple(f.name for f in fields(FileStat))


class TapeState:
    """What an open tape image knows: its file, format and position."""

    closed: bool
    path: str
    mode: str
    format: str
    method: int                          # HET compression of written blocks
    level: int
    chunk_size: int
    block_number: int                    # blocks (incl. tapemarks) from the load point
    file_number: int                     # tapemarks passed from the load point
    bytes_read: int                      # stored bytes read, for callers that measure I/O
    _fd: int
    _fmt: int                            # SPK_TAPE_AWS or SPK_TAPE_FAKETAPE
    _win: Window
    _pos: int
    _last: int                           # length of the chunk (block) just before _pos
    _wrote: bool
    _append: Optional[tuple[int, int, bytes]]   # an append's start, old end, old tail
    _journal: bool                       # the append's undo record is on disk
    _size: Optional[int]                 # file size while we are its only writer
    _rb: Any                             # the C block descriptor reads fill in
    _rerr: Any
    _rbuf: Optional[bytearray]
    _rcbuf: Any
    _out: Optional[bytearray]
    _outbuf: Any
    _wb: Optional[Writeback]             # write-back started behind the writer

    def _check_open(self) -> None:
        if self.closed:
            raise InvalidArgumentError("I/O on a closed tape", path=self.path)


__all__ = ["AWS", "Block", "EWINDOW", "FAKETAPE", "FORMATS", "FileStat", "MAXBLOCK",
           "TapeState"]
