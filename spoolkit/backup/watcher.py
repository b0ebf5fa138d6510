"""WATCH: a spool volume polled, its new or changed files appended to an
archive as incremental runs."""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType
from typing import Callable, Optional, Union

from .dumper import dump
from .media import ArchiveLike, ArchiveRef, as_ref, exists
from .protocols import ArchiveSource, Identity
from .runlog import RunLog
from .scanner import scan
from .selection import SelectArg, as_selector
from .source import PathLike, SpoolFiles, close_source
from .source import open_source as _open_volume_source

#: what the volume is polled by: its file's modification time, size and inode
_Signature = Union[tuple[int, int, int], float, None]


def watch(volume: Union[PathLike, SpoolFiles], archive: ArchiveLike, *,
          select: SelectArg = None, interval: float = 0.2,
          stop: Optional[threading.Event] = None, log: Optional[PathLike] = None,
          on_run: Optional[Callable[[RunLog], None]] = None,
          open_source: Optional[Callable[[], ArchiveSource]] = None, signals: bool = True,
          max_runs: Optional[int] = None) -> int:
    """Watch a spool volume and append new or changed files to ``archive``.

    The volume image is polled (its modification time and size, every
    ``interval`` seconds); when it changed, its files are compared by identity
    with what the archive chain already holds and an incremental run is
    appended for the difference, so a change is archived within about a
    second.  SIGINT/SIGTERM (or ``stop``) end the watch between runs, never in
    the middle of a block: an interrupted append is truncated back.  Returns
    the number of runs appended.  ``open_source`` opens the volume for each
    look (default: the volume image at ``volume``'s path).
    """
    predicate = as_selector(select)
    ending = stop or threading.Event()

    def end(signum: int, frame: Optional[FrameType]) -> None:
        ending.set()

    old: dict[int, Union[Callable[[int, Optional[FrameType]], object], int, None]] = {}
    if signals and threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            old[signum] = signal.signal(signum, end)
    path = volume if isinstance(volume, (str, os.PathLike)) else getattr(volume, "path", None)

    def open_volume_source() -> ArchiveSource:
        if path is None:
            raise TypeError("watch: the volume has no path to poll (give open_source)")
        return _open_volume_source(os.fspath(path))

    opener = open_source or open_volume_source
    ref = as_ref(archive)
    runs = 0
    try:
        last_live = _live_set(ref)
        last_sig: object = ()          # no look yet
        while not ending.is_set():
            now = _signature(path)
            if now != last_sig:
                src = opener()
                try:
                    live = src.identities(predicate)
                    if live != last_live:
                        # a run is small and written whole: a signal that arrives
                        # meanwhile ends the watch after it, never inside a block
                        rl = dump(src, ref, select=predicate,
                                  incremental=[ref] if last_live is not None else None, log=log)
                        last_live = live
                        runs += 1
                        if on_run:
                            on_run(rl)
                finally:
                    close_source(src)
                last_sig = now
                if max_runs is not None and runs >= max_runs:
                    break
            ending.wait(interval)
    finally:
        for number, handler in old.items():
            signal.signal(number, handler)
    return runs


def _live_set(ref: ArchiveRef) -> Optional[set[Identity]]:
    """Identities of the latest state the archive holds (None: no archive yet)."""
    if not exists(ref):
        return None
    return {e.identity for e in scan(ref).latest()}


def _signature(path: Optional[PathLike]) -> _Signature:
    if path is None:
        return time.monotonic()   # no file to poll: always look
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


__all__ = ["watch"]
