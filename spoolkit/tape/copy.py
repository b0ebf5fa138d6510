"""Tape-to-tape copy: AWS <-> HET <-> FakeTape, recompressing on all cores."""

from __future__ import annotations

import os
from typing import Callable, Optional, Union

from ..errors import InvalidArgumentError
from .image import open_tape

BATCH_BYTES = 32 << 20  # blocks handed to the compressing threads at a time


def copy_tape(src: Union[str, os.PathLike], dst: Union[str, os.PathLike],
              format: Optional[str] = None, compress: Optional[str] = None, level: int = 4,
              chunk_size: int = 65535, workers: Optional[int] = None,
              progress: Optional[Callable[[int], None]] = None) -> tuple[int, int]:
    """Copy every block and tapemark of ``src`` to a new tape ``dst`` (written
    to a temporary file, renamed into place when complete).  Returns
    (blocks, tapemarks).  ``progress`` is called with stored bytes read."""
    if os.path.abspath(src) == os.path.abspath(dst):
        raise InvalidArgumentError("source and destination are the same file")
    blocks = marks = 0
    with open_tape(src) as inp, open_tape(dst, "w", format=format, compress=compress,
                                          level=level, chunk_size=chunk_size) as out:
        batch: list[bytes] = []
        size = 0
        pos = 0
        for blk in inp:
            if progress:
                progress(inp.tell() - pos)
                pos = inp.tell()
            if blk.is_tapemark:
                out.write_blocks(batch, workers=workers)
                batch, size = [], 0
                out.tapemark()
                marks += 1
                continue
            batch.append(blk.data)
            size += len(blk.data)
            blocks += 1
            if size >= BATCH_BYTES:
                out.write_blocks(batch, workers=workers)
                batch, size = [], 0
        out.write_blocks(batch, workers=workers)
        out.close(finish=False)  # an exact copy: no tapemarks added
    return blocks, marks
