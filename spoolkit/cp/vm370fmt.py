"""Create a volume as VM/370's FORMAT and ALLOCATE leave it.

FORMAT page-formats the cylinders it is asked for (all of them by default)
and writes the system records on cylinder 0; ALLOCATE writes the allocation
record.  :func:`format_vm370` does both into a new image: cylinder 0 always,
then by default every TEMP, TDSK and DRCT cylinder (CP's own space: PERM
cylinders hold minidisks, which CMS formats), or the cylinders asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Union

from ..dasd import create_dasd
from ..dasd.base import DasdImage
from ..errors import InvalidArgumentError
from ..output import atomic_output, check_destination
from .allocation import checked_extents
from .pagelayout import PageLayout, layout_for, page_track
from .vm370 import KINDS, build_allocation, cylinder0_tracks

ExtentSpec = tuple[str, int, int]
#: cylinder ranges, "cp" (cylinder 0 and CP's TEMP/TDSK/DRCT space) or "all"
PagesSpec = Union[str, Iterable[tuple[int, int]]]


def page_cylinders(pages: PagesSpec, cylinders: int, extents: list[ExtentSpec],
                   path: Union[str, None] = None) -> list[int]:
    """The cylinders to page-format, ascending (cylinder 0 always)."""
    todo = {0}
    if pages == "all":
        todo.update(range(cylinders))
    elif pages == "cp":
        perm = {c for kind, a, b in extents if kind == "PERM" for c in range(a, b + 1)}
        todo.update(c for c in range(cylinders) if c not in perm)
    elif isinstance(pages, str):
        raise InvalidArgumentError(f"pages {pages!r}: give 'cp', 'all' or cylinder ranges",
                                   path=path)
    else:
        for first, last in pages:
            if not 0 <= first <= last < cylinders:
                raise InvalidArgumentError(f"cylinders {first}-{last} to format: the volume "
                                           f"has cylinders 0-{cylinders - 1}", path=path)
            todo.update(range(first, last + 1))
    return sorted(todo)


def _compression(path: str, compress: Union[str, None]) -> Union[str, None]:
    if compress is not None:
        return compress
    return "zlib" if path.lower().endswith(".cckd") else None


def format_vm370(path: Union[str, os.PathLike[str]], device: str = "3350", *, volser: str,
                 extents: Iterable[ExtentSpec] = (), pages: PagesSpec = "cp",
                 compress: Union[str, None] = None, overwrite: bool = False) -> str:
    """Create a VM/370 CP volume: what FORMAT (of cylinder 0 and the
    cylinders ``pages`` names) and then ALLOCATE with ``extents`` write.

    ``device`` is a type VM/370 formats (2314, 2319, 3330, 3330-11, 3340-35,
    3340-70, 3350, 2305-1, 2305-2); the image has as many cylinders as
    VM/370 maps on it (the 2314's three alternates included).  Cylinders no
    extent names are TEMP, as FORMAT leaves them.  The file appears only when
    complete; an existing one is refused (ExistsError) unless ``overwrite``.
    """
    path = os.fspath(path)
    layout = layout_for(device)
    ncyl = layout.cylinders
    exts = [(e.kind, e.first_cyl, e.last_cyl)
            for e in checked_extents(extents, ncyl, kinds=KINDS, first_cylinder=0, path=path)]
    todo = page_cylinders(pages, ncyl, exts, path)
    allocation = build_allocation(ncyl, exts)
    special = cylinder0_tracks(layout, volser, allocation)     # checks the volser
    comp = _compression(path, compress)
    check_destination(path, overwrite=overwrite)
    with atomic_output(path, overwrite=overwrite) as tmp:
        if comp:
            dev = create_dasd(tmp, layout.geometry, volser, cylinders=ncyl, overwrite=True,
                              compress=comp)
        else:        # one file: the rename moves exactly one
            dev = create_dasd(tmp, layout.geometry, volser, cylinders=ncyl, overwrite=True,
                              lfs=True)
        try:
            _write_pages(dev, layout, todo)
            for head, track in special.items():
                dev.write_track(0, head, track)
        finally:
            dev.close()
    return path


def _write_pages(dev: DasdImage, layout: PageLayout, cylinders: list[int]) -> None:
    for cyl in cylinders:
        for head in range(layout.heads):
            dev.write_track(cyl, head, page_track(layout, cyl, head, dev.track_size))


__all__ = ["format_vm370", "page_cylinders"]
