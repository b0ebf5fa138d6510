"""The block API every tape-like medium offers, and helpers built on it.

A tape image (:class:`~spoolkit.tape.TapeImage`), a spool archive on a
minidisk extent (:class:`spoolkit.backup.minidisk.MinidiskTape`) and the
in-memory tapes of the tests read and write blocks the same way; code that
only moves blocks (spool archives, volume dumps) is written against
:class:`TapeMedium`.
"""

from __future__ import annotations

import enum
from typing import Final, Literal, Optional, Protocol, Union, runtime_checkable

from ..compress import Buffer
from ..errors import FormatError, TruncatedError


class TapeBlock(Protocol):
    """One block read from a medium (or a tapemark)."""

    @property
    def data(self) -> bytes: ...

    @property
    def is_tapemark(self) -> bool: ...

    @property
    def offset(self) -> int: ...


class TapeMedium(Protocol):
    """Sequential blocks and tapemarks with seekable positions.

    ``tell`` gives an opaque position (a byte offset in a tape image, a
    block number in memory) that ``seek`` goes back to; a write ends the
    medium after it, as on a tape."""

    def write_block(self, data: Buffer, /) -> object: ...

    def tapemark(self) -> object: ...

    def read_block(self) -> Optional[TapeBlock]: ...

    def tell(self) -> int: ...

    def seek(self, offset: int, /) -> None: ...

    def rewind(self) -> None: ...

    def skip_files(self, count: int = 1, /) -> int: ...


@runtime_checkable
class FramedMedium(TapeMedium, Protocol):
    """A medium that also takes blocks its writer framed (many per C call)."""

    def block_framing(self) -> tuple[int, int, int, int]:
        """(format, compression method, level, chunk size) to frame with."""
        ...

    def write_framed(self, framed: memoryview, blocks: int, last: int, /) -> int:
        """Write ``blocks`` framed blocks at once; returns the first one's position."""
        ...


class _Mark(enum.Enum):
    TAPEMARK = "TAPEMARK"

    def __repr__(self) -> str:
        return "TAPEMARK"


#: what :func:`read_next` returns for a tapemark
TAPEMARK: Final = _Mark.TAPEMARK
#: the type of :data:`TAPEMARK`
Tapemark = Literal[_Mark.TAPEMARK]


def read_next(tape: TapeMedium) -> Union[bytes, Tapemark, None]:
    """The next block's bytes, :data:`TAPEMARK`, or None at the end of the medium."""
    blk = tape.read_block()
    if blk is None:
        return None
    if blk.is_tapemark:
        return TAPEMARK
    return blk.data


def goto(tape: TapeMedium, offset: int, anchor: int) -> None:
    """Position at ``offset`` even where the block there is torn (a tape's
    ``seek`` checks that a whole block starts there): read forward from the
    block boundary ``anchor`` before it."""
    if tape.tell() == offset:
        return
    try:
        tape.seek(offset)
        return
    except TruncatedError:
        pass
    tape.seek(anchor)
    while tape.tell() < offset:
        if read_next(tape) is None:
            break
    if tape.tell() != offset:
        raise FormatError(f"offset {offset} is not a block boundary", offset=offset)


__all__ = ["Buffer", "FramedMedium", "TAPEMARK", "Tapemark", "TapeBlock", "TapeMedium",
           "goto", "read_next"]
