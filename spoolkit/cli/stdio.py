"""``-`` on the command line: stdin for an input, stdout for an output.

Every verb's file arguments go through these helpers, so ``-`` means the
same everywhere (a file really called ``-`` is ``./-``):

- an input read whole (a track image, text for a spool file, USER DIRECT) is
  read from stdin (:func:`read_input`);
- an input the library opens by name and reads at offsets (a disk image, a
  tape, an archive) is stdin itself when stdin is a regular file (``< FILE``),
  else stdin is first copied to a temporary file in ``$TMPDIR``, removed at
  the end (:func:`input_path`);
- an output written as a stream (a track, a spool file, a data set) goes to
  stdout (:func:`open_output`);
- an output the library builds by name (an image, a tape) is built in a
  temporary file in ``$TMPDIR`` and copied to stdout once complete, so a
  failed run writes nothing to stdout (:func:`output_path`);
- a file updated in place cannot be ``-`` (:func:`refuse_stdio`).

stdin and stdout can each be named once per command.  While stdout carries
data the verb's messages, --json results and errors go to stderr
(:func:`message_stream`).  Binary data is not written to, nor read from, a
terminal (as gzip does).
"""

from __future__ import annotations

import os
import stat
import sys

from ..errors import InvalidArgumentError, SpoolkitError, WriteError
from ..lazy import attributes, contextmanager
from ..output import atomic_output, check_destination, write_all

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager
    from typing import Optional, TextIO, Union

    from .sink import Sink as Sink
else:
    def _sink_names() -> dict[str, object]:
        from .sink import Sink

        return {"Sink": Sink}

    __getattr__ = attributes(__name__, ("Sink",), _sink_names, globals())

STDIO = "-"
#: how errors and results name stdin and stdout
STDIN_NAME = "<stdin>"
STDOUT_NAME = "<stdout>"

_CHUNK = 1 << 20
_claims: dict[str, str] = {}


def is_stdio(name: Union[str, os.PathLike[str], None]) -> bool:
    """True when a file argument is ``-``."""
    return name is not None and os.fspath(name) == STDIO


def reset() -> None:
    """Forget which arguments took stdin and stdout (one command run)."""
    _claims.clear()


def _claim(stream: str, what: str) -> None:
    """``what`` takes stdin (read once: every claim is a new reader) or
    stdout (which the checks and the writing of one output both claim)."""
    held = _claims.get(stream)
    if held is None:
        _claims[stream] = what
        return
    if stream == "stdout" and held == what:
        return
    both = f"{what} and {held} cannot both" if held != what else f"only one {what} can"
    raise InvalidArgumentError(f"{both} be '-' ({stream}); name a file for the other")


def stdout_is_data() -> bool:
    """True when an argument sends data to stdout."""
    return "stdout" in _claims


def message_stream() -> TextIO:
    """Where a verb's messages and results go: stdout unless it carries data."""
    return sys.stderr if stdout_is_data() else sys.stdout


def refuse_stdio(name: Optional[str], what: str) -> None:
    """Refuse ``-`` for a file the verb updates in place."""
    if is_stdio(name):
        raise InvalidArgumentError(f"{what} is updated in place and cannot be '-' (stdin or "
                                   "stdout); name a file (./- for a file called '-')")


def _rename(exc: SpoolkitError, tmp: str, shown: str, tmpdir: Optional[str] = None) -> None:
    """Errors about a temporary stand-in (or a file beside it in ``tmpdir``)
    name what the user named."""
    inside = tmpdir is not None and exc.path is not None and \
        exc.path.startswith(tmpdir + os.sep)
    if exc.path == tmp or inside:
        exc.path = shown
    exc.message = exc.message.replace(tmp, shown)


# -- inputs -----------------------------------------------------------------

def read_input(name: str, what: str = "FILE") -> bytes:
    """The whole content of an input file, or of stdin for ``-``."""
    if is_stdio(name):
        _claim("stdin", what)
        return sys.stdin.buffer.read()
    with open(name, "rb") as f:
        return f.read()


def text_source(name: str, what: str = "FILE") -> str:
    """What the overlay parsers take for a text input: its path, or for ``-``
    stdin's text (Latin-1, as they read files; ending in a newline, which
    tells text from a path)."""
    if not is_stdio(name):
        return name
    text = read_input(name, what).decode("latin-1")
    return text if text.endswith("\n") else text + "\n"


def shown(name: str, *, output: bool = False) -> str:
    """How results name a file argument: ``<stdin>``/``<stdout>`` for ``-``."""
    return (STDOUT_NAME if output else STDIN_NAME) if is_stdio(name) else name


def _reopenable_stdin() -> Optional[str]:
    """``/dev/stdin`` when stdin is a regular file at its start that can be
    opened again by name (the library reads it at offsets), else None."""
    try:
        st = os.fstat(0)
        if not stat.S_ISREG(st.st_mode) or os.lseek(0, 0, os.SEEK_CUR) != 0:
            return None
        fd = os.open("/dev/stdin", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    os.close(fd)
    return "/dev/stdin"


def _spool_stdin(tmp: str) -> None:
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        while True:
            data = os.read(0, _CHUNK)
            if not data:
                break
            write_all(fd, data, tmp)
    except WriteError as exc:
        raise WriteError(f"copying stdin to a temporary file in {os.path.dirname(tmp)} "
                         f"(set TMPDIR to a file system with room): {exc.message}",
                         errno=exc.errno, path=STDIN_NAME) from None
    finally:
        os.close(fd)


class _Named:
    """The context of an input named by a file: the name itself."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> str:
        return self.name

    def __exit__(self, *exc: object) -> None:
        return None


def input_path(name: str, what: str = "IMG") -> AbstractContextManager[str]:
    """A name the library can open for the input ``name``: ``name`` itself,
    or for ``-`` stdin (directly when it is a regular file, else copied to a
    temporary file: disk images, tapes and archives are read at offsets).
    Errors about the stand-in name ``<stdin>``."""
    # a named file needs no generator context (nor contextlib, to start a command)
    return _Named(name) if not is_stdio(name) else _stdin_path(what)


@contextmanager
def _stdin_path(what: str) -> Iterator[str]:
    _claim("stdin", what)
    if sys.stdin.isatty():
        raise InvalidArgumentError(f"refusing to read binary data ({what}) from a terminal; "
                                   "redirect or pipe stdin, or name a file")
    import shutil  # here: most command lines never need a temporary directory
    import tempfile

    direct = _reopenable_stdin()
    tmpdir = None if direct else tempfile.mkdtemp(prefix="spoolkit-")
    path = direct or os.path.join(str(tmpdir), "stdin")
    try:
        if tmpdir is not None:
            _spool_stdin(path)
        yield path
    except SpoolkitError as exc:
        _rename(exc, path, STDIN_NAME, tmpdir)
        raise
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


# -- outputs ----------------------------------------------------------------

def _stdout_for(what: str, binary: bool) -> None:
    _claim("stdout", what)
    if binary and sys.stdout.isatty():
        raise InvalidArgumentError(f"refusing to write binary data ({what}) to a terminal; "
                                   "redirect or pipe stdout, or name a file")


def check_output(name: Optional[str], *, overwrite: bool = False, what: str = "OUT",
                 binary: bool = True) -> None:
    """Refuse an output before any work: an existing file without
    ``overwrite``, or ``-`` when stdout is taken (or a terminal, for binary
    data).  ``None`` is stdout, as ``-``."""
    if name is None or is_stdio(name):
        _stdout_for(what, binary)
    else:
        check_destination(name, overwrite=overwrite)


class _FileSink:
    """Buffered, checked writes to an open file (full file systems and short
    writes raise :class:`~spoolkit.errors.WriteError` naming ``path``)."""

    def __init__(self, fd: int, path: str) -> None:
        self.fd, self.path = fd, path
        self.buf = bytearray()

    def write(self, data: bytes, /) -> int:
        self.buf += data
        if len(self.buf) >= _CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buf:
            write_all(self.fd, self.buf, self.path)
            self.buf.clear()


@contextmanager
def open_output(name: Optional[str], *, overwrite: bool = False, what: str = "OUT",
                binary: bool = True) -> Iterator[Sink]:
    """Write an output as a stream: stdout's binary buffer for ``-`` (or
    ``None``), else a new file that appears complete or not at all
    (:func:`spoolkit.output.atomic_output`; an existing one only with
    ``overwrite``)."""
    if name is None or is_stdio(name):
        _stdout_for(what, binary)
        out = sys.stdout.buffer
        yield out
        out.flush()
        return
    with atomic_output(name, overwrite=overwrite) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            sink = _FileSink(fd, name)
            yield sink
            sink.flush()
        finally:
            os.close(fd)


def _copy_to_stdout(path: str) -> None:
    out = sys.stdout.buffer
    with open(path, "rb") as f:
        while True:
            data = f.read(_CHUNK)
            if not data:
                break
            out.write(data)
    out.flush()


@contextmanager
def output_path(name: str, what: str = "OUT", *, suffix: str = "") -> Iterator[str]:
    """A name the library can create the output ``name`` under: ``name``
    itself, or for ``-`` a temporary file (``stdout`` + ``suffix``, in a
    private directory in ``$TMPDIR``) copied to stdout once the block ends
    without error, then removed.  Errors about it name ``<stdout>``."""
    if not is_stdio(name):
        yield name
        return
    import shutil
    import tempfile

    _stdout_for(what, True)
    tmpdir = tempfile.mkdtemp(prefix="spoolkit-")
    path = os.path.join(tmpdir, "stdout" + suffix)
    try:
        try:
            yield path
        except WriteError as exc:
            exc.message += (f" (stdout is built in a temporary file in {tmpdir}: set TMPDIR "
                            "to a file system with room)")
            _rename(exc, path, STDOUT_NAME, tmpdir)
            raise
        except SpoolkitError as exc:
            _rename(exc, path, STDOUT_NAME, tmpdir)
            raise
        _copy_to_stdout(path)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


__all__ = ["STDIO", "STDIN_NAME", "STDOUT_NAME", "Sink", "is_stdio", "reset",
           "stdout_is_data", "message_stream", "refuse_stdio", "read_input", "text_source",
           "shown", "input_path",
           "check_output", "open_output", "output_path"]
