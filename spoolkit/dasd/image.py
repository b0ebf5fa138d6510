"""What every disk image offers, whatever its kind, and telling the kinds apart.

:func:`spoolkit.open_dasd` returns a :class:`~spoolkit.dasd.DasdImage` (CKD:
tracks) or an :class:`~spoolkit.dasd.FBAImage` (FBA: 512-byte blocks), as the
file's header says.  Both are :class:`DiskImage`\\ s; code that needs tracks
asks for them with :func:`require_ckd`, which names the file and the verb
when it got an FBA image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Protocol, Union

from ..errors import FormatError
from ..jsonvalue import JSONDict
from .base import DasdImage
from .track import Track

if TYPE_CHECKING:
    from .fba import FBAImage  # loaded on use (spoolkit.dasd), not to start a CKD verb


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


def require_ckd(image: AnyImage, what: str) -> DasdImage:
    """``image`` itself if it is a CKD volume; else a
    :class:`~spoolkit.errors.FormatError` saying that ``what`` (e.g.
    ``"a DDR dump"``) needs a CKD volume and this is an FBA image."""
    if isinstance(image, DasdImage):
        return image
    raise FormatError(f"this is an FBA image ({image.kind}, {image.blocks} blocks); "
                           f"{what} needs a CKD volume", path=image.path)


if TYPE_CHECKING:
    def _both_kinds(ckd: DasdImage, fba: FBAImage) -> tuple[DiskImage, DiskImage, TrackSource]:
        return ckd, fba, ckd    # mypy checks that each kind is a DiskImage


__all__ = ["AnyImage", "DiskImage", "TrackSource", "require_ckd"]
