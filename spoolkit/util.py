"""Small helpers shared by the modules: atomic output files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence


@contextlib.contextmanager
def atomic_outputs(paths: Sequence[str]) -> Iterator[list[str]]:
    """Yield temporary files next to ``paths``; rename them into place only
    when the block completes, delete them when it raises.

    Readers never see a half-written output: either the old files (or none)
    or the complete new ones.
    """
    tmps: list[str] = []
    try:
        for p in paths:
            d = os.path.dirname(os.path.abspath(p))
            fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(p) + ".", suffix=".tmp",
                                       dir=d)
            os.close(fd)
            tmps.append(tmp)
        yield tmps
        for tmp, p in zip(tmps, paths):
            os.chmod(tmp, 0o644 & ~_umask())
            os.replace(tmp, p)
        tmps = []
    finally:
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str) -> Iterator[str]:
    """One-file form of :func:`atomic_outputs`."""
    with atomic_outputs([path]) as tmps:
        yield tmps[0]
