"""The :class:`Sink` protocol of :func:`spoolkit.cli.stdio.open_output`, apart
so that the command's start loads no typing (:mod:`.stdio` and
:mod:`.common` serve it on first use)."""

from __future__ import annotations

from typing import Protocol


class Sink(Protocol):
    """Where :func:`~spoolkit.cli.stdio.open_output` writes: stdout's binary
    buffer or a file."""

    def write(self, data: bytes, /) -> object: ...


Sink.__module__ = "spoolkit.cli.stdio"

__all__ = ["Sink"]
