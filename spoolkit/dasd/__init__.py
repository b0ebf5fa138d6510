"""Disk images: CKD (plain, split, compressed, shadows) and FBA.

:func:`open_dasd` picks the image kind from the file's header, never from
its name; :func:`create_dasd` makes new volumes the way ``dasdinit`` does.
"""

from __future__ import annotations

import os

from ..errors import FormatError, InvalidArgumentError, TruncatedError
from ..geometry import parse_device
from .base import DasdImage, ScanStats
from .ckd import CKDImage, DevHeader, check_cylinders, create_ckd, read_devheader
from .image import require_ckd
from .sniff import check_plain_fba, describe, read_head
from .split import locate
from .track import Record, Track

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import Callable, Optional, Union

    from typing_extensions import Unpack

    from .cckd import CCKDImage
    from .fba import FBAImage, create_fba
    from .protocols import AnyImage, CompressOptions, DiskImage

    PathLike = Union[str, "os.PathLike[str]"]

#: names loaded on first use (PEP 562): opening a plain CKD volume, the
#: common start of a command line, needs neither module, nor typing
_LAZY = {"CCKDImage": ".cckd", "FBAImage": ".fba", "create_fba": ".fba",
         "AnyImage": ".protocols", "CompressOptions": ".protocols", "DiskImage": ".protocols",
         "PathLike": ".split"}


def __getattr__(name: str) -> object:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(where, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

def _open_cckd(path: PathLike, mode: str = "r", **options: object) -> DasdImage:
    from .cckd import CCKDImage

    return CCKDImage(path, mode, **options)  # type: ignore[arg-type]


def _open_fba(path: PathLike, mode: str = "r", **options: object) -> FBAImage:
    from .fba import FBAImage

    return FBAImage(path, mode, **options)  # type: ignore[arg-type]


#: device id (first 8 bytes) -> opener; other modules register their kinds
OPENERS: dict[str, Callable[..., AnyImage]] = {
    "CKD_P370": CKDImage,
    "CKD_P064": CKDImage,
}
OPENERS.update({devid: _open_cckd for devid in ("CKD_C370", "CKD_C064", "CKD_S370",
                                                "CKD_S064")})
#: compressed FBA; "" is the fallback for anything else: plain FBA has no header
OPENERS.update({devid: _open_fba for devid in ("FBA_C370", "FBA_C064", "FBA_S370", "FBA_S064",
                                               "")})


def open_dasd(path: PathLike, mode: str = "r", **options: object) -> AnyImage:
    """Open a disk image for reading (``"r"``) or update (``"r+"``).

    The format comes from the 8-byte device id in the header: a CKD volume
    is a :class:`DasdImage`, an FBA one an :class:`FBAImage` (code that needs
    tracks narrows with :func:`require_ckd`).  Options go to
    the image class, e.g. ``sf="shadow_*.cckd"`` for compressed volumes with
    shadow files.  A split volume opens by its base name (``vol.3390`` for
    ``vol_1.3390``, ``vol_2.3390``, ...) or by the name of its file 1, as in
    Hercules' utilities (not with shadow files, as there).
    """
    path = os.fspath(path) if options.get("sf") else locate(path)
    head, size = read_head(path)
    if size == 0:
        raise FormatError("empty file (0 bytes), not a disk image", path=path, offset=0)
    if len(head) < 8:
        what = describe(head, size)
        raise TruncatedError(f"file of {len(head)} bytes is too short for a disk image"
                             + (f" (this looks like {what})" if what else ""),
                             path=path, offset=len(head))
    devid = head[:8].decode("ascii", "replace")
    opener = OPENERS.get(devid)
    if opener is None:
        fallback = OPENERS.get("")
        if fallback is None:
            raise FormatError(f"unknown disk image format (device id {head[:8]!r})", path=path,
                              offset=0)
        check_plain_fba(path, head, size)  # plain FBA has no header at all
        opener = fallback
    if options and opener is CKDImage:
        # as Hercules 4.x (HHC00469E): shadow files exist only for compressed images
        raise InvalidArgumentError(f"options {', '.join(sorted(options))} need a compressed "
                                   "image; this is plain CKD", path=path)
    return opener(path, mode, **options)


def create_dasd(path: PathLike, device: str, volser: Optional[str] = "111111", *,
                cylinders: Optional[int] = None, lfs: bool = False, nullfmt: int = 1,
                raw: bool = False, overwrite: bool = False,
                **options: Unpack[CompressOptions]) -> DasdImage:
    """Create a volume like ``dasdinit`` and return it opened ``"r+"``.

    ``device`` is a model ("3390-3") or a type ("3390").  Plain CKD volumes
    over 2 GB are split into several files like ``dasdinit`` (``lfs=True``
    for one large file).  ``raw=True`` writes no IPL/VOL1 records.
    An existing file (any piece of a split set) is refused unless
    ``overwrite=True``; the returned image holds an exclusive lock.

    ``compress="zlib"|"bzip2"`` (with ``level``) or ``cckd64=True`` makes a
    compressed volume (CCKD / CCKD64) like ``dasdinit -z``; ``compress=None``
    with ``cckd64=False`` a plain one.
    """
    dev, ncyl = parse_device(device)
    if cylinders is not None:
        ncyl = cylinders
    check_cylinders(ncyl, os.fspath(path))
    if options:
        unknown = set(options) - {"compress", "level", "cckd64"}
        if unknown:
            raise InvalidArgumentError(f"unsupported options: {', '.join(sorted(unknown))}")
        compress = options.get("compress", "zlib")
        cckd64 = bool(options.get("cckd64", False))
        if compress is not None or cckd64:
            from .cckd import CCKDImage, create_cckd

            level = options.get("level", -1)
            create_cckd(path, dev, ncyl, None if raw else volser, compress=compress,
                        level=-1 if level is None else int(level), cckd64=cckd64,
                        nullfmt=nullfmt, overwrite=overwrite)
            return CCKDImage(path, "r+")
    names = create_ckd(path, dev, ncyl, None if raw else volser, lfs=lfs, nullfmt=nullfmt,
                       overwrite=overwrite)
    return CKDImage(names[0], "r+")


__all__ = ["AnyImage", "DiskImage", "require_ckd", "DasdImage", "CKDImage", "CCKDImage",
           "FBAImage", "DevHeader", "Record",
           "ScanStats", "Track", "CompressOptions", "open_dasd", "create_dasd", "create_fba",
           "read_devheader", "OPENERS"]
