"""Selecting spool files in archives with the predicates that select them on
volumes: a catalog entry seen with :class:`~spoolkit.spool.SpoolFile`'s
attribute names."""

from __future__ import annotations

import datetime as _dt
from typing import Callable, Union

from ..errors import InvalidArgumentError
from ..spool.file import SDF_TYPES
from ..spool.select import Selection, SelectionOptions
from .blocks import CatalogEntry
from .protocols import FileAttributes, Selector

#: what the ``select`` argument of DUMP, LOAD, SCAN and WATCH takes: None, a
#: predicate (a :class:`~spoolkit.spool.Selection` is one), or a mapping of
#: Selection's keyword arguments
SelectArg = Union[None, Callable[[FileAttributes], bool], SelectionOptions]

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_HOLDS = {0: "none", 0x80: "user", 0x40: "system", 0xC0: "both"}


class EntryView:
    """A catalog entry seen with :class:`~spoolkit.spool.SpoolFile`'s
    attribute names (``type``, ``class_``, ``hold`` as "none"/"user"/...,
    ``created`` as a UTC datetime, ``record_count``, ``lrecl``, ``origin``), so
    one selection predicate serves DUMP (spool files) and LOAD/SCAN (catalog
    entries).  Other names fall through to the entry."""

    __slots__ = ("entry",)

    def __init__(self, entry: CatalogEntry) -> None:
        self.entry = entry

    def __getattr__(self, name: str) -> object:
        return getattr(self.entry, name)

    @property
    def owner(self) -> str:
        return self.entry.owner

    @property
    def spoolid(self) -> int:
        return self.entry.spoolid

    @property
    def type(self) -> str:
        return self.entry.kind

    @property
    def class_(self) -> str:
        return self.entry.klass

    @property
    def form(self) -> str:
        return self.entry.form

    @property
    def dest(self) -> str:
        return self.entry.dest

    @property
    def dist(self) -> str:
        return self.entry.dist

    @property
    def fname(self) -> str:
        return self.entry.fname

    @property
    def ftype(self) -> str:
        return self.entry.ftype

    @property
    def copies(self) -> int:
        return self.entry.copies

    @property
    def hold(self) -> str:
        return _HOLDS.get(self.entry.hold & 0xC0, "none")

    @property
    def created(self) -> _dt.datetime:
        return _EPOCH + _dt.timedelta(microseconds=self.entry.created)

    @property
    def record_count(self) -> int:
        return self.entry.records

    @property
    def lrecl(self) -> int:
        return self.entry.record_length

    @property
    def origin(self) -> tuple[str, str]:
        return (self.entry.owner, self.entry.node)

    @property
    def is_sdf(self) -> bool:
        return self.entry.kind in SDF_TYPES


def as_selector(select: SelectArg) -> Selector:
    """None, a predicate, a :class:`~spoolkit.spool.select.Selection`, or a dict
    of Selection's keyword arguments (``{"owner": "MAINT", "spoolid": "1-99"}``)."""
    if select is None or callable(select):
        return select
    if isinstance(select, dict):
        return Selection(**select)
    raise InvalidArgumentError(f"cannot select spool files with {select!r}")


def selected(select: Selector, e: CatalogEntry) -> bool:
    """Whether the catalog entry ``e`` is selected."""
    return select is None or bool(select(EntryView(e)))


__all__ = ["EntryView", "SelectArg", "as_selector", "selected"]
