"""A CMS file off any source (minidisk, VMARC archive, VMFPLC2 or TAPE DUMP
tape, host directory): its CMS attributes and its exact records.  Sources
yield and targets take :class:`CMSFile`; nothing else crosses between them."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Optional

from .records import CMSRecords


@dataclass(frozen=True)
class CMSFile:
    """One CMS file: ``fname ftype fmode``, record format and length, the date
    it was last written (None when the source holds none), and its records."""

    fname: str
    ftype: str
    fmode: str
    recfm: str                      #: "F" or "V"
    lrecl: int                      #: F: every record's length; V: the longest
    date: Optional[_dt.datetime]
    records: CMSRecords

    @property
    def name(self) -> str:
        """``FNAME FTYPE FM`` as CMS shows it."""
        return f"{self.fname} {self.ftype} {self.fmode}"
