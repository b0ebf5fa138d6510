"""spoolkit's exception hierarchy.

Every error raised for bad input or a refused operation is a
:class:`SpoolkitError`; each subclass also inherits the fitting built-in, so
``except ValueError`` keeps working for callers that do not know spoolkit.
Each error carries what it is about: the file, and where known the byte
offset, the track (cylinder, head), block, page or record.  An error that
tells how to get past it has a ``hint`` in the API's spelling
(``overwrite=True``) and a ``cli_hint`` in the command line's (``--force``);
the ``spoolkit`` command prints :meth:`SpoolkitError.cli_str`.
"""

from __future__ import annotations

import os

# typing costs every command's start: the typing names are served on first
# use from spoolkit._where (PEP 562)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Optional, Union

    from typing_extensions import Unpack

    from ._where import JSONField as JSONField
    from ._where import Where as Where
else:
    def __getattr__(name: str) -> object:
        if name not in ("Where", "JSONField"):
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from . import _where

        value = getattr(_where, name)
        globals()[name] = value
        return value


class SpoolkitError(Exception):
    """Base class of all spoolkit errors."""

    def __init__(
        self,
        message: str,
        *,
        path: Union[str, os.PathLike[str], None] = None,
        offset: Optional[int] = None,
        track: Union[tuple[int, int], int, None] = None,
        block: Optional[int] = None,
        page: Optional[int] = None,
        record: Optional[int] = None,
        code: Optional[int] = None,
        hint: Optional[str] = None,
        cli_hint: Optional[str] = None,
    ) -> None:
        self.message = message
        self.hint = hint
        self.cli_hint = cli_hint
        self.path = None if path is None else str(path)
        self.offset = offset
        self.track = track
        self.block = block
        self.page = page
        self.record = record
        self.code = code
        super().__init__(message)

    def where(self) -> str:
        """The location part of the message: file, track, block, offset."""
        parts = []
        if self.path:
            parts.append(self.path)
        if isinstance(self.track, tuple) and len(self.track) == 2:
            parts.append("track %d/%d" % self.track)
        elif self.track is not None:
            parts.append(f"track {self.track}")
        if self.block is not None:
            parts.append("block %d" % self.block)
        if self.page is not None:
            parts.append("page %d" % self.page)
        if self.record is not None:
            parts.append("record %d" % self.record)
        if self.offset is not None:
            parts.append("offset %d" % self.offset)
        return ": ".join([", ".join(parts)]) if parts else ""

    def _text(self, hint: Optional[str]) -> str:
        text = f"{self.message} ({hint})" if hint else self.message
        where = self.where()
        return f"{where}: {text}" if where else text

    def __str__(self) -> str:
        return self._text(self.hint)

    def cli_str(self) -> str:
        """The message as the ``spoolkit`` command prints it: its options, not
        the API's keyword arguments, in the hint."""
        return self._text(self.cli_hint or self.hint) if self.hint or self.cli_hint \
            else str(self)

    def to_dict(self, *, cli: bool = False) -> dict[str, JSONField]:
        """A JSON-ready description (``cli``: the hint in the command line's
        spelling, for the CLI's --json error output)."""
        out: dict[str, JSONField] = {"error": type(self).__name__, "message": self.message}
        hint = (self.cli_hint or self.hint) if cli else self.hint
        if hint:
            out["hint"] = hint
        fields: tuple[tuple[str, Union[str, int, tuple[int, int], None]], ...] = (
            ("path", self.path), ("offset", self.offset), ("track", self.track),
            ("block", self.block), ("page", self.page), ("record", self.record))
        for name, value in fields:
            if value is not None:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out


class FormatError(SpoolkitError, ValueError):
    """The bytes do not have the structure the format requires."""


class TruncatedError(FormatError):
    """The input ends before a structure it announces."""


class ChecksumError(FormatError):
    """A CRC or check field does not match."""


class ChainLoopError(FormatError):
    """A chain (free space, spool pages) revisits an element."""


class CompressionError(FormatError):
    """Compressed data does not decompress, or decompresses past its limit."""


class InvalidArgumentError(SpoolkitError, ValueError):
    """An argument is outside what the operation accepts."""


class CapacityError(SpoolkitError, ValueError):
    """Records do not fit on the real device's track."""


class AddressError(SpoolkitError, IndexError):
    """A cylinder, head, track, block or slot outside the device."""


class UnsupportedError(SpoolkitError, NotImplementedError):
    """Valid input spoolkit does not handle (yet)."""


class NotFoundError(SpoolkitError, KeyError):
    """A looked-up item (spool file, dataset, volume) does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return SpoolkitError.__str__(self)


class NoSpaceError(SpoolkitError, OSError):
    """No free space left on the volume, image or tape."""

    def __str__(self) -> str:
        return SpoolkitError.__str__(self)


class ProtectedExtentError(SpoolkitError, PermissionError):
    """A write would land in a protected (CP-owned) extent."""

    def __str__(self) -> str:
        return SpoolkitError.__str__(self)


class ReadOnlyError(SpoolkitError, PermissionError):
    """A write to an image opened read-only."""

    def __str__(self) -> str:
        return SpoolkitError.__str__(self)


class ExistsError(SpoolkitError, FileExistsError):
    """The destination exists and the caller did not ask to replace it."""

    def __str__(self) -> str:
        return SpoolkitError.__str__(self)


class WriteError(SpoolkitError, OSError):
    """Writing, flushing or renaming an output failed (full file system, I/O
    error, short write); the destination is left as it was."""

    def __init__(self, message: str, *, errno: Optional[int] = None,
                 **where: Unpack[Where]) -> None:
        super().__init__(message, **where)
        self.errno = errno

    def __str__(self) -> str:
        return SpoolkitError.__str__(self)


class InUseError(SpoolkitError, BlockingIOError):
    """Another process holds the lock of the image, volume or archive."""

    def __init__(self, message: str, *, pid: Optional[int] = None,
                 **where: Unpack[Where]) -> None:
        super().__init__(message, **where)
        self.pid = pid

    def __str__(self) -> str:
        return SpoolkitError.__str__(self)


class BuildError(SpoolkitError, ImportError):
    """The compiled core is missing or does not match this package."""


__all__ = [
    "SpoolkitError", "FormatError", "TruncatedError", "ChecksumError", "ChainLoopError",
    "CompressionError", "InvalidArgumentError", "CapacityError", "AddressError",
    "UnsupportedError", "NotFoundError", "NoSpaceError", "ProtectedExtentError",
    "ReadOnlyError", "ExistsError", "WriteError", "InUseError", "BuildError",
]
