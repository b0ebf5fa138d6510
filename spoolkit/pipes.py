"""Pipeline stages (design.md section 5): ``trackread``, ``trackwrite``,
``readspool``, ``writespool``, composable with ``|`` and usable as plain
generators::

    for sf in readspool(vol, select=Selection(owner="MAINT")): ...
    n = list(readspool(system) | writespool(other_volume))   # spool IDs written
    list(trackread(src) | trackwrite(dst))                    # track copy

Plus the CMS Pipelines READER record form of one file: ``reader_records``
(tag record ``X'03'`` + tag, then opcode byte + data) and ``from_reader_records``.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Optional

from .errors import FormatError, InvalidArgumentError
from .spool.file import TAG_LENGTH, SpoolFile
from .spool.select import Selection

TAG_OPCODE = 0x03


class Stage:
    """One stage: ``func(upstream, *args, **kw)`` returning an iterator.
    A source stage ignores ``upstream`` (None)."""

    def __init__(self, func: Callable[..., Iterator[Any]], *args: Any, source: bool = False,
                 **kw: Any) -> None:
        self.func, self.args, self.kw, self.source = func, args, kw, source

    def run(self, upstream: Optional[Iterable[Any]]) -> Iterator[Any]:
        if upstream is None and not self.source:
            raise InvalidArgumentError(f"stage {self.func.__name__} needs an input stream")
        return self.func(upstream, *self.args, **self.kw)

    def __iter__(self) -> Iterator[Any]:
        return self.run(None)

    def __or__(self, other: Stage) -> Pipeline:
        return Pipeline([self]) | other

    def __ror__(self, upstream: Iterable[Any]) -> Pipeline:
        return Pipeline([_feed(upstream), self])


def _feed(items: Iterable[Any]) -> Stage:
    return Stage(lambda _up: iter(items), source=True)


class Pipeline:
    """Stages connected in order; iterate to run."""

    def __init__(self, stages: list[Stage]) -> None:
        self.stages = stages

    def __or__(self, other: Stage | Pipeline) -> Pipeline:
        more = other.stages if isinstance(other, Pipeline) else [other]
        return Pipeline(self.stages + more)

    def __iter__(self) -> Iterator[Any]:
        it: Optional[Iterator[Any]] = None
        for stage in self.stages:
            it = stage.run(it)
        return iter(it)  # type: ignore[arg-type]

    def run(self) -> int:
        """Run to the end; returns how many items left the last stage."""
        return sum(1 for _ in self)


# -- stages --------------------------------------------------------------------

def _readspool(_up: Any, source: Any, select: Any) -> Iterator[SpoolFile]:
    if isinstance(select, dict):
        select = Selection(**select)
    yield from source.files(select)


def readspool(source: Any, select: Selection | dict | Callable | None = None) -> Stage:
    """Spool files of a volume or :class:`~spoolkit.spool.System` (records lazy)."""
    return Stage(_readspool, source, select, source=True)


def _writespool(up: Iterable[SpoolFile], volume: Any) -> Iterator[int]:
    for sf in up:
        yield volume.add(sf)


def writespool(volume: Any) -> Stage:
    """Store every spool file from upstream; yields the spool IDs given."""
    return Stage(_writespool, volume)


def _trackread(_up: Any, dev: Any, first_cyl: int, last_cyl: Optional[int]) -> Iterator[Any]:
    yield from dev.tracks(first_cyl, last_cyl)


def trackread(dev: Any, first_cyl: int = 0, last_cyl: Optional[int] = None) -> Stage:
    """TRACKREAD: every track of a cylinder range (a :class:`~spoolkit.dasd.Track` each)."""
    return Stage(_trackread, dev, first_cyl, last_cyl, source=True)


def _trackwrite(up: Iterable[Any], dev: Any) -> Iterator[Any]:
    for track in up:
        if track.cyl is None or track.head is None:
            raise InvalidArgumentError("trackwrite: a track without its cylinder and head")
        dev.write_track(track.cyl, track.head, track)
        yield track


def trackwrite(dev: Any) -> Stage:
    """TRACKWRITE: write each upstream track to its own address; passes it on."""
    return Stage(_trackwrite, dev)


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


__all__ = ["Pipeline", "Stage", "from_reader_records", "reader_records", "readspool",
           "trackread", "trackwrite", "writespool"]
