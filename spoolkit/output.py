"""Output files that are either the old file or the complete new one.

Every file spoolkit creates goes through :func:`atomic_outputs`: the data is
written to a hidden temporary file beside the destination, which is synced
and renamed into place only when the whole operation succeeded.  The rules
(``docs/safety.md``):

- an existing destination is refused unless ``overwrite=True``; the check is
  repeated atomically at the rename (``link`` never replaces a file), so a
  file created meanwhile by someone else is not clobbered either;
- a symbolic link or a directory at the destination is refused (a link is
  followed only with ``follow_symlinks=True``);
- new files get ``0666 & ~umask``; a replaced file keeps its mode (and, where
  permitted, its owner);
- every write, sync and rename is checked: a failure raises
  :class:`~spoolkit.errors.WriteError` and removes the temporary files;
- a temporary file holds an exclusive lock for as long as its writer lives,
  so one left by a killed run is recognised (its lock is free) and removed by
  the next run on that destination or by :func:`remove_stale_temps`.
"""

from __future__ import annotations

import errno as errno_mod
import fcntl
import os
import stat

from .errors import ExistsError, InvalidArgumentError, WriteError
from .lazy import attributes, contextmanager

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Optional, Union

    PathLike = Union[str, "os.PathLike[str]"]
else:
    def _typing_names() -> dict[str, object]:
        from typing import Union

        return {"PathLike": Union[str, "os.PathLike[str]"]}

    __getattr__ = attributes(__name__, ("PathLike",), _typing_names, globals())

#: temporary files are ``.NAME.spk-<random>.tmp`` beside the destination
TEMP_TAG = ".spk-"
TEMP_SUFFIX = ".tmp"


def temp_pattern(path: PathLike) -> str:
    """The glob that matches the temporary files of destination ``path``."""
    import glob  # here: glob imports re, and only writers look for temporary files

    d, name = os.path.split(os.path.abspath(os.fspath(path)))
    return os.path.join(glob.escape(d), "." + glob.escape(name) + TEMP_TAG + "*" + TEMP_SUFFIX)


def remove_stale_temps(path: PathLike) -> list[str]:
    """Remove the temporary files of ``path`` left by runs that died (their
    lock is free); returns the names removed.  Files of live writers stay."""
    import glob

    removed = []
    for tmp in glob.glob(temp_pattern(path)):
        try:
            fd = os.open(tmp, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            try:
                os.unlink(tmp)
                removed.append(tmp)
            except FileNotFoundError:
                pass
        finally:
            os.close(fd)
    return removed


class _Target:
    # no dataclass: the dataclasses module costs every command's start

    def __init__(self, path: str, old_mode: Optional[int],
                 old_owner: Optional[tuple[int, int]]) -> None:
        self.path = path                # where the file goes (a followed link resolved)
        self.old_mode = old_mode        # permission bits of the file being replaced
        self.old_owner = old_owner

    def __repr__(self) -> str:
        return (f"_Target(path={self.path!r}, old_mode={self.old_mode!r}, "
                f"old_owner={self.old_owner!r})")


def check_destination(path: PathLike, *, overwrite: bool = False,
                      follow_symlinks: bool = False) -> _Target:
    """Refuse what must not be written over; return where the output goes."""
    p = os.fspath(path)
    if p == "" or p.endswith(os.sep):
        raise InvalidArgumentError(f"{p!r} is not a file name", path=p)
    try:
        lst = os.lstat(p)
    except FileNotFoundError:
        parent = os.path.dirname(os.path.abspath(p))
        if not os.path.isdir(parent):
            raise WriteError("the directory to write into does not exist",
                             errno=errno_mod.ENOENT, path=p) from None
        return _Target(p, None, None)
    if stat.S_ISLNK(lst.st_mode):
        if not follow_symlinks:
            raise ExistsError("is a symbolic link; refusing to write through it", path=p)
        p = os.path.realpath(p)
        return check_destination(p, overwrite=overwrite)
    if stat.S_ISDIR(lst.st_mode):
        raise ExistsError("is a directory", path=p)
    if not overwrite:
        raise ExistsError("already exists", hint="overwrite=True replaces it",
                          cli_hint="--force replaces it", path=p)
    if not stat.S_ISREG(lst.st_mode):
        raise ExistsError("is not a regular file; refusing to replace it", path=p)
    return _Target(p, stat.S_IMODE(lst.st_mode), (lst.st_uid, lst.st_gid))


def _new_temp(target: _Target) -> tuple[str, int]:
    d, name = os.path.split(os.path.abspath(target.path))
    for _ in range(100):
        tmp = os.path.join(d, "." + name + TEMP_TAG + os.urandom(4).hex() + TEMP_SUFFIX)
        try:
            # 0666: the umask decides, as for any file a program creates
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise WriteError(f"cannot create a temporary file: {exc.strerror}",
                             errno=exc.errno, path=target.path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if target.old_mode is not None:
                if target.old_owner is not None:
                    try:
                        os.fchown(fd, *target.old_owner)
                    except PermissionError:
                        pass
                os.fchmod(fd, target.old_mode)
        except BaseException:
            os.close(fd)
            os.unlink(tmp)
            raise
        return tmp, fd
    raise WriteError("cannot find a free temporary file name", path=target.path)


def _created_meanwhile(path: str) -> ExistsError:
    return ExistsError("was created by someone else while spoolkit wrote it; left alone",
                       path=path)


def _install(tmp: str, target: _Target) -> None:
    """Move ``tmp`` to the destination; never replaces a file unless asked."""
    try:
        if target.old_mode is not None:
            os.replace(tmp, target.path)
            return
        try:
            os.link(tmp, target.path)   # fails if the name exists, atomically
        except FileExistsError:
            raise _created_meanwhile(target.path) from None
        except OSError as exc:
            if exc.errno not in (errno_mod.EPERM, errno_mod.ENOTSUP, errno_mod.EXDEV,
                                 errno_mod.EMLINK, errno_mod.ENOSYS):
                raise
            # file systems without hard links: check, then rename
            if os.path.lexists(target.path):
                raise _created_meanwhile(target.path) from None
            os.replace(tmp, target.path)
            return
        os.unlink(tmp)
    except OSError as exc:
        if isinstance(exc, ExistsError):
            raise
        raise WriteError(f"cannot move the finished file into place: {exc.strerror}",
                         errno=exc.errno, path=target.path) from None


def _fsync_path(path: str, directory: bool = False) -> None:
    flags = os.O_RDONLY | os.O_CLOEXEC | (os.O_DIRECTORY if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise WriteError(f"cannot open for sync: {exc.strerror}", errno=exc.errno,
                         path=path) from None
    try:
        os.fsync(fd)
    except OSError as exc:
        if not (directory and exc.errno in (errno_mod.EINVAL, errno_mod.EBADF)):
            raise WriteError(f"sync failed: {exc.strerror}", errno=exc.errno,
                             path=path) from None
    finally:
        os.close(fd)


@contextmanager
def atomic_outputs(paths: Sequence[PathLike], *, overwrite: bool = False,
                   follow_symlinks: bool = False, sync: bool = True) -> Iterator[list[str]]:
    """Yield temporary files beside ``paths``; when the block completes they
    are synced and renamed into place, when it raises they are removed.

    Readers never see a half-written output: either the old files (or none)
    or the complete new ones.  See the module docstring for the rules.
    """
    targets = [check_destination(p, overwrite=overwrite, follow_symlinks=follow_symlinks)
               for p in paths]
    if len({os.path.abspath(t.path) for t in targets}) != len(targets):
        raise InvalidArgumentError("the same output file is named twice",
                                   path=targets[0].path if targets else None)
    for t in targets:
        remove_stale_temps(t.path)
    tmps: list[str] = []
    fds: list[int] = []
    installed: list[str] = []
    try:
        for t in targets:
            tmp, fd = _new_temp(t)
            tmps.append(tmp)
            fds.append(fd)
        yield list(tmps)
        if sync:
            for tmp, fd in zip(tmps, fds):
                try:
                    os.fsync(fd)
                except OSError as exc:
                    raise WriteError(f"sync failed: {exc.strerror}", errno=exc.errno,
                                     path=tmp) from None
        for tmp, t in zip(tmps, targets):
            _install(tmp, t)
            if t.old_mode is None:
                installed.append(t.path)
        tmps = []
        if sync:
            for d in sorted({os.path.dirname(os.path.abspath(t.path)) for t in targets}):
                _fsync_path(d, directory=True)
        installed = []
    finally:
        for fd in fds:
            os.close(fd)
        for tmp in tmps:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        # a set is all or nothing: new files of a failed set go again
        for p in installed:
            try:
                os.unlink(p)
            except FileNotFoundError:
                pass


@contextmanager
def atomic_output(path: PathLike, *, overwrite: bool = False, follow_symlinks: bool = False,
                  sync: bool = True) -> Iterator[str]:
    """One-file form of :func:`atomic_outputs`."""
    with atomic_outputs([path], overwrite=overwrite, follow_symlinks=follow_symlinks,
                        sync=sync) as tmps:
        yield tmps[0]


def write_all(fd: int, data: Union[bytes, bytearray, memoryview], path: Optional[str],
              offset: Optional[int] = None) -> None:
    """Write all of ``data`` (at ``offset`` with pwrite, else at the file
    position); a short write is continued, an error raises WriteError."""
    view = memoryview(data).cast("B")
    done = 0
    while done < len(view):
        try:
            if offset is None:
                n = os.write(fd, view[done:])
            else:
                n = os.pwrite(fd, view[done:], offset + done)
        except OSError as exc:
            raise _write_error(exc, path, None if offset is None else offset + done) from None
        if n <= 0:
            raise WriteError("the file system accepted no more bytes", errno=errno_mod.EIO,
                             path=path, offset=None if offset is None else offset + done)
        done += n


def write_file(path: PathLike, data: Union[bytes, bytearray, memoryview], *,
               overwrite: bool = False, mtime: Optional[float] = None) -> str:
    """Write ``data`` as the whole new content of the file ``path`` and return
    its name.

    The rules of :func:`atomic_output` apply: an existing destination is
    refused unless ``overwrite``, the bytes go to a locked temporary file
    (mode ``0666 & ~umask``, or the mode of the file replaced) whose every
    write and sync is checked, and which is renamed into place only when
    complete; on an error it is removed.  ``mtime`` (seconds since the
    epoch) sets the file's access and modification times before it appears.
    """
    name = os.fspath(path)
    with atomic_output(name, overwrite=overwrite) as tmp:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as exc:
            raise WriteError(f"cannot open the temporary file: {exc.strerror}",
                             errno=exc.errno, path=tmp) from None
        try:
            write_all(fd, data, name)
            if mtime is not None:
                os.utime(fd, (mtime, mtime))
        finally:
            os.close(fd)
    return name


def fsync_checked(fd: int, path: str) -> None:
    """``fsync`` that raises WriteError naming ``path``."""
    try:
        os.fsync(fd)
    except OSError as exc:
        raise _write_error(exc, path, None) from None


#: how far a writer gets ahead of the write-back it started (bytes)
WRITEBACK_STEP = 32 << 20


class Writeback:
    """Starts the kernel's write-back of the bytes a writer has put behind it,
    every :data:`WRITEBACK_STEP` bytes, so that the disk writes while the
    writer computes and the closing ``fsync`` has little left to wait for.
    A hint only (``sync_file_range`` on Linux, nothing elsewhere): errors are
    reported by that ``fsync``."""

    def __init__(self, fd: int, start: int = 0, step: int = WRITEBACK_STEP) -> None:
        self.fd = fd
        self.done = start      # write-back started up to here
        self.step = step

    def advance(self, end: int) -> None:
        """The writer has written every byte before ``end``."""
        if end - self.done >= self.step:
            from ._native import lib

            lib.spk_io_writeback(self.fd, self.done, end - self.done)
            self.done = end


def errno_write_error(code: int, path: Optional[str], offset: Optional[int]) -> WriteError:
    """The WriteError for a write that failed with ``errno`` ``code`` (a C
    writer's SPK_EWRITE)."""
    return _write_error(OSError(code, os.strerror(code)), path, offset)


def _write_error(exc: OSError, path: Optional[str], offset: Optional[int]) -> WriteError:
    what = "the file system is full" if exc.errno in (errno_mod.ENOSPC, errno_mod.EDQUOT) \
        else f"write failed: {exc.strerror}"
    return WriteError(what, errno=exc.errno, path=path, offset=offset)


__all__ = ["atomic_output", "atomic_outputs", "check_destination", "remove_stale_temps",
           "temp_pattern", "write_all", "write_file", "fsync_checked",
           "Writeback", "WRITEBACK_STEP", "errno_write_error"]
