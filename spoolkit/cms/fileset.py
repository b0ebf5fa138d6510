"""A CMS file off any source (minidisk, VMARC archive, VMFPLC2 or TAPE DUMP
tape, host directory): its CMS attributes and its exact records.  Sources
yield and targets take :class:`CMSFile`; nothing else crosses between them."""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Callable, Optional, Protocol, runtime_checkable

from .fst import FileStatus
from .records import CMSRecords


@dataclass(frozen=True)
class CMSFile:
    """One CMS file: ``fname ftype fmode``, record format and length, the date
    it was last written (None when the source holds none), and its records."""

    fname: str
    ftype: str
    fmode: str
    recfm: str                      #: "F" or "V"
    lrecl: int                      #: F: every record's length; V: the longest
    date: Optional[_dt.datetime]
    records: CMSRecords

    @property
    def name(self) -> str:
        """``FNAME FTYPE FM`` as CMS shows it."""
        return f"{self.fname} {self.ftype} {self.fmode}"


class FilePattern:
    """``FN FT FM`` as CMS commands take them: ``*`` alone is any name;
    within a name ``*`` is any run of characters and ``%`` one character
    (as LISTFILE takes them).  A one-character mode matches the mode
    letter, two the letter and number."""

    def __init__(self, fname: str = "*", ftype: str = "*", fmode: str = "*") -> None:
        self.fname = fname.upper()
        self.ftype = ftype.upper()
        self.fmode = fmode.upper()
        self._fn = _compile(self.fname)
        self._ft = _compile(self.ftype)
        self._fm = None if self.fmode == "*" else (
            _compile(self.fmode) if len(self.fmode) >= 2 else _compile(self.fmode + "*"))

    def matches(self, fname: str, ftype: str, fmode: str) -> bool:
        """Whether ``fname ftype fmode`` is one the pattern names."""
        return (self._fn(fname.upper()) and self._ft(ftype.upper())
                and (self._fm is None or self._fm(fmode.upper())))

    def __call__(self, f: CMSFile) -> bool:
        return self.matches(f.fname, f.ftype, f.fmode)

    def __repr__(self) -> str:
        return f"FilePattern({self.fname!r}, {self.ftype!r}, {self.fmode!r})"


def _compile(pat: str) -> Callable[[str], bool]:
    if pat == "*":
        return lambda s: True
    if "*" not in pat and "%" not in pat:
        return lambda s: s == pat
    rx = re.compile("".join(".*" if c == "*" else "." if c == "%" else re.escape(c)
                            for c in pat) + r"\Z", re.S)
    return lambda s: rx.match(s) is not None


@runtime_checkable
class FileSource(Protocol):
    """Where CMS files come from: a minidisk, a tape, an archive, a directory."""

    def entries(self) -> list[FileStatus]:
        """Every file's attributes, as ``spoolkit cms list`` shows them."""
        ...

    def files(self, pattern: Optional[FilePattern] = None) -> Iterator[CMSFile]:
        """The files (those ``pattern`` names), with their records, in order."""
        ...

    def close(self) -> None:
        """Release what the source holds open."""
        ...


@runtime_checkable
class FileTarget(Protocol):
    """Where CMS files go.  Nothing is visible under the target's name before
    :meth:`commit` (a minidisk or a directory: each file once complete).  A
    target dropped without either is finished as an unclosed file is
    (:mod:`spoolkit.lifetime`): a tape then holds the files added so far."""

    def add(self, f: CMSFile) -> None:
        """Write a file (refusing one that exists unless the target was
        opened with force)."""
        ...

    def commit(self) -> None:
        """Finish: the files are in place."""
        ...

    def abort(self) -> None:
        """Give up: a whole-file target (tape, archive) leaves nothing."""
        ...
