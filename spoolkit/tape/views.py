"""What ``hetmap`` shows of a tape, as typed objects: files with their counts
and standard labels, and the data sets named by the trailer labels.

:func:`iter_files` walks the tape once (block counts in C, label blocks
peeked at the start of each file); :func:`trailer_datasets` condenses the
VOL1 / EOF1 / EOF2 labels the way ``hetmap -d`` does.  The ``spoolkit tape
map`` views print these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Optional, Union

from .image import FileStat, TapeImage
from .labels import Label, is_label, parse, parse_date

JSONValue = Union[str, int, None]


@dataclass
class MapFile:
    """One file of the tape: ``hetmap``'s counts and the labels at its start."""

    stat: FileStat
    labels: list[Label] = field(default_factory=list)

    @property
    def number(self) -> int:
        """The file number, 1 for the first file."""
        return self.stat.file


def file_labels(tape: TapeImage, stat: FileStat) -> list[Label]:
    """The standard labels (80-byte label blocks) at the start of a file."""
    labels: list[Label] = []
    if not (stat.blocks and stat.min_block <= 80 <= stat.max_block):
        return labels
    off = stat.offset
    for _ in range(stat.blocks):
        blk, off = tape.block_at(off)
        if not is_label(blk.data):
            break
        labels.append(parse(blk.data))
    return labels


def iter_files(tape: TapeImage) -> Iterator[MapFile]:
    """Every file of the tape in order, one held at a time."""
    for st in tape.iter_map():
        yield MapFile(st, file_labels(tape, st))


@dataclass
class VolumeInfo:
    """What ``hetmap -d`` prints of a VOL1 label."""

    volser: str
    owner: str

    def to_dict(self) -> dict[str, JSONValue]:
        return {"volser": self.volser.strip(), "owner": self.owner.strip()}


@dataclass
class TrailerDataset:
    """A data set as its trailer labels (EOF1, EOF2) describe it, as ``hetmap
    -d`` lists it; ``file`` is the number of its data file."""

    seq: int
    file: int
    dsn: str
    created_text: str          # the label's cyyddd field
    expires_text: str
    blocks: int                # the EOF1 block count
    job: str = ""              # the 17-character job/step field of EOF2
    recfm: str = ""            # record format + block attribute + control character
    lrecl: int = 0
    blksize: int = 0
    has_eof2: bool = False

    @property
    def created(self) -> Optional[dt.date]:
        return parse_date(self.created_text)

    @property
    def expires(self) -> Optional[dt.date]:
        return parse_date(self.expires_text)

    def to_dict(self) -> dict[str, JSONValue]:
        job, _, step = self.job.partition("/")
        return {"seq": self.seq, "file": self.file, "dsn": self.dsn.strip(),
                "created": _iso(self.created), "expires": _iso(self.expires),
                "blocks": self.blocks, "job": job.strip(), "step": step.strip(),
                "recfm": self.recfm.replace(" ", "") if self.has_eof2 else None,
                "lrecl": self.lrecl if self.has_eof2 else None,
                "blksize": self.blksize if self.has_eof2 else None}


def _iso(d: Optional[dt.date]) -> Optional[str]:
    return d.isoformat() if d else None


def julian(text: str) -> str:
    """A label date ``cyyddd`` as ``yyyy.ddd`` (``0000.000`` for none; the
    text as it is when it is no date)."""
    if len(text) != 6 or not text[1:].isdigit():
        return text
    if not text[1:].strip("0"):
        return "0000.000"
    century = {" ": "19", "0": "20", "1": "21"}.get(text[0])
    return f"{century}{text[1:3]}.{text[3:]}" if century else text


def label_number(text: str) -> int:
    """A numeric label field as C's ``atoi`` reads it (leading blanks, then
    digits; 0 if none)."""
    digits = ""
    for ch in text.lstrip(" "):
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


def trailer_datasets(files: Iterable[MapFile]) -> Iterator[Union[VolumeInfo, TrailerDataset]]:
    """VOL1 labels and the data sets of EOF1/EOF2 labels, in tape order, as
    ``hetmap -d`` lists them (the data file is the one before the trailer)."""
    pending: Optional[TrailerDataset] = None
    for f in files:
        for lab in f.labels:
            if lab.id == "VOL1":
                yield VolumeInfo(lab["Volume Serial"], lab["Owner Code"])
            elif lab.id == "EOF1":
                if pending is not None:
                    yield pending
                pending = TrailerDataset(
                    label_number(lab["Dataset Sequence"]), f.number - 1,
                    lab["Dataset ID"], lab["Creation Date"], lab["Expiration Date"],
                    label_number(lab["Block Count High"]) * 1_000_000
                    + label_number(lab["Block Count Low"]))
            elif lab.id == "EOF2" and pending is not None:
                pending.job = lab["Job/Step ID"]
                pending.recfm = (lab["Record Format"] + lab["Block Attribute"]
                                 + lab["Control Character"])
                pending.lrecl = label_number(lab["Record Length"])
                pending.blksize = label_number(lab["Block Size"])
                pending.has_eof2 = True
                yield pending
                pending = None
    if pending is not None:
        yield pending
