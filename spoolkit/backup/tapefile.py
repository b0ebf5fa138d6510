"""A tape image as an archive medium: opened for a new archive (temp file,
renamed into place only when complete), for an append (cut back to where it
was if the append fails), or for reading; a file that is not a tape image is
refused naming what it is.
"""

from __future__ import annotations

import contextlib
import errno as errno_mod
import glob
import os
import re
import stat
from collections.abc import Iterator
from typing import Callable, Optional, Union

from ..errors import FormatError, NotFoundError, SpoolkitError, WriteError
from ..kinds import disk_kind
from ..output import atomic_output, fsync_checked
from ..tape import TapeImage, open_tape

PathLike = Union[str, "os.PathLike[str]"]
#: places a tape opened for an append: -> (offset, tapemarks after it)
Positioner = Callable[[TapeImage], tuple[int, int]]

_SUFFIXES = {".het": "het", ".fkt": "faketape", ".aws": "aws"}
#: the tape image of a new archive is written beside the output's temp file
_TAPE_SUFFIX = ".tape"


class NotATapeError(FormatError):
    """The file given as a tape image is something else (a disk image, a
    directory, an empty file)."""


def format_for(path: PathLike, format: Optional[str] = None) -> str:
    """The tape format to write: explicit, else from the name (as Hercules
    picks it: .het, .fkt, else AWS)."""
    if format:
        return format
    return _SUFFIXES.get(os.path.splitext(os.fspath(path))[1].lower(), "aws")


def check_tape_file(path: str) -> None:
    """Refuse, naming what it is, a file that cannot be a tape image: a
    directory, something that is not a regular file, a DASD image."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise NotFoundError(f"no such tape image: {path}", path=path) from None
    if stat.S_ISDIR(st.st_mode):
        raise NotATapeError("is a directory, not a tape image", path=path)
    if not stat.S_ISREG(st.st_mode):
        raise NotATapeError("is not a regular file, not a tape image", path=path)
    kind = disk_kind(path)
    if kind is not None:
        raise NotATapeError(f"not a tape image (this is a {kind} disk image)", path=path)


def _open_tape(path: str, mode: str, format: Optional[str], compress: Optional[str] = None,
               level: Optional[int] = None) -> TapeImage:
    if level is None:
        return open_tape(path, mode, format, compress)
    return open_tape(path, mode, format, compress, level)


def _nested_stale(path: str) -> None:
    """Remove tape files left by killed new-archive runs on ``path``: they
    are named after the run's temp file (``.NAME.spk-X.tmp.tape`` and the
    tape's own temps ``..NAME.spk-X.tmp.tape...``), which the run holds
    locked while it lives, so they are stale once that temp is gone."""
    d, name = os.path.split(os.path.abspath(path))
    outer = re.compile(r"(\.%s\.spk-[^/]*?\.tmp)%s" % (re.escape(name), re.escape(_TAPE_SUFFIX)))
    for pat in (".%s.spk-*%s*" % (glob.escape(name), _TAPE_SUFFIX),
                "..%s.spk-*%s*" % (glob.escape(name), _TAPE_SUFFIX)):
        for cand in glob.glob(os.path.join(glob.escape(d), pat)):
            m = outer.search(os.path.basename(cand))
            if m and not os.path.exists(os.path.join(d, m.group(1))):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(cand)


def _fsync_file(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise WriteError(f"cannot open for sync: {exc.strerror}", errno=exc.errno,
                         path=path) from None
    try:
        fsync_checked(fd, path)
    finally:
        os.close(fd)


def _as_write_error(exc: OSError, path: str) -> WriteError:
    full = exc.errno in (errno_mod.ENOSPC, errno_mod.EDQUOT)
    what = "the file system is full" if full else f"write failed: {exc.strerror}"
    return WriteError(what, errno=exc.errno, path=path)


#: errors of a write that ran out of room; in the caller's block (where the
#: source is read too) only these, without a file name, are the tape's
_FULL = (errno_mod.ENOSPC, errno_mod.EDQUOT, errno_mod.EFBIG)


@contextlib.contextmanager
def _checked_writes(path: str, body: bool = False) -> Iterator[None]:
    """OSErrors of the tape layer's writes become WriteError naming ``path``."""
    try:
        yield
    except WriteError as exc:
        if exc.path is None or not os.path.basename(exc.path).startswith(
                "." + os.path.basename(path) + ".spk-"):
            raise
        # the tape layer names the work file the run writes: name the archive
        raise WriteError(exc.message, errno=exc.errno, path=path) from None
    except SpoolkitError:
        raise
    except OSError as exc:
        if body and (exc.errno not in _FULL or exc.filename is not None):
            raise
        raise _as_write_error(exc, path) from None


@contextlib.contextmanager
def open_archive_tape(path: PathLike, mode: str = "r", *, format: Optional[str] = None,
                      compress: Optional[str] = None, level: Optional[int] = None,
                      overwrite: bool = False, position: Optional[Positioner] = None
                      ) -> Iterator[TapeImage]:
    """Open the tape image ``path``.

    ``"w"``: a new image written beside ``path`` and moved into place (synced)
    only when the block completes; a failed or killed dump leaves ``path`` as
    it was, and the next one removes what a killed run left.  ``"a"``: opened
    in place; ``position(tape) -> (offset, tapemarks)`` places the tape where
    the new data goes and says how many tapemarks followed that point; if the
    block raises, the tape is cut back to that point and those tapemarks are
    written again (the tape is as it was), all while the tape is still open.
    Without ``position`` the tape is placed at its end.  ``"r"``: read only.
    """
    path = os.fspath(path)
    if mode == "r":
        check_tape_file(path)
        tape = _open_tape(path, "r", format)
        try:
            yield tape
        finally:
            tape.close()
    elif mode == "w":
        fmt = format_for(path, format)
        with atomic_output(path, overwrite=overwrite) as tmp:
            _nested_stale(path)
            # the tape goes to a name of its own and replaces tmp only at the
            # end: renaming over an existing file makes ext4 (auto_da_alloc)
            # push the whole image to disk first; tmp stays (locked) meanwhile
            # so that what the run writes is known to be alive
            work = tmp + _TAPE_SUFFIX
            with _checked_writes(path):
                tape = _open_tape(work, "w", fmt, compress=compress, level=level)
            try:
                with _checked_writes(path, body=True):
                    yield tape
                with _checked_writes(path):
                    tape.close()
            except BaseException:
                with contextlib.suppress(Exception):
                    tape.abort()
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(work)
                raise
            try:
                _fsync_file(work)
                # tmp carries the mode the output must have (umask, or the replaced file's)
                os.chmod(work, stat.S_IMODE(os.stat(tmp).st_mode))
                os.unlink(tmp)
                os.rename(work, tmp)
            except BaseException as exc:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(work)
                if isinstance(exc, OSError) and not isinstance(exc, SpoolkitError):
                    raise _as_write_error(exc, path) from None
                raise
    elif mode == "a":
        check_tape_file(path)
        with _checked_writes(path):
            tape = _open_tape(path, "r+", format, compress=compress, level=level)
        try:
            start, marks = position(tape) if position is not None else (_end(tape), 0)
            if tape.tell() != start:        # (the block at start may be a torn one)
                tape.seek(start)
        except BaseException:
            tape.close(finish=False)
            raise
        try:
            with _checked_writes(path, body=True):
                yield tape
            with _checked_writes(path):
                tape.close()
        except BaseException:
            try:
                if not tape.closed and tape.tell() != start:
                    with _checked_writes(path):
                        tape.seek(start)
                        for _ in range(max(marks, 1)):
                            tape.tapemark()   # a write here cuts off what follows
            finally:
                with contextlib.suppress(Exception):
                    tape.close(finish=False)
            raise
    else:
        raise ValueError(f"mode must be 'r', 'w' or 'a', not {mode!r}")


def _end(tape: TapeImage) -> int:
    while tape.skip_files(1):
        pass
    return tape.tell()


__all__ = ["open_archive_tape", "format_for", "check_tape_file", "NotATapeError"]
