"""Tape-to-tape copy: AWS <-> HET <-> FakeTape, recompressing on all cores."""

from __future__ import annotations

import os
from typing import Callable, Optional, Union

from ..errors import InvalidArgumentError
from ..output import check_destination
from .image import open_tape


def copy_tape(src: Union[str, os.PathLike[str]], dst: Union[str, os.PathLike[str]],
              format: Optional[str] = None, compress: Optional[str] = None, level: int = -1,
              chunk_size: int = 65535, workers: Optional[int] = None,
              progress: Optional[Callable[[int], None]] = None,
              overwrite: bool = False) -> tuple[int, int]:
    """Copy every block and tapemark of ``src`` to a new tape ``dst`` (written
    to a temporary file, moved into place when complete; an existing ``dst``
    is refused unless ``overwrite``).  Returns (blocks, tapemarks).
    ``progress`` is called with stored bytes read."""
    if os.path.realpath(src) == os.path.realpath(dst):
        raise InvalidArgumentError("source and destination are the same file")
    check_destination(dst, overwrite=overwrite)
    with open_tape(src) as inp, open_tape(dst, "w", format=format, compress=compress,
                                          level=level, chunk_size=chunk_size,
                                          overwrite=overwrite) as out:
        counts = out.copy_from(inp, workers=workers, progress=progress)
        out.close(finish=False)  # an exact copy: no tapemarks added
    return counts
