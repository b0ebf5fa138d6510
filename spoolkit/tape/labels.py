"""IBM standard tape labels (VOL1, HDR1/2, EOF1/2, EOV1/2, UHLn, UTLn).

80-byte EBCDIC blocks (ASCII accepted on input), with the field offsets
Hercules' ``sllib`` uses.  :func:`datasets` lists the data sets of a
labelled tape; :class:`LabelledWriter` writes a correctly labelled
multi-file volume (HDR2 with label number 2, not Hercules' ``1``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Optional

from ..errors import FormatError, InvalidArgumentError
from .image import TapeImage
from .medium import TapeMedium

RANGES = {"VOL": (1, 1), "HDR": (1, 2), "EOF": (1, 2), "EOV": (1, 2), "UHL": (1, 8),
          "UTL": (1, 8)}

# (name, offset, length) per label layout, names as hetmap prints them
VOL_FIELDS = [("Volume Serial", 4, 6), ("Improved Data Rec.", 24, 1), ("Owner Code", 41, 10)]
DS1_FIELDS = [("Dataset ID", 4, 17), ("Volume Serial", 21, 6), ("Volume Sequence", 27, 4),
              ("Dataset Sequence", 31, 4), ("GDG Number", 35, 4), ("GDG Version", 39, 2),
              ("Creation Date", 41, 6), ("Expiration Date", 47, 6), ("Dataset Security", 53, 1),
              ("Block Count Low", 54, 6), ("System Code", 60, 13), ("Block Count High", 76, 4)]
DS2_FIELDS = [("Record Format", 4, 1), ("Block Size", 5, 5), ("Record Length", 10, 5),
              ("Density", 15, 1), ("Dataset Position", 16, 1), ("Job/Step ID", 17, 17),
              ("Recording Technique", 34, 2), ("Control Character", 36, 1),
              ("Block Attribute", 38, 1), ("Device Serial", 41, 6), ("Checkpoint ID", 47, 1),
              ("Large Block Length", 70, 10)]


def decode(data: bytes) -> Optional[str]:
    """Label text of an 80-byte block (EBCDIC, or ASCII), or None if it is no label."""
    if len(data) != 80:
        return None
    for codec in ("cp037", "ascii"):
        try:
            text = bytes(data).decode(codec)
        except UnicodeDecodeError:
            continue
        kind = text[:3]
        if kind in RANGES and text[3].isdigit():
            lo, hi = RANGES[kind]
            if lo <= int(text[3]) <= hi:
                return text
    return None


def is_label(data: bytes) -> bool:
    return decode(data) is not None


@dataclass
class Label:
    """A parsed label: ``id`` ("HDR1"), its text and named fields."""

    id: str
    text: str
    fields: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> str:
        return self.fields[name]

    def to_dict(self) -> dict[str, str]:
        return {"label": self.id, **self.fields}


def parse(data: bytes) -> Label:
    """Parse an 80-byte label block (FormatError if it is none)."""
    text = decode(data)
    if text is None:
        raise FormatError("not an IBM standard label (80 bytes starting VOL1/HDR1/...)")
    kind, num = text[:3], text[3]
    if kind == "VOL":
        layout = VOL_FIELDS
    elif kind in ("HDR", "EOF", "EOV"):
        layout = DS1_FIELDS if num == "1" else DS2_FIELDS
    else:
        layout = []
    return Label(text[:4], text, {name: text[o:o + n] for name, o, n in layout})


def _text(fields: list[tuple[int, str]]) -> bytes:
    buf = [" "] * 80
    for off, value in fields:
        for i, ch in enumerate(value):
            buf[off + i] = ch
    return "".join(buf).encode("cp037")


def _check(value: str, n: int, what: str) -> str:
    value = value.upper()
    if len(value) > n:
        raise InvalidArgumentError(f"{what} {value!r} is longer than {n} characters")
    return value


def fmt_date(d: Optional[dt.date]) -> str:
    """``cyyddd``: c blank for 19xx, 0 for 20xx, 1 for 21xx (as sllib writes)."""
    if d is None:
        return " 00000"
    c = {19: " ", 20: "0", 21: "1"}.get(d.year // 100)
    if c is None:
        raise InvalidArgumentError(f"date {d} outside 1900..2199")
    return f"{c}{d.year % 100:02d}{d.timetuple().tm_yday:03d}"


def parse_date(text: str) -> Optional[dt.date]:
    t = text.strip()
    if not t or not t.strip("0"):
        return None
    if len(text) != 6 or not text[1:].isdigit():
        return None
    century = {" ": 1900, "0": 2000, "1": 2100}.get(text[0])
    if century is None:
        return None
    year, day = century + int(text[1:3]), int(text[3:])
    if not 1 <= day <= 366:
        return None
    return dt.date(year, 1, 1) + dt.timedelta(days=day - 1)


def vol1(volser: str, owner: str = "") -> bytes:
    volser = _check(volser, 6, "volume serial")
    if not volser:
        raise InvalidArgumentError("volume serial is required")
    return _text([(0, "VOL1"), (4, volser.ljust(6)), (41, _check(owner, 10, "owner"))])


def hdr1(kind: str, dsn: str, volser: str, *, volseq: int = 1, fileseq: int = 1,
         created: Optional[dt.date] = None, expires: Optional[dt.date] = None,
         blocks: int = 0, system: str = "IBM OS/VS 370") -> bytes:
    """HDR1 / EOF1 / EOV1; the data set name keeps its rightmost 17 characters."""
    if kind not in ("HDR1", "EOF1", "EOV1"):
        raise InvalidArgumentError(f"not a data set label 1: {kind}")
    count = f"{blocks:010d}"
    return _text([(0, kind), (4, dsn.upper()[-17:].ljust(17)), (21, _check(volser, 6, "volser")),
                  (27, f"{volseq:04d}"), (31, f"{fileseq:04d}"), (41, fmt_date(created)),
                  (47, fmt_date(expires)), (53, "0"), (54, count[-6:]),
                  (60, system[:13]), (76, count[:4])])


def hdr2(kind: str, recfm: str, blksize: int, lrecl: int, *, job: str = "", step: str = "",
         control: str = " ", density: str = "0", position: str = "0") -> bytes:
    """HDR2 / EOF2 / EOV2 (label number 2).  ``recfm`` like "FB", "VBS", "U"."""
    if kind not in ("HDR2", "EOF2", "EOV2"):
        raise InvalidArgumentError(f"not a data set label 2: {kind}")
    rec = recfm.upper()
    if not rec or rec[0] not in "FVU":
        raise InvalidArgumentError(f"record format {recfm!r}: F, V or U with B/S/A/M")
    attr = ("R" if "B" in rec and "S" in rec else "B" if "B" in rec else
            "S" if "S" in rec else " ")
    if "A" in rec:
        control = "A"
    elif "M" in rec:
        control = "M"
    large = blksize > 32760
    return _text([(0, kind), (4, rec[0]), (5, "00000" if large else f"{blksize:05d}"),
                  (10, f"{min(lrecl, 99999):05d}"), (15, density), (16, position),
                  (17, f"{job[:8]:<8}/{step[:8]:<8}"), (36, control), (38, attr),
                  (70, f"{blksize:10d}" if large else "")])


@dataclass
class Dataset:
    """One data set of a standard-labelled tape."""

    seq: int
    dsn: str
    file: int                  # physical file number of the data (3n-1)
    volser: str = ""
    created: Optional[dt.date] = None
    expires: Optional[dt.date] = None
    recfm: str = ""
    lrecl: int = 0
    blksize: int = 0
    blocks: int = 0            # data blocks counted on the tape
    label_blocks: Optional[int] = None  # block count in EOF1
    job: str = ""
    step: str = ""
    labels: list[Label] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        d: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k != "labels"}
        for k in ("created", "expires"):
            d[k] = d[k].isoformat() if d[k] else None
        return d


def _recfm(l2: Label) -> str:
    rec = l2["Record Format"].strip()
    attr = l2["Block Attribute"]
    rec += {"B": "B", "S": "S", "R": "BS"}.get(attr, "")
    if l2["Control Character"] in ("A", "M"):
        rec += l2["Control Character"]
    return rec


def datasets(tape: TapeImage) -> Iterator[Dataset]:
    """The data sets of a standard-labelled tape (VOL1 first), from the load point."""
    tape.rewind()
    first = tape.read_block()
    if first is None or first.is_tapemark or (decode(first.data) or "")[:4] != "VOL1":
        raise FormatError("not a standard-labelled tape: no VOL1 label at the load point",
                          path=tape.path)
    volser = parse(first.data)["Volume Serial"].strip()
    seq = 0
    while True:
        labels = [parse(b.data) for b in tape.blocks() if is_label(b.data)]
        hdr = [lab for lab in labels if lab.id.startswith("HDR")]
        if not hdr:
            return
        seq += 1
        ds = Dataset(seq, "", file=tape.file_number + 1, volser=volser, labels=labels)
        for lab in hdr:
            if lab.id == "HDR1":
                ds.dsn = lab["Dataset ID"].strip()
                ds.created = parse_date(lab["Creation Date"])
                ds.expires = parse_date(lab["Expiration Date"])
            elif lab.id == "HDR2":
                ds.recfm = _recfm(lab)
                ds.lrecl = int(lab["Record Length"] or 0) if lab["Record Length"].isdigit() else 0
                big = lab["Large Block Length"].strip()
                ds.blksize = int(big) if big.isdigit() else (
                    int(lab["Block Size"]) if lab["Block Size"].isdigit() else 0)
                job, _, step = lab["Job/Step ID"].partition("/")
                ds.job, ds.step = job.strip(), step.strip()
        ds.blocks = sum(1 for _ in tape.blocks())
        trailer = [parse(b.data) for b in tape.blocks() if is_label(b.data)]
        ds.labels += trailer
        for lab in trailer:
            if lab.id in ("EOF1", "EOV1"):
                low, high = lab["Block Count Low"], lab["Block Count High"].strip()
                if low.isdigit():
                    ds.label_blocks = int((high if high.isdigit() else "") + low)
        yield ds


class LabelledWriter:
    """Write a standard-labelled volume: VOL1, then per data set HDR1 HDR2 TM
    data TM EOF1 EOF2 TM, and a final TM on :meth:`close`."""

    def __init__(self, tape: TapeMedium, volser: str, owner: str = "") -> None:
        self.tape = tape
        self.volser = _check(volser, 6, "volume serial")
        self.seq = 0
        self._ds: Optional[dict[str, Any]] = None
        tape.write_block(vol1(volser, owner))

    def begin(self, dsn: str, recfm: str = "U", lrecl: int = 0, blksize: int = 32760, *,
              created: Optional[dt.date] = None, job: str = "", step: str = "") -> None:
        if self._ds is not None:
            self.end()
        self.seq += 1
        self._ds = dict(dsn=dsn, recfm=recfm, lrecl=lrecl, blksize=blksize,
                        created=created or dt.date.today(), job=job, step=step, blocks=0)
        d = self._ds
        self.tape.write_block(hdr1("HDR1", dsn, self.volser, fileseq=self.seq,
                                   created=d["created"]))
        self.tape.write_block(hdr2("HDR2", recfm, blksize, lrecl, job=job, step=step))
        self.tape.tapemark()

    def write(self, block: bytes) -> None:
        if self._ds is None:
            raise InvalidArgumentError("begin() a data set first")
        self.tape.write_block(block)
        self._ds["blocks"] += 1

    def end(self) -> None:
        d = self._ds
        if d is None:
            return
        self.tape.tapemark()
        self.tape.write_block(hdr1("EOF1", d["dsn"], self.volser, fileseq=self.seq,
                                   created=d["created"], blocks=d["blocks"]))
        self.tape.write_block(hdr2("EOF2", d["recfm"], d["blksize"], d["lrecl"], job=d["job"],
                                   step=d["step"]))
        self.tape.tapemark()
        self._ds = None

    def close(self) -> None:
        self.end()
        self.tape.tapemark()
