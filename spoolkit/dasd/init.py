"""New volumes the way Hercules' ``dasdinit`` makes them, CKD or FBA.

:func:`init_volume` takes what ``dasdinit [-z|-bz2|-0] [-a] [-r] [-lfs]
[-linux] FILE TYPE[-MODEL] [VOLSER] [SIZE]`` takes: the device type decides
CKD or FBA, SIZE is cylinders for CKD and 512-byte blocks for FBA, ``-a``
adds the model's alternate cylinders when no size is given.  A file name
ending ``.cckd``/``.cfba`` (``.cckd64``/``.cfba64``) implies a compressed
(64-bit) image, as ``spool format`` decides from ``.cckd``.
"""

from __future__ import annotations

import os
from typing import Optional, Union

from ..errors import InvalidArgumentError, NotFoundError
from ..geometry import CKDDevice, FBADevice, lookup_ckd, lookup_fba
from .base import DasdImage
from .cckd import CCKDImage, create_cckd
from .ckd import CKDImage, check_cylinders, check_volser, create_ckd
from .fba import FBAImage, create_fba

PathLike = Union[str, "os.PathLike[str]"]

#: smallest FBA size dasdinit accepts (512-byte blocks)
MIN_FBA_BLOCKS = 64

#: file name endings that imply compression: suffix -> (kind, 64-bit)
COMPRESSED_SUFFIXES = {".cckd": ("ckd", False), ".cckd64": ("ckd", True),
                       ".cfba": ("fba", False), ".cfba64": ("fba", True)}


def implied_compression(path: PathLike) -> Optional[tuple[str, bool]]:
    """``("ckd"|"fba", cckd64)`` when the name ends with a compressed
    suffix (``.cckd``, ``.cckd64``, ``.cfba``, ``.cfba64``, any case), else None."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    return COMPRESSED_SUFFIXES.get(ext)


def lookup_device(name: str) -> Union[CKDDevice, FBADevice]:
    """The CKD or FBA row for a ``dasdinit`` device type (``3390-3``, ``3370``,
    ``9336-20``, ``0671``...), CKD first as ``dasdinit`` looks them up."""
    try:
        return lookup_ckd(name)
    except NotFoundError:
        pass
    try:
        return lookup_fba(name)
    except NotFoundError:
        raise NotFoundError(f"unknown device type {name!r} (CKD: 2305, 2311, 2314, 3330, "
                            "3340, 3350, 3375, 3380, 3390, 9345; FBA: 0671, 3310, 3370, "
                            "9313, 9332, 9335, 9336, each with an optional -MODEL)") from None


def init_volume(path: PathLike, device: str, volser: Optional[str] = "111111",
                size: Optional[int] = None, *, compress: Optional[str] = None,
                level: int = -1, cckd64: Optional[bool] = None, alt_cylinders: bool = False,
                raw: bool = False, lfs: bool = False, nullfmt: int = 1,
                overwrite: bool = False) -> Union[DasdImage, FBAImage]:
    """Create an empty CKD or FBA volume like ``dasdinit``; returns it opened ``"r+"``.

    ``size`` is cylinders (CKD, 1..65535) or 512-byte blocks (FBA, at least
    64); default the model's.  ``alt_cylinders`` (``-a``) adds the model's
    alternate cylinders when ``size`` is None.  ``compress`` is ``"zlib"``,
    ``"bzip2"``, ``"none"`` (a compressed-format image with uncompressed
    tracks, ``dasdinit -0``) or None: plain unless the name implies
    compression (:func:`implied_compression`, then zlib).  ``cckd64`` None
    follows the name (``.cckd64``/``.cfba64``).  ``raw`` writes no IPL/VOL1
    records; ``nullfmt=2`` is ``-linux`` (3390 only).
    """
    where = os.fspath(path)
    dev = lookup_device(device)
    implied = implied_compression(where)
    if cckd64 is None:
        cckd64 = bool(implied and implied[1])
    if compress is None and (implied or cckd64):
        compress = "zlib"
    label = None if raw else check_volser(volser or "")
    if nullfmt == 2 and isinstance(dev, FBADevice):
        raise InvalidArgumentError("null format 2 (Linux, dasdinit -linux) exists only for "
                                   "device type 3390, not FBA", path=where)
    if isinstance(dev, FBADevice):
        blocks = dev.blocks if size is None else size
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < MIN_FBA_BLOCKS:
            raise InvalidArgumentError(f"size {blocks}: an FBA volume has at least "
                                       f"{MIN_FBA_BLOCKS} blocks", path=where)
        return create_fba(where, dev.name, blocks=blocks, volser=label, compress=compress,
                          level=level, cckd64=cckd64, overwrite=overwrite)
    cyls = dev.cylinders if size is None else size
    if size is None and alt_cylinders:
        cyls += dev.alt_cylinders
    if isinstance(cyls, bool):
        raise InvalidArgumentError(f"size {cyls!r} is not a number of cylinders", path=where)
    check_cylinders(cyls, where)
    if compress is not None or cckd64:
        create_cckd(where, dev, cyls, label, compress=compress, level=level, cckd64=cckd64,
                    nullfmt=nullfmt, overwrite=overwrite)
        return CCKDImage(where, "r+")
    names = create_ckd(where, dev, cyls, label, lfs=lfs, nullfmt=nullfmt, overwrite=overwrite)
    return CKDImage(names[0], "r+")
