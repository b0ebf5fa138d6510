"""The report :func:`spoolkit.check_dasd` returns, as types: JSON-ready dicts
(``json.dumps`` takes them as they are) whose keys a type checker knows."""

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


__all__ = ["CheckReport", "Problem", "Repair", "problem_json"]
