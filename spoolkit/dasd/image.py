"""What every disk image offers, whatever its kind, and telling the kinds apart.

:func:`spoolkit.open_dasd` returns a :class:`~spoolkit.dasd.DasdImage` (CKD:
tracks) or an :class:`~spoolkit.dasd.FBAImage` (FBA: 512-byte blocks), as the
file's header says.  Both are :class:`DiskImage`\\ s; code that needs tracks
asks for them with :func:`require_ckd`, which names the file and the verb
when it got an FBA image.
"""

from __future__ import annotations

from ..errors import FormatError
from ..lazy import attributes
from .base import DasdImage

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from .protocols import AnyImage as AnyImage
    from .protocols import DiskImage as DiskImage
    from .protocols import TrackSource as TrackSource
else:
    _PROTOCOLS = ("AnyImage", "DiskImage", "TrackSource")

    def _protocol_names() -> dict[str, object]:
        from . import protocols

        return {name: getattr(protocols, name) for name in _PROTOCOLS}

    __getattr__ = attributes(__name__, _PROTOCOLS, _protocol_names, globals())


def require_ckd(image: AnyImage, what: str) -> DasdImage:
    """``image`` itself if it is a CKD volume; else a
    :class:`~spoolkit.errors.FormatError` saying that ``what`` (e.g.
    ``"a DDR dump"``) needs a CKD volume and this is an FBA image."""
    if isinstance(image, DasdImage):
        return image
    raise FormatError(f"this is an FBA image ({image.kind}, {image.blocks} blocks); "
                           f"{what} needs a CKD volume", path=image.path)


__all__ = ["AnyImage", "DiskImage", "TrackSource", "require_ckd"]
