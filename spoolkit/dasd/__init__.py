"""Disk images: CKD (plain, split, compressed, shadows) and FBA.

:func:`open_dasd` picks the image kind from the file's header, never from
its name; :func:`create_dasd` makes new volumes the way ``dasdinit`` does.
"""

from __future__ import annotations

import os
from typing import Callable, Optional, Union

from ..errors import FormatError, InvalidArgumentError, TruncatedError
from ..geometry import parse_device
from .base import DasdImage, ScanStats
from .ckd import CKDImage, DevHeader, create_ckd, read_devheader
from .track import Record, Track

PathLike = Union[str, "os.PathLike[str]"]

#: device id (first 8 bytes) -> opener; other modules register their kinds
OPENERS: dict[str, Callable[[str, str], DasdImage]] = {
    "CKD_P370": CKDImage,
    "CKD_P064": CKDImage,
}


def open_dasd(path: PathLike, mode: str = "r") -> DasdImage:
    """Open a disk image for reading (``"r"``) or update (``"r+"``).

    The format comes from the 8-byte device id in the header.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        head = f.read(8)
    if len(head) < 8:
        raise TruncatedError(f"file of {len(head)} bytes is too short for a disk image",
                             path=path, offset=len(head))
    devid = head.decode("ascii", "replace")
    opener = OPENERS.get(devid)
    if opener is None:
        fallback = OPENERS.get("")
        if fallback is None:
            raise FormatError(f"unknown disk image format (device id {head!r})", path=path,
                              offset=0)
        opener = fallback  # plain FBA has no header at all
    return opener(path, mode)


def create_dasd(path: PathLike, device: str, volser: Optional[str] = "111111", *,
                cylinders: Optional[int] = None, lfs: bool = False, nullfmt: int = 1,
                raw: bool = False, **options: object) -> DasdImage:
    """Create a volume like ``dasdinit`` and return it opened ``"r+"``.

    ``device`` is a model ("3390-3") or a type ("3390").  Plain CKD volumes
    over 2 GB are split into several files like ``dasdinit`` (``lfs=True``
    for one large file).  ``raw=True`` writes no IPL/VOL1 records.
    """
    if options:
        creator = CREATORS.get("compressed")
        if creator is None:
            raise InvalidArgumentError(f"unsupported options: {', '.join(options)}")
        return creator(path, device, volser, cylinders=cylinders, nullfmt=nullfmt, raw=raw,
                       **options)
    dev, ncyl = parse_device(device)
    if cylinders is not None:
        ncyl = cylinders
    names = create_ckd(path, dev, ncyl, None if raw else volser, lfs=lfs, nullfmt=nullfmt)
    return CKDImage(names[0], "r+")


#: hooks for creators of other kinds (compressed, FBA)
CREATORS: dict[str, Callable[..., DasdImage]] = {}

__all__ = ["DasdImage", "CKDImage", "DevHeader", "Record", "ScanStats", "Track", "open_dasd",
           "create_dasd", "read_devheader", "OPENERS", "CREATORS"]
