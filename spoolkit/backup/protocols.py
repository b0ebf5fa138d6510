"""The seams of the backup feature: what DUMP reads spool files from, what
LOAD restores them to, and what a selection predicate may look at.

The archive media are :class:`spoolkit.tape.medium.TapeMedium`\\ s (tape
images, minidisk extents, in-memory tapes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Callable, Optional, Protocol, runtime_checkable

from ..compress import Buffer
from ..spool.select import FileAttributes
from .blocks import FileHeader
from .writer import ArchiveFile

#: a file's identity across archives: owner, spool ID, created (microseconds
#: since the epoch, UTC) and the CRC-32C of its data pages
Identity = tuple[str, int, int, int]


#: a predicate over :class:`FileAttributes`, or None for every file
Selector = Optional[Callable[[FileAttributes], bool]]


@runtime_checkable
class ArchiveSource(Protocol):
    """What DUMP reads: the spool files to archive, as archive files."""

    @property
    def name(self) -> str:
        """What is dumped, as the run header records it."""
        ...

    def archive_files(self, select: Selector = None) -> Iterator[ArchiveFile]:
        """The selected files, each with its catalog entry, header page and pages."""
        ...

    def identities(self, select: Selector = None) -> set[Identity]:
        """The identities of the selected files (WATCH compares them)."""
        ...


@runtime_checkable
class ArchiveTarget(Protocol):
    """What LOAD (or a DUMP to a volume) restores archived files to."""

    @property
    def name(self) -> str: ...

    def restore(self, fh: FileHeader, pages: Iterable[Buffer], spoolid: str = "keep") -> int:
        """Add the file (its header block, then its page blocks); returns
        its spool ID there (``spoolid="new"``: a new one)."""
        ...


__all__ = ["ArchiveSource", "ArchiveTarget", "FileAttributes", "Identity", "Selector"]
