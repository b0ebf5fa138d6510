"""Undo records of appends, so that a killed append leaves the old tape.

An append writes in place.  Before its first byte reaches the tape, the
writer saves where the old tape ended and the bytes it is about to write
over (the closing tapemarks) in ``.NAME.spk-append.undo`` beside the tape,
synced.  A successful close removes the record; an append that fails undoes
itself.  A record found later belongs to a writer that died (the writer
holds the tape's exclusive lock while the record exists): the next open of
the tape puts the old end back (:func:`roll_back`) and removes the record.
The record names the tape's inode, so a tape replaced since is left alone.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from typing import Optional

from ..output import fsync_checked, write_all

MAGIC = b"SPKUNDO1"
_HEAD = struct.Struct("<8sQQQQQI")   # magic, dev, ino, start, end, tail length, crc


def journal_path(path: str) -> str:
    d, name = os.path.split(os.path.abspath(path))
    return os.path.join(d, "." + name + ".spk-append.undo")


def _sync_dir(path: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def save(path: str, fd: int, start: int, end: int, tail: bytes) -> str:
    """Record that the tape open as ``fd`` ended at ``end`` and held ``tail``
    from ``start``; synced before it returns."""
    st = os.fstat(fd)
    head = _HEAD.pack(MAGIC, st.st_dev, st.st_ino, start, end, len(tail), 0)
    crc = zlib.crc32(tail, zlib.crc32(head[:-4]))
    jpath = journal_path(path)
    tmp = jpath + ".new"
    jfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                  0o600)
    try:
        write_all(jfd, head[:-4] + struct.pack("<I", crc) + tail, tmp)
        fsync_checked(jfd, tmp)
    except BaseException:
        os.close(jfd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(jfd)
    os.replace(tmp, jpath)
    _sync_dir(jpath)
    return jpath


def discard(path: str) -> None:
    """Remove the undo record of ``path`` (the append is complete or undone)."""
    jpath = journal_path(path)
    for p in (jpath, jpath + ".new"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)


def pending(path: str) -> bool:
    return os.path.exists(journal_path(path)) or os.path.exists(journal_path(path) + ".new")


def roll_back(path: str, fd: int) -> Optional[int]:
    """Undo the interrupted append recorded for the tape open (exclusively
    locked) as ``fd``; returns the size put back, None when there was
    nothing to undo.  The record is removed either way."""
    jpath = journal_path(path)
    try:
        with open(jpath, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        discard(path)     # only a record never completed: the tape was not touched
        return None
    size = None
    if len(raw) >= _HEAD.size:
        magic, dev, ino, start, end, n, crc = _HEAD.unpack_from(raw)
        tail = raw[_HEAD.size:]
        st = os.fstat(fd)
        good = (magic == MAGIC and len(tail) == n and start + n == end
                and zlib.crc32(tail, zlib.crc32(raw[:_HEAD.size - 4])) == crc)
        if good and (dev, ino) == (st.st_dev, st.st_ino) and st.st_size >= start:
            try:
                os.ftruncate(fd, start)
            except OSError as exc:
                from ..errors import WriteError
                raise WriteError(f"cannot undo an interrupted append: {exc.strerror}",
                                 errno=exc.errno, path=path) from None
            write_all(fd, tail, path, offset=start)
            fsync_checked(fd, path)
            size = end
    discard(path)
    return size


__all__ = ["journal_path", "save", "discard", "pending", "roll_back"]
