"""DDR restore: a DDR dump (one or more reels) onto a CKD volume.

Checks made before anything is written: the dump's geometry against the
volume (heads; the device type when the VHR names one), and every restored
track: read, its blocking checked, rebuilt, placed on a cylinder of the
volume and checked as TRACKWRITE checks it (structure, real capacity).  A
missing volume is created (the size the VHR gives, or ``cylinders``) in a
temporary file that appears under its name only when every track is
restored; an existing volume is verified in a first pass over the whole
dump and written in a second one.  ``cyl`` picks the tape cylinders to
restore, ``reorder`` moves them (DDR's ``RESTORE a TO b REORDER c``); a
reordered track of a 3330-class device gets R0 naming its new address, as
the target's own R0 does (DMKDDR leaves R0's count of such a device alone).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Callable, Optional, Union

from ..dasd import create_dasd, open_dasd, require_ckd
from ..dasd.base import DasdImage
from ..dasd.track import validate_image
from ..errors import InvalidArgumentError
from ..geometry import CKDDevice, lookup_ckd, parse_device
from ..jsonvalue import JSONValue
from ..output import atomic_output, check_destination
from .blocks import OVERFLOW, R0_RELOCATE
from .devices import WRITES_HA, identify, mismatch
from .reader import Dump, Summary
from .records import VolumeHeader

PathLike = Union[str, "os.PathLike[str]"]
ProgressFn = Optional[Callable[[int], None]]


class _Plan:
    """Which tape cylinders go where, and the reader's flags for a volume."""

    def __init__(self, dump: Dump, device: CKDDevice, cylinders: int,
                 cyl: Optional[tuple[int, int]], reorder: Optional[int]) -> None:
        hdr = dump.header
        self.first, self.last = cyl if cyl else (0, 0xFFFF)
        if self.first > self.last:
            raise InvalidArgumentError(f"cylinder range {self.first}-{self.last} is empty")
        base = self.first if cyl else 0
        self.delta = 0 if reorder is None else reorder - base
        self.cylinders = cylinders
        self.device = device
        self.flags = OVERFLOW if cylinders < 32768 else 0
        if self.delta and device.devt not in WRITES_HA:
            self.flags |= R0_RELOCATE
        self.hdr = hdr
        self.reorder_from_first = reorder is not None and cyl is None

    def fit(self, first_on_tape: int) -> None:
        """Without --cyl, --reorder moves the dump's first cylinder."""
        if self.reorder_from_first:
            self.delta -= first_on_tape
            self.reorder_from_first = False
            if self.delta and self.device.devt not in WRITES_HA:
                self.flags |= R0_RELOCATE


def _tracks(dump: Dump, plan: _Plan, summary: Summary, target: str,
            write: Optional[DasdImage], progress: ProgressFn) -> int:
    """Read the dump once: check every selected track and write it to
    ``write`` (None: check only).  Returns the tracks restored."""
    n = 0
    dev = plan.device
    for t, image, reel in dump.tracks(images=True, flags=plan.flags, delta=plan.delta,
                                      first=plan.first, last=plan.last, summary=summary):
        if image is None:
            continue
        cyl = t.cyl + plan.delta
        if not 0 <= cyl < plan.cylinders:
            raise InvalidArgumentError(
                f"track {t.cyl}/{t.head} goes to cylinder {cyl}; the volume {target} has "
                f"{plan.cylinders} cylinders", path=reel, block=t.block, track=(t.cyl, t.head))
        if write is None:
            validate_image(dev, plan.cylinders, dev.track_size, cyl, t.head, image,
                           path=reel, block=t.block, track=(t.cyl, t.head))
        else:
            write.write_track(cyl, t.head, image)
            if progress and t.head == plan.hdr.last_head:
                progress(1)
        n += 1
    if n == 0:
        raise InvalidArgumentError(f"the dump holds no track of cylinders {plan.first}-"
                                   f"{plan.last}", path=dump.paths[0])
    return n


def _result(dump: Dump, s: Summary, plan: _Plan, target: str, n: int,
            device: CKDDevice) -> dict[str, JSONValue]:
    hdr = dump.header
    return {"format": "ddr", "target": target, "model": device.name,
            "devtype": device.devtype, "volser": hdr.volser or None,
            "first_cyl": max(plan.first, s.extents[0].first_cyl) if s.extents else 0,
            "last_cyl": min(plan.last, s.extents[-1].last_cyl) if s.extents else 0,
            "reorder": plan.delta, "tracks": n,
            "extents": [e.to_dict() for e in s.extents], "reels": s.reels,
            "clock": f"{hdr.clock:016X}"}


def restore(tapes: Union[PathLike, Sequence[PathLike]], volume: PathLike, *,
            cyl: Optional[tuple[int, int]] = None, reorder: Optional[int] = None,
            device: Optional[str] = None, cylinders: Optional[int] = None,
            progress: ProgressFn = None, wait: Optional[float] = -1.0
            ) -> dict[str, JSONValue]:
    """``spoolkit dasd restore`` of a DDR tape: the dump on ``tapes`` (the
    first reel, or the reels in order) onto ``volume`` (created when
    missing: ``device`` names the model when the VHR cannot tell)."""
    paths = [os.fspath(tapes)] if isinstance(tapes, (str, os.PathLike)) else \
        [os.fspath(p) for p in tapes]
    target = os.fspath(volume)
    with Dump(paths, wait=wait, hold=True) as dump:
        return _restore(dump, paths, target, cyl=cyl, reorder=reorder, device=device,
                        cylinders=cylinders, progress=progress)


def _restore(dump: Dump, paths: list[str], target: str, *, cyl: Optional[tuple[int, int]],
             reorder: Optional[int], device: Optional[str], cylinders: Optional[int],
             progress: ProgressFn) -> dict[str, JSONValue]:
    hdr = dump.header
    if os.path.exists(target):
        with open_dasd(target, "r+") as opened:
            dev = require_ckd(opened, "restoring a DDR dump")
            why = mismatch(hdr, dev.device)
            if why:
                raise InvalidArgumentError(f"cannot restore onto {target}: {why}",
                                           path=target)
            plan = _Plan(dump, dev.device, dev.cylinders, cyl, reorder)
            if plan.reorder_from_first:
                plan.fit(dump.summary().extents[0].first_cyl)
            s = Summary(hdr)
            _tracks(dump, plan, s, target, None, None)
            s2 = Summary(hdr)
            n = _tracks(dump, plan, s2, target, dev, progress)
            dev.flush()
            return {**_result(dump, s2, plan, target, n, dev.device), "tape": paths[0]}
    model = _new_model(hdr, device, target)
    ncyl = cylinders if cylinders is not None else hdr.cylinders
    check_destination(target)
    plan = _Plan(dump, model, ncyl, cyl, reorder)
    if plan.reorder_from_first:
        plan.fit(dump.summary().extents[0].first_cyl)
    s = Summary(hdr)
    with atomic_output(target) as tmp:
        dev = create_dasd(tmp, model.name, None, cylinders=ncyl, lfs=True, raw=True,
                          overwrite=True)
        with dev:
            n = _tracks(dump, plan, s, target, dev, progress)
    return {**_result(dump, s, plan, target, n, model), "tape": paths[0]}


def _new_model(hdr: VolumeHeader, device: Optional[str], target: str) -> CKDDevice:
    if device:
        dev, _ = parse_device(device)
        why = mismatch(hdr, dev)
        if why:
            raise InvalidArgumentError(f"cannot restore onto a {dev.name}: {why}", path=target)
        return dev
    dev2 = identify(hdr)
    if dev2 is None:
        raise InvalidArgumentError(
            f"the dump's header (last head {hdr.last_head}, {hdr.max_records} records per "
            f"track) names no device type spoolkit knows; give the device type "
            f"(--device) or restore onto an existing volume", path=target)
    return lookup_ckd(dev2.name)


__all__ = ["restore"]
