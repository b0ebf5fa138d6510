"""The spool file model: a spool file's attributes (what QUERY RDR ALL and
TBL show, and the VM/370 SFBLOK holds) and its records.

Records are ``(ccw_opcode, data)`` pairs held compactly in a
:class:`~spoolkit.spool.records.Records`, or fetched lazily from a volume
(``loader``), so a spool file of millions of lines costs three buffers.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypedDict, cast

from .. import ebcdic
from ..errors import InvalidArgumentError, UnsupportedError
from .records import Records, is_data_record
from .text import card_records, print_records, render

if TYPE_CHECKING:
    from typing_extensions import Unpack

STANDARD_TYPES = ("RDR", "PRT", "PUN", "CON")
SDF_TYPES = ("NSS", "DCSS", "DCSSG", "IMG", "UCR", "NLS", "TRF")
TYPES = STANDARD_TYPES + SDF_TYPES
HOLDS = ("none", "user", "system", "both")
TAG_LENGTH = 136
MAX_LRECL = 32767
MAX_RECORD = 4004          # data bytes one page entry holds

# default logical record length by type (CP: printers 132, cards 80)
DEFAULT_LRECL = {"PRT": 132, "CON": 132, "PUN": 80, "RDR": 80}

_USERID = re.compile(r"[A-Z0-9@#$_\-]{1,8}\Z")
_NAME8 = re.compile(r"[A-Z0-9@#$_\-*]{1,8}\Z")
_CLASS = re.compile(r"[A-Z0-9*]\Z")
_NAME4 = re.compile(r"[A-Z0-9@#$]{1,4}\Z")

# every attribute, in the order used for equality and repr
ATTRIBUTES = (
    "spoolid", "type", "owner", "origin", "class_", "form", "dest", "dist", "fname", "ftype",
    "record_count", "lrecl", "copies", "hold", "keep", "msg", "dump", "created", "tag",
    "chars", "fcb", "modify", "modify_trc", "flash", "flash_count",
)


class SpoolFileFields(TypedDict, total=False):
    """A spool file's attributes as keyword arguments (of :class:`SpoolFile`,
    :meth:`SpoolFile.with_attrs`, a volume's ``change``)."""

    type: str
    owner: str
    spoolid: int | None
    origin: tuple[str, str] | None
    class_: str
    form: str
    dest: str
    dist: str | None
    fname: str
    ftype: str
    record_count: int | None
    lrecl: int | None
    copies: int
    hold: str
    keep: bool
    msg: bool
    dump: bool
    created: _dt.datetime | None
    tag: str
    chars: Iterable[str]
    fcb: str
    modify: str
    modify_trc: int
    flash: str
    flash_count: int


class SpoolFileAttrs(SpoolFileFields, total=False):
    """:class:`SpoolFileFields` and the records (or their loader)."""

    records: Iterable[tuple[int, bytes]] | None
    loader: Callable[[], Iterable[Records]] | None


def _fail(attr: str, msg: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"{attr}: {msg}")


def _upper_name(attr: str, value: object, pattern: re.Pattern[str], what: str,
                empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(attr, f"must be a string, not {type(value).__name__}")
    value = value.strip().upper()
    if empty_ok and value == "":
        return value
    if not pattern.match(value):
        raise _fail(attr, f"{value!r} is not {what}")
    return value


def _int(attr: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(attr, f"must be an integer, not {type(value).__name__}")
    if not lo <= value <= hi:
        raise _fail(attr, f"{value} is outside {lo}..{hi}")
    return value


def _ebcdic_text(attr: str, value: object, maxlen: int) -> str:
    if not isinstance(value, str):
        raise _fail(attr, f"must be a string, not {type(value).__name__}")
    value = value.rstrip(" ")
    if len(value) > maxlen:
        raise _fail(attr, f"{len(value)} characters, at most {maxlen}")
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        raise _fail(attr, "contains control characters")
    try:
        value.encode("cp037")
    except UnicodeEncodeError as exc:
        raise _fail(attr, f"{value[exc.start]!r} has no EBCDIC (037) code") from None
    return value


def now_utc() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class SpoolFile:
    """One spool file: attributes, tag and records.

    ``records`` is an iterable of ``(ccw_opcode, data)`` pairs (or a
    :class:`Records`); trailing blanks of each record are removed as CP does.
    ``loader`` instead supplies records lazily: a callable returning an
    iterable of :class:`Records` blocks (used by volumes).  With
    ``records=None`` and no loader the object carries metadata only
    (``has_records`` is False, ``record_count`` as given).
    """

    __slots__ = ATTRIBUTES + ("_records", "_loader")

    def __init__(
        self,
        *,
        type: str = "PRT",
        owner: str,
        spoolid: int | None = None,
        origin: tuple[str, str] | None = None,
        class_: str = "A",
        form: str = "STANDARD",
        dest: str = "OFF",
        dist: str | None = None,
        fname: str = "",
        ftype: str = "",
        records: Iterable[tuple[int, bytes]] | None = (),
        record_count: int | None = None,
        lrecl: int | None = None,
        copies: int = 1,
        hold: str = "none",
        keep: bool = False,
        msg: bool = False,
        dump: bool = False,
        created: _dt.datetime | None = None,
        tag: str = "",
        chars: Iterable[str] = (),
        fcb: str = "",
        modify: str = "",
        modify_trc: int = 0,
        flash: str = "",
        flash_count: int = 0,
        loader: Callable[[], Iterable[Records]] | None = None,
    ) -> None:
        if spoolid is not None:
            spoolid = _int("spoolid", spoolid, 1, 9999)
        self.spoolid = spoolid
        if not isinstance(type, str) or type.upper() not in TYPES:
            raise _fail("type", f"{type!r} is not one of {', '.join(TYPES)}")
        self.type = type.upper()
        self.owner = _upper_name("owner", owner, _USERID, "a userid (1-8 of A-Z 0-9 @#$_-)")
        if origin is None:
            origin = (self.owner, "")
        if isinstance(origin, str):
            origin = (origin, "")
        if not isinstance(origin, tuple) or len(origin) != 2:
            raise _fail("origin", "must be a (userid, node) pair")
        self.origin = (
            _upper_name("origin", origin[0], _USERID, "a userid (1-8 of A-Z 0-9 @#$_-)"),
            _upper_name("origin", origin[1], _USERID, "a node name (0-8 of A-Z 0-9 @#$_-)",
                        empty_ok=True),
        )
        self.class_ = _upper_name("class_", class_, _CLASS, "a spool class (A-Z, 0-9, *)")
        self.form = _upper_name("form", form, _NAME8, "a form name (1-8 characters)")
        self.dest = _upper_name("dest", dest, _NAME8, "a destination (1-8 characters)")
        self.dist = _upper_name("dist", self.owner if dist is None else dist, _NAME8,
                                "a distribution code (0-8 characters)", empty_ok=True)
        self.fname = _ebcdic_text("fname", fname, 12)
        self.ftype = _ebcdic_text("ftype", ftype, 12)
        self.copies = _int("copies", copies, 1, 255)
        if hold not in HOLDS:
            raise _fail("hold", f"{hold!r} is not one of {', '.join(HOLDS)}")
        self.hold = hold
        for name, value in (("keep", keep), ("msg", msg), ("dump", dump)):
            if not isinstance(value, bool):
                raise _fail(name, f"must be True or False, not {value!r}")
        self.keep, self.msg, self.dump = keep, msg, dump
        if created is None:
            created = now_utc()
        if not isinstance(created, _dt.datetime):
            raise _fail("created", "must be a datetime")
        if created.tzinfo is None or created.utcoffset() is None:
            raise _fail("created", "must be timezone-aware (UTC)")
        created = created.astimezone(_dt.timezone.utc)
        if created.year < 1900 or created.year > 9999:
            raise _fail("created", f"year {created.year} outside 1900..9999")
        self.created = created
        self.tag = _ebcdic_text("tag", tag, TAG_LENGTH)
        chars = tuple(chars) if not isinstance(chars, str) else (chars,)
        if len(chars) > 4:
            raise _fail("chars", f"{len(chars)} names, at most 4")
        self.chars = tuple(_upper_name("chars", c, _NAME4, "a 1-4 character name")
                           for c in chars)
        self.fcb = _upper_name("fcb", fcb, _NAME4, "a 1-4 character name", empty_ok=True)
        self.modify = _upper_name("modify", modify, _NAME4, "a 1-4 character name",
                                  empty_ok=True)
        self.modify_trc = _int("modify_trc", modify_trc, 0, 3)
        self.flash = _upper_name("flash", flash, _NAME4, "a 1-4 character name",
                                 empty_ok=True)
        self.flash_count = _int("flash_count", flash_count, 0, 255)

        if loader is not None:
            if records:
                raise _fail("records", "give records or loader, not both")
            records = None
        self._loader = loader
        self._records: Records | None = None
        maxlen = 0
        if records is not None:
            self._records = Records.from_iter(records)
            _, maxlen = self._records.measure()  # raises for a record longer than a page
            n = len(self._records)
            if record_count is not None and record_count != n:
                raise _fail("record_count", f"{record_count} given, the file has {n} records")
            record_count = n
        elif record_count is None:
            record_count = 0
        self.record_count = _int("record_count", record_count, 0, 0xFFFFFFFF)
        if lrecl is None:
            lrecl = max(DEFAULT_LRECL.get(self.type, MAX_RECORD), maxlen)
        self.lrecl = _int("lrecl", lrecl, 1, MAX_LRECL)
        if maxlen > self.lrecl:
            raise _fail("lrecl", f"{self.lrecl} is shorter than a {maxlen}-byte record")

    # -- records -----------------------------------------------------------

    @property
    def has_records(self) -> bool:
        return self._records is not None or self._loader is not None

    @property
    def is_sdf(self) -> bool:
        return self.type in SDF_TYPES

    def record_blocks(self) -> Iterator[Records]:
        """The records in compact blocks (one block when held in memory)."""
        if self._records is not None:
            yield self._records
        elif self._loader is not None:
            yield from self._loader()
        else:
            raise UnsupportedError(
                f"spool file {self.spoolid}: metadata only, its records were not loaded")

    def packed_records(self) -> Records:
        """All records as one :class:`Records` (loads a lazy file fully)."""
        if self._records is not None:
            return self._records
        return Records.concat(self.record_blocks())

    def records(self, *, pad: bool = False) -> Iterator[tuple[int, bytes]]:
        """Yield ``(ccw_opcode, data)``; ``pad=True`` restores trailing blanks
        to the record length in every data record, as vmur receive does (a
        0-byte data record becomes a blank one; NOPs and immediate CCWs stay)."""
        lrecl = self.lrecl
        for block in self.record_blocks():
            if not pad:
                yield from block
                continue
            for op, data in block:
                if len(data) < lrecl and is_data_record(op, data):
                    data = data + b"\x40" * (lrecl - len(data))
                yield op, data

    def tag_bytes(self) -> bytes:
        """The 136-byte EBCDIC (037) tag record data, blank padded."""
        return self.tag.encode("cp037").ljust(TAG_LENGTH, b"\x40")

    # -- copies and comparison --------------------------------------------

    def attrs(self) -> SpoolFileAttrs:
        """Every attribute by name (the keywords of the constructor)."""
        # the keys are ATTRIBUTES, which are the constructor's keywords
        return cast("SpoolFileAttrs", {name: getattr(self, name) for name in ATTRIBUTES})

    def with_attrs(self, **changes: Unpack[SpoolFileAttrs]) -> SpoolFile:
        """A copy with some attributes changed (validated again); records shared."""
        unknown = set(changes) - set(ATTRIBUTES) - {"records", "loader"}
        if unknown:
            raise InvalidArgumentError(f"{sorted(unknown)[0]}: no such spool file attribute")
        kw = self.attrs()
        if "records" in changes:
            kw.pop("record_count")
            if "lrecl" not in changes:
                kw.pop("lrecl")
        elif "loader" in changes:
            kw["records"] = None
        elif self._records is not None:
            kw["records"] = self._records
        elif self._loader is not None:
            kw["loader"] = self._loader
        else:
            kw["records"] = None
        kw.update(changes)
        return SpoolFile(**kw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpoolFile):
            return NotImplemented
        if self.attrs() != other.attrs() or self.has_records != other.has_records:
            return False
        return not self.has_records or self.packed_records() == other.packed_records()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"<SpoolFile {self.spoolid} {self.type} {self.owner} class {self.class_} "
                f"{self.fname} {self.ftype} records={self.record_count}>")

    # -- text --------------------------------------------------------------

    def render_text(self, codepage: str = "037", asa: bool = False) -> str:
        """The file as text: a print (or console) file's carriage control
        becomes ASA characters (``asa=True``) or plain lines (form feed for a
        skip to channel 1); a punch or reader file becomes 80-column cards."""
        return render(self.type, self.lrecl, self.record_blocks(), codepage, asa)

    @classmethod
    def from_text(cls, text: str, *, codepage: str = "037", asa: bool = False,
                  **attrs: Unpack[SpoolFileFields]) -> SpoolFile:
        """A print file from text lines (first column ASA control when ``asa``)."""
        attrs.setdefault("type", "PRT")
        return cls(records=print_records(text, ebcdic.codec_name(codepage), asa), **attrs)

    @classmethod
    def from_cards(cls, data: bytes | str, *, codepage: str = "037",
                   **attrs: Unpack[SpoolFileFields]) -> SpoolFile:
        """A punch file: text lines (encoded) or EBCDIC bytes in 80-byte cards."""
        attrs.setdefault("type", "PUN")
        return cls(records=card_records(data, ebcdic.codec_name(codepage),
                                        attrs.get("lrecl") or 80), **attrs)
