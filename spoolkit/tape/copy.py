"""Tape-to-tape copy: AWS <-> HET <-> FakeTape, recompressing on all cores."""

from __future__ import annotations

import os
from typing import Callable, Optional, Union

from ..errors import InvalidArgumentError
from .image import open_tape


def copy_tape(src: Union[str, os.PathLike], dst: Union[str, os.PathLike],
              format: Optional[str] = None, compress: Optional[str] = None, level: int = 4,
              chunk_size: int = 65535, workers: Optional[int] = None,
              progress: Optional[Callable[[int], None]] = None) -> tuple[int, int]:
    """Copy every block and tapemark of ``src`` to a new tape ``dst`` (written
    to a temporary file, renamed into place when complete).  Returns
    (blocks, tapemarks).  ``progress`` is called with stored bytes read."""
    if os.path.abspath(src) == os.path.abspath(dst):
        raise InvalidArgumentError("source and destination are the same file")
    with open_tape(src) as inp, open_tape(dst, "w", format=format, compress=compress,
                                          level=level, chunk_size=chunk_size) as out:
        counts = out.copy_from(inp, workers=workers, progress=progress)
        out.close(finish=False)  # an exact copy: no tapemarks added
    return counts
