"""Tape block I/O as the archive code needs it: open a tape image for a new
archive (temp file, renamed into place only when complete), for an append
(truncated back to where it was if the append fails), or for reading; read
the next block as bytes, :data:`TAPEMARK` or None at the end of the tape.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any, Optional, Union

from ..util import atomic_output

PathLike = Union[str, "os.PathLike[str]"]


class _Tapemark:
    def __repr__(self) -> str:
        return "TAPEMARK"


#: what :func:`read_next` returns for a tapemark
TAPEMARK: Any = _Tapemark()

_SUFFIXES = {".het": "het", ".fkt": "faketape", ".aws": "aws"}


def format_for(path: PathLike, format: Optional[str] = None) -> str:
    """The tape format to write: explicit, else from the name (as Hercules
    picks it: .het, .fkt, else AWS)."""
    if format:
        return format
    return _SUFFIXES.get(os.path.splitext(os.fspath(path))[1].lower(), "aws")


def _open_tape(path: str, mode: str, format: Optional[str], **kw: Any) -> Any:
    try:
        from ..tape import open_tape
    except ImportError as exc:  # pragma: no cover - only before the tape module is merged
        from ..errors import UnsupportedError
        raise UnsupportedError(f"tape images are not supported by this build: {exc}",
                               path=path) from exc

    if format is not None:
        kw["format"] = format
    return open_tape(path, mode, **{k: v for k, v in kw.items() if v is not None})


@contextlib.contextmanager
def open_archive_tape(path: PathLike, mode: str = "r", *, format: Optional[str] = None,
                      compress: Any = None, level: Optional[int] = None) -> Iterator[Any]:
    """Open the tape image ``path``.

    ``"w"``: a new image written to a temp file and renamed over ``path`` only
    when the block completes (a failed or killed dump leaves ``path`` as it
    was).  ``"a"``: positioned at the end of the existing image; if the block
    raises, the file is truncated back to its old size and its old tail bytes
    are put back, so the archive is as before.  ``"r"``: read only.
    """
    path = os.fspath(path)
    if mode == "r":
        tape = _open_tape(path, "r", format)
        try:
            yield tape
        finally:
            tape.close()
    elif mode == "w":
        fmt = format_for(path, format)
        with atomic_output(path) as tmp:
            # the tape renames its own temp file to tmp when closed; renaming
            # over an existing file makes ext4 (auto_da_alloc) push the whole
            # image to disk first (~0.7 s per GiB), so tmp must not exist then
            os.unlink(tmp)
            tape = _open_tape(tmp, "w", fmt, compress=compress, level=level)
            try:
                yield tape
            finally:
                tape.close()
    elif mode == "a":
        size = os.path.getsize(path)
        keep = min(size, 1 << 16)
        with open(path, "rb") as f:
            f.seek(size - keep)
            tail = f.read(keep)
        tape = _open_tape(path, "a", format, compress=compress, level=level)
        try:
            yield tape
            tape.close()
        except BaseException:
            with contextlib.suppress(Exception):
                tape.close()
            with open(path, "r+b") as f:
                f.truncate(size)
                f.seek(size - keep)
                f.write(tail)
            raise
    else:
        raise ValueError(f"mode must be 'r', 'w' or 'a', not {mode!r}")


def read_next(tape: Any) -> Any:
    """The next block's bytes, :data:`TAPEMARK`, or None at the end of the tape."""
    blk = tape.read_block()
    if blk is None:
        return None
    if getattr(blk, "is_tapemark", False):
        return TAPEMARK
    return blk.data


__all__ = ["TAPEMARK", "open_archive_tape", "read_next", "format_for"]
