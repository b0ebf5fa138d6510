"""Advisory file locks: one writer, or many readers, per image, volume or archive.

A writer takes an exclusive ``flock`` on every file it updates (each file of
a split set or a shadow chain); a reader that needs a consistent view takes
a shared one.  A lock that is taken fails at once with
:class:`~spoolkit.errors.InUseError` naming the process that holds it, or
waits up to ``wait`` seconds (``None``: for ever).  The default wait is
:data:`DEFAULT_WAIT`, which the CLI's ``--wait SECONDS`` sets.

``flock`` locks belong to the open file, so two opens in one process exclude
each other as two processes do; they are released when the file is closed
or the process dies, so a killed writer never leaves a lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time

from .errors import InUseError

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import Optional

#: seconds to wait for a lock that is taken (None: for ever); 0 fails at once
DEFAULT_WAIT: Optional[float] = 0.0
_POLL = 0.05


def set_default_wait(seconds: Optional[float]) -> None:
    """Set how long later lock requests wait (the CLI's ``--wait``)."""
    global DEFAULT_WAIT
    DEFAULT_WAIT = seconds


def lock_fd(fd: int, path: str, *, exclusive: bool = True,
            wait: Optional[float] = -1.0, what: str = "file") -> None:
    """Lock the open file ``fd`` (``path`` names it in errors).

    ``wait``: seconds to wait for a taken lock, ``None`` for ever, ``-1`` (the
    default) for :data:`DEFAULT_WAIT`.
    """
    if wait is not None and wait < 0:
        wait = DEFAULT_WAIT
    op = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    if wait is None:
        fcntl.flock(fd, op)
        return
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, op | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(_POLL)
    pid = lock_holder(fd)
    who = f"process {pid}" if pid is not None else "another process"
    waited = f" (waited {wait:g} s)" if wait else ""
    if wait:
        raise InUseError(f"{what} is in use by {who}{waited}; try again later",
                         path=path, pid=pid)
    raise InUseError(f"{what} is in use by {who}", hint="wait for it, or pass wait=SECONDS",
                     cli_hint="wait for it, or use --wait SECONDS", path=path, pid=pid)


def unlock_fd(fd: int) -> None:
    """Release a lock taken with :func:`lock_fd` (closing the file does too)."""
    fcntl.flock(fd, fcntl.LOCK_UN)


def lock_holder(fd: int) -> Optional[int]:
    """The process holding a conflicting lock on ``fd``'s file, from
    ``/proc/locks`` (Linux); None where it cannot be told."""
    try:
        st = os.fstat(fd)
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    dev = "%02x:%02x:%d" % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    me = os.getpid()
    for line in lines:
        parts = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" ("->" marks waiters)
        if len(parts) < 6 or parts[1] != "FLOCK" or "->" in parts[:2]:
            continue
        try:
            pid = int(parts[4])
        except ValueError:
            continue
        if parts[5].lower() == dev and pid != me:
            return pid
    for line in lines:  # held by this very process through another open file
        parts = line.split()
        if len(parts) >= 6 and parts[1] == "FLOCK" and parts[5].lower() == dev:
            return int(parts[4]) if parts[4].isdigit() else None
    return None


__all__ = ["DEFAULT_WAIT", "set_default_wait", "lock_fd", "unlock_fd", "lock_holder"]
