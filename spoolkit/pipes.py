"""Pipeline stages (design.md section 5): ``trackread``, ``trackwrite``,
``readspool``, ``writespool``, composable with ``|`` and usable as plain
generators::

    for sf in readspool(vol, select=Selection(owner="MAINT")): ...
    n = list(readspool(system) | writespool(other_volume))   # spool IDs written
    list(trackread(src) | trackwrite(dst))                    # track copy

Plus the CMS Pipelines READER record form of one file: ``reader_records``
(tag record ``X'03'`` + tag, then opcode byte + data) and ``from_reader_records``,
and CMS files on minidisks: ``cmsread`` / ``cmswrite`` (CMS Pipelines ``<`` and
``>``) with ``tospool`` to make one spool file of a record stream::

    list(readspool(vol, select={"spoolid": 7}) | cmswrite(md, "CARDS", "DATA",
                                                          recfm="F", lrecl=80))
    list(cmsread(md, "PROFILE", "EXEC") | tospool(owner="MAINT") | writespool(vol))
"""

from __future__ import annotations

import datetime as _dt
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Generic,
    Iterable,
    Iterator,
    Optional,
    Protocol,
    Sequence,
    TypedDict,
    TypeVar,
    Union,
)

from .errors import FormatError, InvalidArgumentError
from .spool.file import TAG_LENGTH, SpoolFile
from .spool.select import Ranges, Selection

if TYPE_CHECKING:
    from .cms.minidisk import Minidisk
    from .dasd.track import Track

TAG_OPCODE = 0x03

_In = TypeVar("_In")
_Out = TypeVar("_Out")
_T = TypeVar("_T")


class Stage(Generic[_In, _Out]):
    """One stage taking items of type ``_In`` and giving items of type ``_Out``:
    ``func(upstream, *args, **kw)`` returning an iterator.  A source stage
    ignores ``upstream`` (None)."""

    def __init__(self, func: Callable[..., Iterator[_Out]], *args: object, source: bool = False,
                 **kw: object) -> None:
        self.func, self.args, self.kw, self.source = func, args, kw, source

    def run(self, upstream: Optional[Iterable[_In]]) -> Iterator[_Out]:
        if upstream is None and not self.source:
            raise InvalidArgumentError(f"stage {self.func.__name__} needs an input stream")
        return self.func(upstream, *self.args, **self.kw)

    def __iter__(self) -> Iterator[_Out]:
        return self.run(None)

    def __or__(self, other: Stage[_Out, _T]) -> Pipeline[_T]:
        return Pipeline[_Out]([self]) | other

    def __ror__(self, upstream: Iterable[_In]) -> Pipeline[_Out]:
        return Pipeline[_Out]([_feed(upstream), self])


def _feed(items: Iterable[_T]) -> Stage[None, _T]:
    return Stage(lambda _up: iter(items), source=True)


# The stages of a pipeline differ in their item types; ``|`` checks that each
# stage takes what the one before it gives.
_AnyStage = Stage[Any, Any]


class Pipeline(Generic[_Out]):
    """Stages connected in order, giving items of type ``_Out``; iterate to run."""

    def __init__(self, stages: Sequence[_AnyStage]) -> None:
        self.stages: list[_AnyStage] = list(stages)

    def __or__(self, other: Union[Stage[_Out, _T], Pipeline[_T]]) -> Pipeline[_T]:
        more = other.stages if isinstance(other, Pipeline) else [other]
        return Pipeline[_T](self.stages + more)

    def __iter__(self) -> Iterator[_Out]:
        it: Optional[Iterator[_Out]] = None
        for stage in self.stages:
            it = stage.run(it)
        if it is None:
            raise InvalidArgumentError("a pipeline without stages")
        return it

    def run(self) -> int:
        """Run to the end; returns how many items left the last stage."""
        return sum(1 for _ in self)


# -- what the stages read and write ------------------------------------------------

SpoolSelect = Union[Selection, Callable[[SpoolFile], bool], None]


class SpoolSource(Protocol):
    """A spool volume or :class:`~spoolkit.spool.System`: what ``readspool`` reads."""

    def files(self, select: SpoolSelect = None) -> Iterator[SpoolFile]: ...


class SpoolSink(Protocol):
    """What ``writespool`` stores into: ``add`` returns the spool ID given."""

    def add(self, sf: SpoolFile) -> int: ...


class TrackSource(Protocol):
    """A DASD image: what ``trackread`` reads."""

    def tracks(self, first_cyl: int = 0, last_cyl: Optional[int] = None) -> Iterator[Track]: ...


class TrackSink(Protocol):
    """A DASD image (or a guarded one): what ``trackwrite`` writes to."""

    def write_track(self, cyl: int, head: int, track: Track) -> None: ...


class SelectionFields(TypedDict, total=False):
    """The keyword arguments of :class:`~spoolkit.spool.select.Selection`, as a
    dict for ``readspool(select=...)``."""

    owner: Union[str, Iterable[str]]
    spoolid: Ranges
    type: Union[str, Iterable[str]]
    class_: Union[str, Iterable[str]]
    form: Union[str, Iterable[str]]
    dest: Union[str, Iterable[str]]
    since: _dt.datetime
    until: _dt.datetime
    sdf: bool
    hold: Union[str, bool]


# -- stages --------------------------------------------------------------------

def _readspool(_up: None, source: SpoolSource, select: SpoolSelect) -> Iterator[SpoolFile]:
    yield from source.files(select)


def readspool(source: SpoolSource,
              select: Union[SpoolSelect, SelectionFields] = None) -> Stage[None, SpoolFile]:
    """Spool files of a volume or :class:`~spoolkit.spool.System` (records lazy);
    ``select``: a Selection, its keyword arguments as a dict, or a callable."""
    if isinstance(select, dict):
        select = Selection(**select)
    return Stage(_readspool, source, select, source=True)


def _writespool(up: Iterable[SpoolFile], volume: SpoolSink) -> Iterator[int]:
    for sf in up:
        yield volume.add(sf)


def writespool(volume: SpoolSink) -> Stage[SpoolFile, int]:
    """Store every spool file from upstream; yields the spool IDs given."""
    return Stage(_writespool, volume)


def _trackread(_up: None, dev: TrackSource, first_cyl: int,
               last_cyl: Optional[int]) -> Iterator[Track]:
    yield from dev.tracks(first_cyl, last_cyl)


def trackread(dev: TrackSource, first_cyl: int = 0,
              last_cyl: Optional[int] = None) -> Stage[None, Track]:
    """TRACKREAD: every track of a cylinder range (a :class:`~spoolkit.dasd.Track` each)."""
    return Stage(_trackread, dev, first_cyl, last_cyl, source=True)


def _trackwrite(up: Iterable[Track], dev: TrackSink) -> Iterator[Track]:
    for track in up:
        if track.cyl is None or track.head is None:
            raise InvalidArgumentError("trackwrite: a track without its cylinder and head")
        dev.write_track(track.cyl, track.head, track)
        yield track


def trackwrite(dev: TrackSink) -> Stage[Track, Track]:
    """TRACKWRITE: write each upstream track to its own address; passes it on."""
    return Stage(_trackwrite, dev)


# -- CMS files ---------------------------------------------------------------------

#: what cmswrite takes: records, or spool files whose records it writes
CMSItem = Union[bytes, bytearray, memoryview, SpoolFile]


def _cmsread(_up: None, md: Minidisk, fname: str, ftype: str,
             fmode: Optional[str]) -> Iterator[bytes]:
    yield from md.read(fname, ftype, fmode)


def cmsread(md: Minidisk, fname: str, ftype: str,
            fmode: Optional[str] = None) -> Stage[None, bytes]:
    """CMS Pipelines ``<``: the records of a file of an open minidisk."""
    return Stage(_cmsread, md, fname, ftype, fmode, source=True)


def _cmswrite(up: Iterable[CMSItem], md: Minidisk, fname: str, ftype: str, fmode: str,
              recfm: str, lrecl: Optional[int], replace: bool) -> Iterator[bytes]:
    records: list[bytes] = []
    for item in up:
        datas: Iterable[Union[bytes, bytearray, memoryview]] = (
            (d for _op, d in item.records()) if isinstance(item, SpoolFile) else (item,))
        for raw in datas:
            data = bytes(raw)
            if recfm == "F" and lrecl and len(data) < lrecl:
                data = data.ljust(lrecl, b"\x40")     # CP drops trailing blanks of cards
            records.append(data)
            yield data
    md.write(fname, ftype, fmode, records, recfm=recfm, lrecl=lrecl, replace=replace)


def cmswrite(md: Minidisk, fname: str, ftype: str, fmode: str = "A1", *, recfm: str = "V",
             lrecl: Optional[int] = None, replace: bool = False) -> Stage[CMSItem, bytes]:
    """CMS Pipelines ``>``: the upstream records (bytes, or the records of
    spool files) become a file of a minidisk open ``"r+"`` once the stream
    ends; they pass on unchanged (F records shorter than ``lrecl`` blank
    padded, as a card is)."""
    return Stage(_cmswrite, md, fname, ftype, fmode, recfm.upper(), lrecl, replace)


def _tospool(up: Iterable[bytes], op: int, attrs: dict[str, Any]) -> Iterator[SpoolFile]:
    yield SpoolFile(records=[(op, bytes(r)) for r in up], **attrs)


def tospool(op: int = 0x41, **attrs: Any) -> Stage[bytes, SpoolFile]:
    """One spool file of the upstream records (CCW ``op``: X'41' punch by
    default, X'09' print), attributes as :class:`~spoolkit.spool.SpoolFile`
    takes them."""
    return Stage(_tospool, op, attrs)


# -- READER record form ---------------------------------------------------------

def reader_records(sf: SpoolFile) -> Iterator[bytes]:
    """The file in CMS Pipelines READER form: tag record, then opcode + data."""
    yield bytes([TAG_OPCODE]) + sf.tag_bytes()
    for op, data in sf.records():
        yield bytes([op]) + data


def from_reader_records(records: Iterable[bytes], **attrs: Any) -> SpoolFile:
    """A spool file from READER-form records (attributes as keywords)."""
    it = iter(records)
    recs: list[tuple[int, bytes]] = []
    tag = None
    for i, rec in enumerate(it):
        if not rec:
            raise FormatError(f"READER record {i + 1} is empty (no opcode byte)", record=i + 1)
        if i == 0 and rec[0] == TAG_OPCODE:
            tag = bytes(rec[1:1 + TAG_LENGTH]).decode("cp037").rstrip()
            continue
        recs.append((rec[0], bytes(rec[1:])))
    if tag is not None and "tag" not in attrs:
        attrs["tag"] = tag
    return SpoolFile(records=recs, **attrs)


__all__ = ["Pipeline", "Stage", "cmsread", "cmswrite", "from_reader_records",
           "reader_records", "readspool", "tospool", "trackread", "trackwrite", "writespool"]
