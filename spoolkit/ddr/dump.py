"""DDR dump: cylinders of a CKD volume to DDR tape images (AWS, HET, FakeTape).

As DMKDDR writes it (docs/formats.md "DDR tapes"): a VHR, per track its THR
blocks, an EOJ trailer and a tapemark.  With a reel size, a reel that has
no room for the next track ends with an EOV naming that track and a
tapemark, and the dump goes on on the next reel (named by
:func:`~spoolkit.ddr.reader.reel_name`) with a VHR of the same TOD clock.
The reels are written to temporary files and all appear when the dump is
complete (none on failure); an existing reel is refused unless
``overwrite``.  Tracks are framed in C a batch at a time; a compressed
(HET) dump frames its batches on all cores.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Optional, Union

from ..dasd import open_dasd, require_ckd
from ..dasd.base import DasdImage
from ..errors import InvalidArgumentError
from ..jsonvalue import JSONValue
from ..output import check_destination
from ..tape import TapeImage, open_tape
from ..util import default_workers
from .blocks import KEEP_HA, OVERFLOW, Framer
from .devices import WRITES_HA, max_records
from .reader import reel_name
from .records import LENGTH, VolumeHeader, tod_from_unix

PathLike = Union[str, "os.PathLike[str]"]
ProgressFn = Optional[Callable[[int], None]]
Extent = tuple[int, int]
BATCH_BYTES = 2 << 20            # track images per framing call
BATCH_TRACKS = 512               # and at most this many: the output bound is per track
_Framed = tuple[bytearray, list[int], list[int], list[int], list[int]]


def volser_of(dev: DasdImage) -> str:
    """VHRVSER as DMKDDR takes it: bytes 4-9 of the data of record 3 on
    cylinder 0 head 0 (the VOL1 label's volser, a CMS disk's label)."""
    for rec in dev.read_track(0, 0).records:
        if rec.r == 3 and rec.dl >= 10:
            return bytes(rec.data[4:10]).decode("cp037").rstrip()
    return ""


def check_extents(extents: Sequence[Extent], cylinders: int, path: str) -> list[Extent]:
    """Ascending, non-overlapping cylinder ranges inside the volume."""
    out: list[Extent] = []
    for a, b in extents:
        if not 0 <= a <= b < cylinders:
            raise InvalidArgumentError(f"cylinder range {a}-{b} is outside the volume "
                                       f"({cylinders} cylinders)", path=path)
        if out and a <= out[-1][1]:
            raise InvalidArgumentError(f"cylinder ranges must ascend without overlapping: "
                                       f"{a}-{b} after {out[-1][0]}-{out[-1][1]}", path=path)
        out.append((a, b))
    return out


class Reels:
    """The reels of one dump being written."""

    def __init__(self, first: str, header: VolumeHeader, *, format: Optional[str],
                 compress: Optional[str], level: int, overwrite: bool,
                 reel_size: Optional[int], wait: Optional[float]) -> None:
        self.first = os.fspath(first)
        self.header = header
        self.format = format
        self.compress = compress
        self.level = level
        self.overwrite = overwrite
        self.wait = wait
        self.reel_size = reel_size
        self.open: list[TapeImage] = []
        self.paths: list[str] = []
        self.tape: Optional[TapeImage] = None
        self.tracks = 0                  # tracks on the current reel

    def new_reel(self, cyl: int, head: int) -> TapeImage:
        path = reel_name(self.first, len(self.paths) + 1)
        tape = open_tape(path, "w", format=self.format, compress=self.compress,
                         level=self.level, overwrite=self.overwrite, wait=self.wait)
        self.open.append(tape)
        self.paths.append(path)
        tape.write_block(self.header.with_kind("VHR", cyl, head).encode())
        self.tape = tape
        self.tracks = 0
        return tape

    def room(self) -> Optional[int]:
        """Bytes the current reel takes before it must end (None: no limit),
        keeping room for an EOV, its tapemark and the closing tapemark."""
        if self.reel_size is None or self.tape is None:
            return None
        return self.reel_size - self.tape.tell() - (LENGTH + 3 * 12)

    def end_reel(self, kind: str, cyl: int, head: int) -> None:
        tape = self.tape
        assert tape is not None
        tape.write_block(self.header.with_kind(kind, cyl, head).encode())
        tape.tapemark()

    def close(self) -> None:
        for tape in self.open:
            tape.close()

    def abort(self) -> None:
        for tape in self.open:
            tape.abort()


def _batches(dev: DasdImage, extents: Sequence[Extent], reorder: Sequence[int]
             ) -> Iterator[tuple[bytearray, list[int], list[int]]]:
    """Track images of the extents in batches: (images, ends, addresses)."""
    images = bytearray()
    ends: list[int] = []
    addrs: list[int] = []
    for (a, b), to in zip(extents, reorder):
        for trk in dev.tracks(a, b):
            images += trk.image
            ends.append(len(images))
            addrs.append((trk.cyl - a + to) << 16 | trk.head)
            if len(images) >= BATCH_BYTES or len(ends) >= BATCH_TRACKS:
                yield images, ends, addrs
                images, ends, addrs = bytearray(), [], []
    if ends:
        yield images, ends, addrs


def dump_volume(dev: DasdImage, reels: Reels, extents: Sequence[Extent],
                reorder: Optional[Sequence[int]] = None, *, workers: Optional[int] = None,
                progress: ProgressFn = None) -> dict[str, JSONValue]:
    """Write the tracks of ``extents`` (cylinder ranges, ascending) of
    ``dev`` as one DDR dump on ``reels``; ``reorder`` gives each extent's
    first cylinder on tape (default: where it is)."""
    to = list(reorder) if reorder is not None else [a for a, _ in extents]
    if len(to) != len(extents):
        raise InvalidArgumentError("one reorder cylinder per extent")
    out_ranges = [(t, t + b - a) for (a, b), t in zip(extents, to)]
    for i in range(1, len(out_ranges)):
        if out_ranges[i][0] <= out_ranges[i - 1][1]:
            raise InvalidArgumentError("extents must ascend by their cylinders on tape")
    flags = (OVERFLOW if dev.cylinders < 32768 else 0) | \
        (KEEP_HA if dev.device.devt in WRITES_HA else 0)
    tape = reels.new_reel(to[0], 0)
    framer = Framer(tape.block_framing(), flags)
    compressing = framer.framing[1] != 0
    tracks = blocks = nbytes = 0
    last_addr = (to[0], 0)

    def frame(batch: tuple[bytearray, list[int], list[int]]) -> _Framed:
        images, ends, addrs = batch
        return (*framer.frame(images, ends, addrs), addrs)

    def put(framed: _Framed) -> None:
        nonlocal tracks, blocks, last_addr
        out, tend, tlast, tblocks, addrs = framed
        mv = memoryview(out)
        done = 0                         # tracks of this batch written
        while done < len(addrs):
            start = tend[done - 1] if done else 0
            sblocks = tblocks[done - 1] if done else 0
            room = reels.room()
            k = len(addrs)
            if room is not None:
                k = done
                while k < len(addrs) and tend[k] - start <= room:
                    k += 1
                if k == done:
                    cyl, head = divmod(addrs[done], 0x10000)
                    if reels.tracks == 0:
                        raise InvalidArgumentError(
                            f"reel size {reels.reel_size} has no room for track {cyl}/{head}"
                            f" ({tend[done] - start} bytes)", path=reels.first)
                    reels.end_reel("EOV", cyl, head)
                    reels.new_reel(cyl, head)
                    continue
            assert reels.tape is not None
            reels.tape.write_framed(mv[start:tend[k - 1]], tblocks[k - 1] - sblocks,
                                    tlast[k - 1])
            reels.tracks += k - done
            blocks += tblocks[k - 1] - sblocks
            tracks += k - done
            last_addr = divmod(addrs[k - 1], 0x10000)
            if progress:
                heads = dev.heads
                progress(sum(1 for a in addrs[done:k] if a & 0xFFFF == heads - 1))
            done = k

    if compressing:
        nworkers = workers or default_workers()
        pending: deque[Future[_Framed]] = deque()
        with ThreadPoolExecutor(max_workers=nworkers) as pool:
            for batch in _batches(dev, extents, to):
                nbytes += len(batch[0])
                pending.append(pool.submit(frame, batch))
                if len(pending) >= 2 * nworkers:
                    put(pending.popleft().result())
            while pending:
                put(pending.popleft().result())
    else:
        for batch in _batches(dev, extents, to):
            nbytes += len(batch[0])
            put(frame(batch))
    reels.end_reel("EOJ", *last_addr)
    hdr = reels.header
    return {"format": "ddr", "model": dev.model, "devtype": dev.devtype,
            "cylinders": dev.cylinders, "heads": dev.heads, "volser": hdr.volser or None,
            "first_cyl": extents[0][0], "last_cyl": extents[-1][1],
            "extents": [{"first_cyl": a, "last_cyl": b, "to_cyl": t}
                        for (a, b), t in zip(extents, to)],
            "tracks": tracks, "blocks": blocks, "bytes": nbytes,
            "clock": f"{hdr.clock:016X}", "reels": list(reels.paths)}


def dump(volume: PathLike, tape_path: PathLike, extents: Optional[Sequence[Extent]] = None,
         *, format: Optional[str] = None, compress: Optional[str] = None, level: int = -1,
         overwrite: bool = False, reel_size: Optional[int] = None,
         reorder: Optional[Sequence[int]] = None, workers: Optional[int] = None,
         progress: ProgressFn = None, wait: Optional[float] = -1.0,
         clock: Optional[int] = None) -> dict[str, JSONValue]:
    """``spoolkit dasd dump`` in DDR format: cylinder ranges of ``volume``
    (all by default) to new tape image(s) starting with ``tape_path``.
    ``format``: aws / het / fkt (default from the name); ``reel_size``:
    bytes a reel may take (default: one reel)."""
    tape_path = os.fspath(tape_path)
    check_destination(tape_path, overwrite=overwrite)
    if reel_size is not None and reel_size < 16 << 10:
        raise InvalidArgumentError(f"reel size {reel_size} is smaller than 16 KiB")
    with open_dasd(volume) as opened:
        dev = require_ckd(opened, "a DDR dump")
        ranges = check_extents(extents or [(0, dev.cylinders - 1)], dev.cylinders,
                               dev.path)
        hdr = VolumeHeader("VHR", 0, 0, tod_from_unix(time.time()) if clock is None else clock,
                           max_records(dev.device), dev.cylinders - 1, dev.heads - 1,
                           volser_of(dev))
        reels = Reels(tape_path, hdr, format=format, compress=compress, level=level,
                      overwrite=overwrite, reel_size=reel_size, wait=wait)
        try:
            info = dump_volume(dev, reels, ranges, reorder, workers=workers,
                               progress=progress)
        except BaseException:
            reels.abort()
            raise
        reels.close()
    return {**info, "volume": os.fspath(volume), "tape": tape_path}


__all__ = ["dump", "dump_volume", "Reels", "volser_of", "check_extents"]
