"""The typing names of the disk images: the :class:`DiskImage` and
:class:`TrackSource` protocols, the ``AnyImage`` union and the options of
:func:`spoolkit.create_dasd`.  Apart from the classes so that opening an image
(every disk verb's start) loads no typing; :mod:`spoolkit.dasd` and
:mod:`spoolkit.dasd.image` serve them on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Protocol, TypedDict, Union

from .base import DasdImage
from .track import Track

if TYPE_CHECKING:
    from ..jsonvalue import JSONDict
    from .fba import FBAImage


class DiskImage(Protocol):
    """An open disk image of any kind (CKD or FBA)."""

    path: str
    mode: str
    closed: bool

    @property
    def devtype(self) -> Optional[str]: ...

    @property
    def volser(self) -> Optional[str]: ...

    def info(self) -> JSONDict:
        """A summary, as ``spoolkit dasd info`` prints it."""
        ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def __enter__(self) -> DiskImage: ...

    def __exit__(self, *exc: object) -> None: ...


class TrackSource(Protocol):
    """What reading a CKD volume's tracks needs: a :class:`~spoolkit.dasd.DasdImage`,
    or a wrapper of one (the overlay guard)."""

    @property
    def path(self) -> str: ...

    @property
    def cylinders(self) -> int: ...

    def read_track(self, cyl: int, head: int) -> Track: ...


#: what :func:`spoolkit.open_dasd` returns: the image kinds spoolkit opens
AnyImage = Union[DasdImage, "FBAImage"]


class CompressOptions(TypedDict, total=False):
    """The compression options of :func:`create_dasd` (any of them makes a
    compressed volume unless ``compress=None`` and ``cckd64=False``)."""
    compress: Optional[str]     # "zlib" (the default), "bzip2", None
    level: Optional[int]
    cckd64: bool


if TYPE_CHECKING:
    def _both_kinds(ckd: DasdImage, fba: FBAImage) -> tuple[DiskImage, DiskImage, TrackSource]:
        return ckd, fba, ckd    # mypy checks that each kind is a DiskImage


__all__ = ["AnyImage", "CompressOptions", "DiskImage", "TrackSource"]
