"""The typing names of :mod:`spoolkit.errors` (:class:`~spoolkit.errors.Where`,
``JSONField``), kept apart so that loading the errors, which every command
does, loads no typing; ``spoolkit.errors`` serves them on first use."""

from __future__ import annotations

import os
from typing import Optional, TypedDict, Union

#: a JSON-ready value of :meth:`spoolkit.errors.SpoolkitError.to_dict`
JSONField = Union[str, int, list[int]]


class Where(TypedDict, total=False):
    """Where an error is: the keyword arguments of :class:`SpoolkitError` (for
    ``**where`` parameters that pass them on)."""
    path: Union[str, os.PathLike[str], None]
    offset: Optional[int]
    track: Union[tuple[int, int], int, None]
    block: Optional[int]
    page: Optional[int]
    record: Optional[int]
    hint: Optional[str]         # how to get past the error, in the API's spelling
    cli_hint: Optional[str]     # the same in the command line's


Where.__module__ = "spoolkit.errors"

__all__ = ["JSONField", "Where"]
