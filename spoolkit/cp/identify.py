"""What a file is, for the one-line refusal of a file that is not a CP volume.

A spool verb given a tape, an FBA disk, a CMS minidisk or a directory says
what it got instead of failing somewhere inside a reader that expected
something else.  Only the first bytes and, for a CKD image, track 0 are read.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from typing import Any, Optional

from ..dasd.base import DasdImage
from ..dasd.image import AnyImage
from ..errors import FormatError
from ..kinds import TAPES, device_id, tape_header

_E = "cp037"


class NotAVolumeError(FormatError):
    """The file is something else than a spoolkit CP volume (the message says what)."""


def cp_ckd(dev: AnyImage) -> DasdImage:
    """``dev`` if it is a CKD image; an FBA image is no CP volume (NotAVolumeError)."""
    if isinstance(dev, DasdImage):
        return dev
    raise NotAVolumeError("is an FBA disk image, not a CP volume (CP volumes are CKD)",
                          path=dev.path)


def not_a_file(path: str) -> Optional[str]:
    """Why ``path`` cannot be an image at all (a directory, a device, missing), or None."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None  # opening says "No such file or directory"
    except OSError as exc:
        return f"cannot be examined: {exc.strerror}"
    if stat.S_ISDIR(st.st_mode):
        return "is a directory, not a CP volume image"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file, not a CP volume image"
    if st.st_size == 0:
        return "is an empty file, not a CP volume image"
    return None


def describe_head(head: bytes) -> Optional[str]:
    """What a file that does not start with a CKD device header is, from its
    first bytes (None for a CKD image)."""
    ident = device_id(head)
    if ident is not None and ident.family == "ckd":
        return None
    if ident is not None:
        return "is a compressed FBA disk image, not a CP volume (CP volumes are CKD)"
    tape = tape_header(head)
    if tape:
        return f"is {TAPES[tape]}, not a CP volume"
    if len(head) >= 512 and head[:512] == bytes(512):
        return "starts with zeros: a plain FBA disk image or raw data, not a CP volume"
    return "is not a disk image spoolkit knows (no CKD device header), not a CP volume"


def describe_track0(records: Sequence[Any]) -> str:
    """What a CKD volume without an SPKALLOC map is, from its track 0 records
    (``.r``, ``.key``, ``.data``)."""
    for rec in records:
        data = bytes(rec.data[:10])
        if rec.r == 3 and data[:4] in ("CMS=".encode(_E), "CMS1".encode(_E)):
            label = data[4:10].decode(_E, "replace").rstrip()
            return f"is a CMS minidisk image (label {label}), not a spoolkit CP volume"
    for rec in records:
        if bytes(rec.key) == "VOL1".encode(_E) and len(rec.data) >= 51:
            volser = bytes(rec.data[4:10]).decode(_E, "replace").rstrip()
            if bytes(rec.data[46:51]) == "CP370".encode(_E):
                return (f"is a VM/370 CP volume {volser} (VOL1 owner CP370, VM/370's "
                        "allocation record), not a spoolkit spool volume ('spoolkit cp "
                        "info' shows its allocation)")
            if bytes(rec.data[46:51]) == "CPVOL".encode(_E):
                return (f"is a CP-formatted volume {volser} written by CP, not by spoolkit "
                        "(no SPKALLOC allocation map in track 0 R4)")
            return (f"is a CKD disk image (volume {volser}) without an SPKALLOC allocation "
                    "map: not a spoolkit CP volume ('spoolkit spool format' makes one)")
    return ("is a CKD disk image without a volume label or SPKALLOC allocation map: "
            "not a spoolkit CP volume")


__all__ = ["NotAVolumeError", "describe_head", "describe_track0", "not_a_file"]
