"""What the overlay tools need of a volume image: a CKD volume (tracks) or an
FBA volume (blocks), as :func:`spoolkit.open_dasd` returns them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Protocol, Union, runtime_checkable

if TYPE_CHECKING:
    from ..dasd.base import TrackLike
    from ..dasd.track import Track


class _Image(Protocol):
    @property
    def path(self) -> str: ...

    @property
    def volser(self) -> Optional[str]: ...

    @property
    def devtype(self) -> Optional[str]: ...

    def close(self) -> None: ...


class TrackVolume(_Image, Protocol):
    """A CKD volume image (:class:`~spoolkit.dasd.DasdImage`)."""

    @property
    def cylinders(self) -> int: ...

    def read_track(self, cyl: int, head: int) -> Track: ...

    def write_track(self, cyl: int, head: int, track: TrackLike) -> None: ...


@runtime_checkable
class BlockVolume(_Image, Protocol):
    """An FBA volume image (:class:`~spoolkit.dasd.FBAImage`): told from a CKD
    one by ``isinstance(dev, BlockVolume)``."""

    @property
    def blocks(self) -> int: ...

    def write_blocks(self, start: int, data: Union[bytes, bytearray, memoryview]) -> None: ...


Volume = Union[TrackVolume, BlockVolume]
