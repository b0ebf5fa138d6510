"""What :func:`spoolkit.check_dasd` and :func:`spoolkit.convert` return, as
types: JSON-ready dicts (``json.dumps`` takes them as they are) whose keys a
type checker knows."""

from __future__ import annotations

from typing import Optional, TypedDict, Union

from ..jsonvalue import JSONDict


class _ProblemBase(TypedDict):
    kind: str           # "header", "l1", "l2", "free", "bounds", "overlap", "track", ...
    message: str


class Problem(_ProblemBase, total=False):
    """An error or a warning of a check: what kind of fault, the message, and
    where known the exception's class, the byte offset, the track (a number
    in the file, or ``[cyl, head]``) or L1 index; ``repairable``: a repair
    fixes it without losing data."""

    error: str
    offset: Optional[int]
    track: Union[int, list[int]]
    index: int
    repairable: bool


class _RepairBase(TypedDict):
    message: str


class Repair(_RepairBase, total=False):
    """What a repair did: a removed temporary ``file``, or the rebuilt free
    space (its blocks and bytes, and the bytes it won back)."""

    file: str
    free_blocks: int
    free_bytes: int
    reclaimed_bytes: int


class _CheckReportBase(TypedDict):
    path: str
    level: int
    ok: bool
    errors: list[Problem]
    warnings: list[Problem]
    repaired: list[Repair]


class CheckReport(_CheckReportBase, total=False):
    """The result of :func:`spoolkit.check_dasd`: ``ok`` when ``errors`` is
    empty; ``format`` the image's device id or format, ``files`` the pieces
    of a split set, ``stats`` counts (bytes, blocks, tracks) of what was
    checked."""

    format: str
    files: list[str]
    stats: dict[str, int]


class FlaggedTrack(TypedDict):
    """A track Hercules 3.x ``cckdcdsk -3`` would flag, and why (None when
    the track reads back clean)."""

    cyl: int
    head: int
    reason: Optional[str]


class _ConvertResultBase(TypedDict):
    source: str
    source_files: list[str]
    destination: str
    format: str
    files: list[str]
    bytes_out: int


class ConvertResult(_ConvertResultBase, total=False):
    """The result of :func:`spoolkit.convert`: the source (and the files it
    was read from), the destination's format and files, the bytes written;
    ``tracks`` (CKD) or ``blocks`` (FBA) copied; for CKD the tracks
    ``cckdcdsk -3`` would flag (``flagged_tracks``, the first in ``flagged``)."""

    tracks: int
    blocks: int
    flagged_tracks: int
    flagged: list[FlaggedTrack]


def problem_json(p: Problem) -> JSONDict:
    """``p`` as a :data:`~spoolkit.jsonvalue.JSONDict` (the same keys in the
    same order): for data typed as JSON values, which a TypedDict is not to a
    type checker."""
    known: JSONDict = {"kind": p["kind"], "message": p["message"]}
    if "error" in p:
        known["error"] = p["error"]
    if "offset" in p:
        known["offset"] = p["offset"]
    if "track" in p:
        known["track"] = p["track"]
    if "index" in p:
        known["index"] = p["index"]
    if "repairable" in p:
        known["repairable"] = p["repairable"]
    return {key: known[key] for key in p}


__all__ = ["CheckReport", "ConvertResult", "FlaggedTrack", "Problem", "Repair",
           "problem_json"]
