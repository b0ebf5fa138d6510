"""The spool side of a DUMP: spool files as archive files.

:class:`VolumeSource` is the :class:`~.protocols.ArchiveSource` of a spool
volume or a :class:`~spoolkit.spool.System` of volumes: each file is packed
into canonical pages (addresses 1..n on volume 0) in one C call, so the
archive of a file does not depend on where the volume stores it.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, Union, runtime_checkable

from ..spool import pages as P
from ..spool.file import SpoolFile
from ..spool.system import System
from ..spool.volume import open_volume
from .blocks import CatalogEntry
from .protocols import Identity, Selector
from .writer import ArchiveFile

PathLike = Union[str, "os.PathLike[str]"]

_HOLD_BITS = {"none": 0, "user": 0x80, "system": 0x40, "both": 0xC0}
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


@runtime_checkable
class SpoolFiles(Protocol):
    """What a DUMP reads from: a spool volume, a System, anything with ``files()``."""

    def files(self) -> Iterable[SpoolFile]: ...


def micros(created: _dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (the archive's clock)."""
    return (created - _EPOCH) // _dt.timedelta(microseconds=1)


def catalog_entry(sf: SpoolFile, pages: int, crc: int) -> CatalogEntry:
    """The catalog entry of a :class:`~spoolkit.spool.SpoolFile` whose data
    pages number ``pages`` with CRC-32C ``crc``."""
    return CatalogEntry(
        0, sf.spoolid or 0, sf.owner, sf.type, sf.class_, pages, sf.record_count,
        micros(sf.created), crc, hold=_HOLD_BITS.get(sf.hold, 0), copies=sf.copies,
        fname=sf.fname[:8], ftype=sf.ftype[:8], form=sf.form, dest=sf.dest, dist=sf.dist,
        node=sf.origin[1], record_length=sf.lrecl)


def archive_file(sf: SpoolFile) -> ArchiveFile:
    """An :class:`ArchiveFile` for a spool file: its records packed into
    canonical pages (addresses 1..n on volume 0) in one C call."""
    n = P.count_pages(sf)
    addrs = [P.page_address(0, i) for i in range(1, n + 1)]
    data, crc = P.pack_chain(sf, addrs)
    header = P.build_header_page(sf, addrs[0], addrs[-1], n, crc)
    return ArchiveFile(catalog_entry(sf, n, crc), header, lambda: iter((data,)))


def file_identity(sf: SpoolFile) -> Identity:
    """owner + spool ID + created (microseconds) + CRC-32C of the file's
    canonical data pages (what its archive entry records)."""
    return (sf.owner, sf.spoolid or 0, micros(sf.created), archive_file(sf).entry.crc)


class VolumeSource:
    """Files of a spool volume (or a System of volumes) for a DUMP."""

    def __init__(self, vol: SpoolFiles) -> None:
        self.vol = vol
        self.name: str = getattr(vol, "path", None) or str(vol)

    def archive_files(self, select: Selector = None) -> Iterator[ArchiveFile]:
        for sf in self.vol.files():
            if select is None or select(sf):
                yield archive_file(sf)

    def identities(self, select: Selector = None) -> set[Identity]:
        return {file_identity(sf) for sf in self.vol.files() if select is None or select(sf)}

    def close(self) -> None:
        close = getattr(self.vol, "close", None)
        if close:
            close()


def open_source(paths: Union[PathLike, Sequence[PathLike]]) -> VolumeSource:
    """A DUMP source for one volume image path or a list of them (a System)."""
    if isinstance(paths, (str, os.PathLike)):
        return VolumeSource(open_volume(os.fspath(paths)))
    return VolumeSource(System([open_volume(os.fspath(p)) for p in paths]))


def close_source(src: object) -> None:
    """Close a source that can be closed."""
    close = getattr(src, "close", None)
    if close:
        close()


__all__ = ["SpoolFiles", "VolumeSource", "archive_file", "catalog_entry", "file_identity",
           "open_source"]
