"""Tape-to-tape copy: AWS <-> HET <-> FakeTape, recompressing on all cores."""

from __future__ import annotations

import os
from collections.abc import Iterator
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
    counts = [0, 0]
    with open_tape(src) as inp, open_tape(dst, "w", format=format, compress=compress,
                                          level=level, chunk_size=chunk_size) as out:

        def items() -> Iterator[Optional[bytes]]:
            pos = 0
            for blk in inp:
                if progress:
                    progress(inp.tell() - pos)
                    pos = inp.tell()
                counts[blk.is_tapemark] += 1
                yield None if blk.is_tapemark else blk.data

        out.write_blocks(items(), workers=workers)
        out.close(finish=False)  # an exact copy: no tapemarks added
    return counts[0], counts[1]
