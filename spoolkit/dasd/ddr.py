"""DDR-like volume dump and restore: whole track images between a disk image
and a tape image (spoolkit v1 layout, ``docs/formats.md`` "Archives")::

    SPKD header block (device type, model, geometry, volser, cylinder range)
    SPKT block per track (cylinder, head, the Hercules track image HA..EOT)
    SPKE trailer block (tracks, bytes) · tapemark

so "spool backup to a disk volume, then DDR that volume to tape" works end to
end, and the tape restores onto a new or an existing volume of the same type.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Union

from ..compress import Buffer
from ..crc import check_block, seal
from ..errors import FormatError, InvalidArgumentError, NotFoundError, TruncatedError, Where
from ..geometry import CKDDevice, lookup_ckd
from ..jsonvalue import JSONDict
from ..output import check_destination
from ..tape import open_tape
from ..tape.medium import TAPEMARK, TapeMedium, read_next
from ..util import atomic_output
from . import create_dasd, open_dasd
from .base import DasdImage
from .split import locate
from .track import validate_image

if TYPE_CHECKING:
    from typing_extensions import Unpack

VERSION = 1
MAGIC_HEAD = "SPKD".encode("cp037")
MAGIC_TRACK = "SPKT".encode("cp037")
MAGIC_END = "SPKE".encode("cp037")
_MAGICS = {MAGIC_HEAD: "SPKD", MAGIC_TRACK: "SPKT", MAGIC_END: "SPKE"}

_HEAD = struct.Struct(">4sBBHHHIIIIIQ8s16s")   # 64 bytes + CRC
_TRACK = struct.Struct(">4sBBHIII")            # 20 bytes + image + CRC
_END = struct.Struct(">4sBBHIQ")               # 20 bytes + CRC

PathLike = Union[str, "os.PathLike[str]"]
ProgressFn = Optional[Callable[[int], None]]


@dataclass
class VolumeHeader:
    """What the SPKD block says about the dumped volume."""

    devtype: str          # "3390"
    devt: int             # 0x3390
    model: str            # "3390-3"
    cylinders: int
    heads: int
    track_size: int
    first_cyl: int
    last_cyl: int
    volser: Optional[str]
    created: int = 0      # microseconds since the epoch

    @property
    def tracks(self) -> int:
        """Track blocks the dump holds."""
        return (self.last_cyl - self.first_cyl + 1) * self.heads

    @property
    def whole_volume(self) -> bool:
        return self.first_cyl == 0 and self.last_cyl == self.cylinders - 1

    @property
    def device(self) -> CKDDevice:
        """The device row named by :attr:`model` (checked by :meth:`decode`)."""
        return lookup_ckd(self.model)

    def encode(self) -> bytearray:
        vol = (self.volser or "").ljust(6)[:6].encode("cp037") + bytes(2)
        return seal(bytearray(_HEAD.pack(
            MAGIC_HEAD, VERSION, 0 if self.volser else 1, 0, self.devt, 0, self.cylinders,
            self.heads, self.track_size, self.first_cyl, self.last_cyl, self.created, vol,
            self.model.ljust(16)[:16].encode("cp037"))))

    @classmethod
    def decode(cls, raw: Buffer, **where: Unpack[Where]) -> VolumeHeader:
        """Decode and check an SPKD block: its geometry must be a real device's."""
        mv = check_block(raw, "SPKD", minimum=_HEAD.size + 4, where=where, magics=_MAGICS)
        if len(mv) != _HEAD.size + 4:
            raise FormatError(f"SPKD block of {len(mv)} bytes, expected {_HEAD.size + 4}",
                              **where)
        (_, _, flags, _, devt, _, cyls, heads, tsize, first, last, created, vol,
         model) = _HEAD.unpack_from(mv)
        name = model.decode("cp037").rstrip()
        _check_geometry(name, devt, cyls, heads, tsize, where)
        if not first <= last < cyls:
            raise FormatError(f"SPKD header with cylinders {first}-{last} of {cyls}", **where)
        volser = None if flags & 1 else vol[:6].decode("cp037").rstrip()
        return cls("%04X" % devt, devt, name, cyls, heads, tsize, first, last, volser, created)

    def to_dict(self) -> JSONDict:
        return {"devtype": self.devtype, "devt": self.devt, "model": self.model,
                "cylinders": self.cylinders, "heads": self.heads,
                "track_size": self.track_size, "first_cyl": self.first_cyl,
                "last_cyl": self.last_cyl, "volser": self.volser, "created": self.created}


def _check_geometry(model: str, devt: int, cyls: int, heads: int, tsize: int,
                    where: Where) -> None:
    """The header's device model must exist, be of its device type, and hold
    its cylinders, heads and track size."""
    try:
        dev = lookup_ckd(model) if model else None
    except NotFoundError:
        dev = None
    if dev is None or dev.devt != devt:
        raise FormatError(f"SPKD header names device {model!r} of type {devt:04X}, not a "
                          "known CKD model of that type", **where)
    if not 1 <= cyls <= dev.cylinders + dev.alt_cylinders:
        raise FormatError(f"SPKD header claims {cyls} cylinders; a {model} has 1 to "
                          f"{dev.cylinders + dev.alt_cylinders}", **where)
    if (heads, tsize) != (dev.heads, dev.track_size):
        raise FormatError(f"SPKD header gives {heads} heads and {tsize}-byte tracks; a "
                          f"{model} has {dev.heads} and {dev.track_size}", **where)


def _encode_track(cyl: int, head: int, image: Buffer) -> bytearray:
    buf = bytearray(_TRACK.pack(MAGIC_TRACK, VERSION, 0, 0, cyl, head, len(image)))
    buf += image
    return seal(buf)


def dump_volume(dev: DasdImage, tape: TapeMedium, first_cyl: int = 0,
                last_cyl: Optional[int] = None, progress: ProgressFn = None) -> JSONDict:
    """Write cylinders ``first_cyl..last_cyl`` of ``dev`` to the open ``tape``
    as one tape file (header, a block per track, trailer, tapemark)."""
    last = dev.cylinders - 1 if last_cyl is None else last_cyl
    if not 0 <= first_cyl <= last < dev.cylinders:
        raise InvalidArgumentError(f"cylinder range {first_cyl}-{last} is outside the volume "
                                   f"({dev.cylinders} cylinders)", path=dev.path)
    hdr = VolumeHeader(dev.devtype, dev.device.devt, dev.model, dev.cylinders, dev.heads,
                       dev.track_size, first_cyl, last, dev.volser, int(time.time() * 1e6))
    tape.write_block(hdr.encode())
    tracks = nbytes = 0
    for trk in dev.tracks(first_cyl, last):
        image = trk.image
        tape.write_block(_encode_track(trk.cyl, trk.head, image))
        tracks += 1
        nbytes += len(image)
        if progress and trk.head == dev.heads - 1:
            progress(1)
    tape.write_block(seal(bytearray(_END.pack(MAGIC_END, VERSION, 0, 0, tracks, nbytes))))
    tape.tapemark()
    return {**hdr.to_dict(), "tracks": tracks, "bytes": nbytes}


def _where(tape: TapeMedium, path: str, blockno: int) -> Where:
    # block: index in the dump (0 = SPKD); offset: where the block starts in a
    # tape image file (tell() of a file tape is a byte offset)
    where: Where = {"path": path, "block": blockno}
    if getattr(tape, "path", None):
        where["offset"] = tape.tell()
    return where


def read_header(tape: TapeMedium, path: str = "") -> VolumeHeader:
    """Read and check the SPKD block at the tape's current position."""
    where = _where(tape, path, 0)
    block = read_next(tape)
    if block is None or block is TAPEMARK:
        raise TruncatedError("no volume dump here (tapemark or end of tape)", **where)
    return VolumeHeader.decode(block, **where)


def iter_tracks(tape: TapeMedium, hdr: VolumeHeader, path: str = ""
                ) -> Iterable[tuple[int, int, memoryview]]:
    """Yield (cyl, head, image) for every track block up to the trailer, and
    check the trailer's counts.  Every block is checked (CRC, its track in
    sequence, its length) before it is yielded; no track beyond the header's
    range is ever yielded."""
    want = hdr.tracks
    n = nbytes = 0
    blockno = 1
    while True:
        where = _where(tape, path, blockno)
        block = read_next(tape)
        if block is None or block is TAPEMARK:
            raise TruncatedError(f"volume dump ends after {n} of {want} tracks", **where)
        if bytes(block[:4]) == MAGIC_END:
            mv = check_block(block, "SPKE", minimum=_END.size + 4, where=where, magics=_MAGICS)
            if len(mv) != _END.size + 4:
                raise FormatError(f"SPKE block of {len(mv)} bytes, expected {_END.size + 4}",
                                  **where)
            _, _, _, _, tracks, total = _END.unpack_from(mv)
            if (tracks, total) != (n, nbytes) or n != want:
                raise FormatError(f"trailer says {tracks} tracks / {total} bytes, read {n} / "
                                  f"{nbytes} (expected {want} tracks)", **where)
            return
        if n == want:
            raise FormatError(f"block after the {want} tracks of cylinders "
                              f"{hdr.first_cyl}-{hdr.last_cyl}; expected the SPKE trailer",
                              **where)
        expect = divmod(hdr.first_cyl * hdr.heads + n, hdr.heads)
        where["track"] = expect
        mv = check_block(block, "SPKT", minimum=_TRACK.size + 4, where=where, magics=_MAGICS)
        _, _, _, _, cyl, head, length = _TRACK.unpack_from(mv)
        if (cyl, head) != expect:
            raise FormatError(f"track block for {cyl}/{head} where {expect[0]}/{expect[1]} "
                              "was expected", **where)
        if length != len(mv) - _TRACK.size - 4 or length > hdr.track_size:
            raise FormatError(f"track block says {length} image bytes, it holds "
                              f"{len(mv) - _TRACK.size - 4} (slots are {hdr.track_size})",
                              **where)
        yield cyl, head, mv[_TRACK.size:_TRACK.size + length]
        n += 1
        nbytes += length
        blockno += 1


def verify_dump(tape: TapeMedium, hdr: VolumeHeader, path: str = "") -> int:
    """Read the track blocks after ``hdr`` to the trailer and check each one as
    TRACKWRITE would on the dumped device; returns the tracks read.  Nothing
    is kept: memory stays one block."""
    dev = hdr.device
    n = 0
    for cyl, head, image in iter_tracks(tape, hdr, path):
        validate_image(dev, hdr.cylinders, hdr.track_size, cyl, head, image, path=path,
                       block=n + 1)
        n += 1
    return n


def restore_volume(tape: TapeMedium, target: PathLike, *, path: str = "",
                   progress: ProgressFn = None, create: Optional[bool] = None) -> JSONDict:
    """Restore the volume dump at the tape's position onto ``target``.

    The whole dump is read and checked first (header geometry against the
    device table, every block's CRC and track, every track's structure and
    real capacity, the trailer's counts); only then is anything written, so
    a damaged or hostile dump leaves the target as it was.  A missing target
    is created from a whole-volume dump (same device type and size); a dump
    of some cylinders goes only onto an existing volume.  An existing target
    must have the same device type and room for the dumped cylinders.  The
    tape must be positionable (``tell``/``seek``)."""
    target = os.fspath(target)
    hdr = read_header(tape, path)
    start = tape.tell()
    if create is None:
        create = not os.path.exists(locate(target))   # a split set by its base name
    if not create:
        with open_dasd(target, "r+") as dev:
            _check_target(dev, hdr)
            verify_dump(tape, hdr, path)
            tape.seek(start)
            return _restore_onto(dev, tape, hdr, path, progress)
    if not hdr.whole_volume:
        raise InvalidArgumentError(
            f"the dump holds cylinders {hdr.first_cyl}-{hdr.last_cyl} of a {hdr.cylinders}-"
            f"cylinder {hdr.model}; restore it onto an existing volume (create one with "
            f"'spoolkit dasd init {target} {hdr.model} --cylinders {hdr.cylinders}')",
            path=target)
    verify_dump(tape, hdr, path)
    tape.seek(start)
    # a new volume appears only when the whole dump was restored onto it
    with atomic_output(target) as tmp:
        dev = create_dasd(tmp, hdr.model, None, cylinders=hdr.cylinders, lfs=True, raw=True,
                          overwrite=True)
        with dev:
            info = _restore_onto(dev, tape, hdr, path, progress)
    return {**info, "target": target}


def _check_target(dev: DasdImage, hdr: VolumeHeader) -> None:
    if (dev.devtype, dev.heads, dev.track_size) != (hdr.devtype, hdr.heads, hdr.track_size):
        raise InvalidArgumentError(
            f"dump of a {hdr.devtype} ({hdr.heads} heads) cannot be restored onto a "
            f"{dev.devtype} ({dev.heads} heads)", path=dev.path)
    if hdr.last_cyl >= dev.cylinders:
        raise InvalidArgumentError(
            f"dump reaches cylinder {hdr.last_cyl}, the volume has {dev.cylinders}",
            path=dev.path)


def _restore_onto(dev: DasdImage, tape: TapeMedium, hdr: VolumeHeader, path: str,
                  progress: ProgressFn) -> JSONDict:
    _check_target(dev, hdr)
    tracks = nbytes = 0
    for cyl, head, image in iter_tracks(tape, hdr, path):
        dev.write_track(cyl, head, image)
        tracks += 1
        nbytes += len(image)
        if progress and head == hdr.heads - 1:
            progress(1)
    dev.flush()
    return {**hdr.to_dict(), "target": dev.path, "tracks": tracks, "bytes": nbytes}


def dump(volume: PathLike, tape_path: PathLike, cylinders: Optional[tuple[int, int]] = None,
         *, format: Optional[str] = None, compress: Optional[str] = None,
         overwrite: bool = False, progress: ProgressFn = None) -> JSONDict:
    """``spoolkit dasd dump``: the volume (or a cylinder range) to a new tape
    image, written to a temp file and renamed into place; an existing tape
    is refused unless ``overwrite``."""
    lo, hi = cylinders if cylinders else (0, None)
    check_destination(tape_path, overwrite=overwrite)
    with open_dasd(volume) as dev, open_tape(tape_path, "w", format=format, compress=compress,
                                             overwrite=overwrite) as tape:
        info = dump_volume(dev, tape, lo, hi, progress)
        tape.tapemark()
    return {**info, "volume": os.fspath(volume), "tape": os.fspath(tape_path)}


def restore(tape_path: PathLike, volume: PathLike, *, progress: ProgressFn = None
            ) -> JSONDict:
    """``spoolkit dasd restore``: the first volume dump on the tape onto ``volume``."""
    with open_tape(tape_path) as tape:
        return {**restore_volume(tape, volume, path=os.fspath(tape_path), progress=progress),
                "tape": os.fspath(tape_path)}


__all__ = ["VolumeHeader", "dump_volume", "restore_volume", "read_header", "iter_tracks",
           "verify_dump", "dump", "restore"]
