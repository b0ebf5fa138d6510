"""A minidisk by owner and address: its ``MDISK`` statement in a USER DIRECT
(parsed by :mod:`spoolkit.overlay`) gives the volume and the extent, and
``VOLSER=IMAGE`` pairs say which image holds which volume."""

from __future__ import annotations

from typing import Iterable, Optional

from ..errors import InvalidArgumentError, NotFoundError


def volume_map(pairs: Iterable[str]) -> dict[str, str]:
    """``["VM50U1=vm50u1.cckd", ...]`` as {VOLSER: image}."""
    out: dict[str, str] = {}
    for p in pairs:
        volser, sep, image = p.partition("=")
        if not sep or not volser.strip() or not image:
            raise InvalidArgumentError(f"--volume {p!r}: use VOLSER=IMAGE")
        out[volser.strip().upper()] = image
    return out


def resolve(directory: Optional[str], user: Optional[str], vaddr: Optional[str],
            volumes: Iterable[str], image: Optional[str] = None) -> tuple[str, int, Optional[int]]:
    """(image, first, last) of ``user``'s minidisk ``vaddr``; ``image`` is the
    volume's image when no ``--volume`` names it (its volser is checked).
    ``last`` is None for an extent to the END of the volume."""
    from ..dasd import open_dasd
    from ..overlay import parse_directory

    if not (directory and user and vaddr):
        raise InvalidArgumentError("a minidisk by directory needs --directory, --user and "
                                   "--vaddr")
    try:
        want = int(vaddr, 16)
    except ValueError:
        raise InvalidArgumentError(f"--vaddr {vaddr!r} is not a hex device address") from None
    d = parse_directory(directory)
    owner = user.upper()
    hits = [m for m in d.minidisks if m.owner == owner and int(m.vaddr, 16) == want]
    if not hits:
        raise NotFoundError(f"{directory}: user {owner} has no minidisk {vaddr.upper()}",
                            path=directory)
    md = hits[0]
    if md.kind != "extent" or md.start is None or md.volser is None:
        raise InvalidArgumentError(f"{directory} line {md.line}: {owner} {md.vaddr} is a "
                                   f"{md.kind}, not an extent of a volume", path=directory)
    vols = volume_map(volumes)
    path = vols.get(md.volser) or image
    if not path:
        raise InvalidArgumentError(f"{owner} {md.vaddr} is on volume {md.volser}: give "
                                   f"--volume {md.volser}=IMAGE")
    if md.volser not in vols:
        with open_dasd(path) as dev:
            have = (dev.volser or "").upper()
        if have != md.volser:
            raise InvalidArgumentError(f"{path} is volume {have or '(no label)'}, not "
                                       f"{md.volser} where {owner} {md.vaddr} is",
                                       path=path)
    last = None if md.size is None else md.start + md.size - 1
    return path, md.start, last


__all__ = ["resolve", "volume_map"]
