"""Spool file selection (QUERY / SPXTAPE style), shared by readers and backups."""

from __future__ import annotations

import argparse
import datetime as _dt
import re
from dataclasses import dataclass
from typing import Iterable, Optional, Protocol, TypedDict, Union

from ..errors import InvalidArgumentError
from .file import SDF_TYPES

Ranges = Union[int, str, Iterable[Union[int, tuple[int, int]]], None]
#: one name or several (``owner``, ``type``, ``class_``, ``form``, ``dest``)
Names = Union[str, Iterable[str], None]


def parse_ranges(spec: Ranges) -> Optional[tuple[tuple[int, int], ...]]:
    """``5``, ``"1-10,42"`` or ``[(1, 10), 42]`` to inclusive (lo, hi) pairs."""
    if spec is None:
        return None
    if isinstance(spec, int):
        return ((spec, spec),)
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out = []
    for item in items:
        if isinstance(item, str):
            lo, sep, hi = item.strip().partition("-")
            try:
                pair = (int(lo), int(hi) if sep else int(lo))
            except ValueError:
                raise InvalidArgumentError(f"spool ID range {item!r}") from None
        elif isinstance(item, int):
            pair = (item, item)
        else:
            pair = (int(item[0]), int(item[1]))
        if not 1 <= pair[0] <= pair[1] <= 9999:
            raise InvalidArgumentError(f"spool ID range {pair[0]}-{pair[1]} outside 1-9999")
        out.append(pair)
    return tuple(out)


def _set(value: Union[str, Iterable[str], None]) -> Optional[frozenset[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(",")
    return frozenset(v.strip().upper() for v in value)


def _matches(value: str, names: frozenset[str]) -> bool:
    """Exact name, or a CP pattern: ``*`` any characters, ``%`` exactly one."""
    if value in names:
        return True
    for pat in names:
        if "*" in pat or "%" in pat:
            rx = "".join(".*" if c == "*" else "." if c == "%" else re.escape(c) for c in pat)
            if re.fullmatch(rx, value or ""):
                return True
    return False


class FileAttributes(Protocol):
    """The attributes a selection predicate reads: a
    :class:`~spoolkit.spool.SpoolFile` has them, and so has the backup
    feature's view of a catalog entry (``spoolkit.backup.selection.EntryView``),
    so one predicate selects files on a volume and in an archive."""

    @property
    def owner(self) -> str: ...

    @property
    def spoolid(self) -> Optional[int]: ...

    @property
    def type(self) -> str: ...

    @property
    def class_(self) -> str: ...

    @property
    def form(self) -> str: ...

    @property
    def dest(self) -> str: ...

    @property
    def dist(self) -> str: ...

    @property
    def fname(self) -> str: ...

    @property
    def ftype(self) -> str: ...

    @property
    def copies(self) -> int: ...

    @property
    def hold(self) -> str: ...

    @property
    def created(self) -> _dt.datetime: ...

    @property
    def record_count(self) -> int: ...

    @property
    def lrecl(self) -> int: ...

    @property
    def origin(self) -> tuple[str, str]: ...

    @property
    def is_sdf(self) -> bool: ...


class SelectionOptions(TypedDict, total=False):
    """The keyword arguments of :class:`Selection`, as a mapping."""

    owner: Names
    spoolid: Ranges
    type: Names
    class_: Names
    form: Names
    dest: Names
    since: Optional[_dt.datetime]
    until: Optional[_dt.datetime]
    sdf: Optional[bool]
    hold: Union[str, bool, None]


@dataclass(frozen=True, init=False)
class Selection:
    """Which spool files: every given criterion must match (None = any).

    ``owner``, ``type``, ``class_``, ``form``, ``dest``: a name or a list;
    ``spoolid``: ranges; ``since``/``until``: creation time bounds (inclusive);
    ``sdf``: True only system data files, False only user files;
    ``hold``: one of "none", "user", "system", "both" or True (any hold).
    """

    owner: Optional[frozenset[str]]
    spoolid: Optional[tuple[tuple[int, int], ...]]
    type: Optional[frozenset[str]]
    class_: Optional[frozenset[str]]
    form: Optional[frozenset[str]]
    dest: Optional[frozenset[str]]
    since: Optional[_dt.datetime]
    until: Optional[_dt.datetime]
    sdf: Optional[bool]
    hold: Union[str, bool, None]

    def __init__(self, *, owner: Names = None, spoolid: Ranges = None,
                 type: Names = None, class_: Names = None,  # noqa: A002
                 form: Names = None, dest: Names = None, since: Optional[_dt.datetime] = None,
                 until: Optional[_dt.datetime] = None, sdf: Optional[bool] = None,
                 hold: Union[str, bool, None] = None) -> None:
        set_ = object.__setattr__
        set_(self, "owner", _set(owner))
        set_(self, "spoolid", parse_ranges(spoolid))
        set_(self, "type", _set(type))
        set_(self, "class_", _set(class_))
        set_(self, "form", _set(form))
        set_(self, "dest", _set(dest))
        for name, t in (("since", since), ("until", until)):
            if t is not None and (t.tzinfo is None):
                raise InvalidArgumentError(f"{name}: must be timezone-aware")
        set_(self, "since", since)
        set_(self, "until", until)
        set_(self, "sdf", sdf)
        set_(self, "hold", hold)

    def match(self, sf: FileAttributes) -> bool:
        if self.owner is not None and not _matches(sf.owner, self.owner):
            return False
        if self.spoolid is not None and not any(lo <= (sf.spoolid or 0) <= hi
                                                for lo, hi in self.spoolid):
            return False
        if self.type is not None and sf.type not in self.type:
            return False
        if self.class_ is not None and sf.class_ not in self.class_:
            return False
        if self.form is not None and not _matches(sf.form, self.form):
            return False
        if self.dest is not None and not _matches(sf.dest, self.dest):
            return False
        if self.since is not None and sf.created < self.since:
            return False
        if self.until is not None and sf.created > self.until:
            return False
        if self.sdf is not None and (sf.type in SDF_TYPES) != self.sdf:
            return False
        if self.hold is True and sf.hold == "none":
            return False
        if self.hold is False and sf.hold != "none":
            return False
        if isinstance(self.hold, str) and sf.hold != self.hold:
            return False
        return True

    __call__ = match


ALL = Selection()


def selector_from_args(args: argparse.Namespace) -> Selection:
    """A Selection from the CLI's selection options (``--owner``, ``--spoolid``,
    ``--type``, ``--class``, ``--form``, ``--dest``, ``--date A[:B]``, ``--hold``)."""
    since = until = None
    if getattr(args, "date", None):
        a, _, b = args.date.partition(":")
        try:
            first = _dt.date.fromisoformat(a)
            last = _dt.date.fromisoformat(b) if b else first
        except ValueError:
            raise InvalidArgumentError(f"--date {args.date!r}: use YYYY-MM-DD[:YYYY-MM-DD]") \
                from None
        since = _dt.datetime.combine(first, _dt.time.min, _dt.timezone.utc)
        until = _dt.datetime.combine(last, _dt.time.max, _dt.timezone.utc)
    kinds = [k.upper() for k in (getattr(args, "kind", None) or [])]
    sdf = None
    if "SDF" in kinds:
        kinds.remove("SDF")
        sdf = True
    if "STANDARD" in kinds:
        kinds.remove("STANDARD")
        sdf = False
    hold = {"hold": True, "nohold": "none", None: None}[getattr(args, "hold", None)]
    spoolid = ",".join(args.spoolid) if getattr(args, "spoolid", None) else None
    return Selection(owner=_upper(getattr(args, "owner", None)), spoolid=spoolid,
                     type=kinds or None, class_=_upper(getattr(args, "klass", None)),
                     form=_upper(getattr(args, "form", None)),
                     dest=_upper(getattr(args, "dest", None)), since=since, until=until,
                     sdf=sdf, hold=hold)


def _upper(value: Optional[str]) -> Optional[str]:
    return value.upper() if value else None
