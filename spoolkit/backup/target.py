"""The spool side of a LOAD: archived files restored onto a spool volume.

:class:`VolumeTarget` is the :class:`~.protocols.ArchiveTarget` of a spool
volume (or anything with ``add(spool_file)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, Union, runtime_checkable

from ..compress import Buffer
from ..errors import ChecksumError, FormatError
from ..lifetime import Finalizing
from ..spool import pages as P
from ..spool.file import SpoolFile
from ..spool.volume import open_volume
from .blocks import FileHeader


@runtime_checkable
class SpoolSink(Protocol):
    """What files are restored to: a spool volume, a System, anything with ``add()``."""

    def add(self, sf: SpoolFile, /) -> Union[int, SpoolFile, None]: ...


def spoolfile_from_archive(fh: FileHeader, pages: Iterable[Buffer], path: str = "") -> SpoolFile:
    """The :class:`~spoolkit.spool.SpoolFile` an archived file holds: the
    header page's attributes and the records unpacked (links, sequence, page
    CRCs and spool IDs checked in C)."""
    info = P.parse_header_page(fh.header_page, path=path)
    data = b"".join(bytes(p) for p in pages)
    if not data:
        raise FormatError(f"spool file {fh.owner} {fh.spoolid} has no data pages", path=path)
    un = P.unpack_chain(data, spoolid=info.spoolfile.spoolid, path=path)
    if un.data_crc != fh.crc:
        raise ChecksumError(f"spool file {fh.owner} {fh.spoolid}: CRC-32C of its pages is "
                            f"{un.data_crc:08X}, the archive says {fh.crc:08X}", path=path)
    meta = info.spoolfile
    return meta.with_attrs(records=un.records, lrecl=meta.lrecl)


def restore_file(vol: SpoolSink, fh: FileHeader, pages: Iterable[Buffer],
                 spoolid: str = "keep", path: str = "") -> int:
    """Add the archived file to the volume; returns its spool ID there."""
    sf = spoolfile_from_archive(fh, pages, path)
    if spoolid == "new":
        sf = sf.with_attrs(spoolid=None)
    added = vol.add(sf)
    sid = added.spoolid if isinstance(added, SpoolFile) else added
    return int(sid) if sid is not None else int(sf.spoolid or 0)


class VolumeTarget(Finalizing):
    """A spool volume that LOAD (or a DUMP to a volume) adds files to.

    ``owned``: the target opened the volume and closes it in :meth:`close`
    (also at garbage collection or exit, with a ResourceWarning, if nobody
    called it), so every file restored so far is on the volume."""

    closed = True

    def __init__(self, vol: SpoolSink, owned: bool = False) -> None:
        self.vol = vol
        self.name: str = getattr(vol, "path", None) or str(vol)
        self.owned = owned
        if owned:
            self.closed = False
            self._finalize_on_exit()

    def close(self) -> None:
        """Close the volume if the target opened it; idempotent."""
        if self.closed:
            return
        self.closed = True
        self._forget_on_exit()
        close = getattr(self.vol, "close", None)
        if close:
            close()

    def restore(self, fh: FileHeader, pages: Iterable[Buffer], spoolid: str = "keep") -> int:
        return restore_file(self.vol, fh, pages, spoolid)


def open_target_volume(path: str) -> VolumeTarget:
    """The spool volume image at ``path``, opened for update, as a target
    that closes it."""
    return VolumeTarget(open_volume(path, "r+"), owned=True)


__all__ = ["SpoolSink", "VolumeTarget", "open_target_volume", "restore_file",
           "spoolfile_from_archive"]
