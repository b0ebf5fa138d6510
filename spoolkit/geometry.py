"""Device geometry: the Hercules device tables and the real capacity formulas.

The table rows and :func:`capacity` come from the C core (``csrc/geometry.c``),
which reproduces Hercules' ``dasdtab.c`` rows and ``capacity_calc`` exactly.
"""

from __future__ import annotations

from ._native import check, ffi, lib, new_err
from .errors import InvalidArgumentError, NotFoundError

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import ClassVar, Optional

    from ._spoolkit import spk_ckddev


class _DataclassFields:
    """``__dataclass_fields__`` made on first use (from the fields of a
    dataclass of the same fields, types and defaults): dataclasses.fields(),
    asdict(), replace() and is_dataclass() work as on a dataclass."""

    def __get__(self, obj: object, cls: type) -> dict[str, object]:
        import dataclasses
        import inspect

        params = inspect.signature(cls).parameters.values()
        types = cls.__annotations__
        spec: list[object] = [
            (p.name, types[p.name]) if p.default is p.empty
            else (p.name, types[p.name], dataclasses.field(default=p.default))
            for p in params]
        like = dataclasses.make_dataclass(cls.__name__, spec,  # type: ignore[arg-type]
                                          frozen=issubclass(cls, FrozenFields))
        fields: dict[str, object] = vars(like)["__dataclass_fields__"]
        type.__setattr__(cls, "__dataclass_fields__", fields)
        return fields


class Fields:
    """What ``@dataclass`` gives a class of ``_fields`` (its fields in order):
    the field-by-field repr and ``==`` (of the same class only), and the
    dataclasses module's functions; the subclass's ``__init__`` stores the
    fields with :meth:`_store`.  The records that every command line makes
    (device rows, device headers) are such classes rather than dataclasses:
    the dataclasses module imports inspect, a tenth of a command's start."""

    __slots__ = ()
    _fields: ClassVar[tuple[str, ...]] = ()
    __dataclass_fields__: ClassVar[dict[str, object]] = _DataclassFields()  # type: ignore[assignment]

    def _store(self, *values: object) -> None:
        for name, value in zip(self._fields, values):
            object.__setattr__(self, name, value)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Fields)
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq


class FrozenFields(Fields):
    """:class:`Fields` of a frozen dataclass: hashable by its fields, and
    assigning or deleting one raises FrozenInstanceError."""

    __slots__ = ()

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._values())

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")


class CKDDevice(FrozenFields):
    """One CKD device model (a row of Hercules' ``ckdtab``)."""

    _fields = ("name", "devt", "model", "code", "cylinders", "alt_cylinders", "heads", "r0",
               "r1", "har0", "track_length", "sectors", "formula", "factors", "cu",
               "track_size", "_ptr")
    __match_args__ = _fields

    name: str
    devt: int
    model: int
    code: int
    cylinders: int
    alt_cylinders: int
    heads: int
    r0: int
    r1: int
    har0: int
    track_length: int
    sectors: int
    formula: int
    factors: tuple[int, int, int, int, int, int]
    cu: str
    track_size: int
    _ptr: Optional[spk_ckddev] = None     # the C table row (None: found by name when needed)

    def __init__(self, name: str, devt: int, model: int, code: int, cylinders: int,
                 alt_cylinders: int, heads: int, r0: int, r1: int, har0: int,
                 track_length: int, sectors: int, formula: int,
                 factors: tuple[int, int, int, int, int, int], cu: str, track_size: int,
                 _ptr: Optional[spk_ckddev] = None) -> None:
        self._store(name, devt, model, code, cylinders, alt_cylinders, heads, r0, r1, har0,
                    track_length, sectors, formula, factors, cu, track_size, _ptr)

    @property
    def devtype(self) -> str:
        """The device type as Hercules and CP print it, e.g. ``"3390"``."""
        return "%04X" % self.devt

    def capacity(self, kl: int, dl: int, used: int = 0) -> Capacity:
        """Capacity of one record of key length ``kl`` and data length ``dl``."""
        return capacity(self, kl, dl, used)

    def records_per_track(self, dl: int, kl: int = 0) -> int:
        """How many records of this shape fit on one track of the real device."""
        return capacity(self, kl, dl).records_per_track

    def max_data_length(self, nrecs: int, kl: int = 0) -> int:
        """The largest DL for which ``nrecs`` records of key length ``kl`` fit a track."""
        return max_data_length(self, nrecs, kl)


class FBADevice(FrozenFields):
    """One FBA device model (a row of Hercules' ``fbatab``)."""

    _fields = ("name", "devt", "devclass", "type", "model", "blocks_per_group",
               "blocks_per_access", "block_size", "blocks", "cu")
    __match_args__ = _fields

    name: str
    devt: int
    devclass: int
    type: int
    model: int
    blocks_per_group: int
    blocks_per_access: int
    block_size: int
    blocks: int
    cu: int

    def __init__(self, name: str, devt: int, devclass: int, type: int, model: int,
                 blocks_per_group: int, blocks_per_access: int, block_size: int, blocks: int,
                 cu: int) -> None:
        self._store(name, devt, devclass, type, model, blocks_per_group, blocks_per_access,
                    block_size, blocks, cu)

    @property
    def devtype(self) -> str:
        return "%04X" % self.devt


class Capacity(FrozenFields):
    """Result of Hercules' ``capacity_calc`` for one record."""

    _fields = ("fits", "new_used", "balance", "bytes_last", "bytes_not_last",
               "records_per_track", "physical_length", "max_data_length")
    __match_args__ = _fields

    fits: bool
    new_used: int
    balance: int
    bytes_last: int
    bytes_not_last: int
    records_per_track: int
    physical_length: int
    max_data_length: int

    def __init__(self, fits: bool, new_used: int, balance: int, bytes_last: int,
                 bytes_not_last: int, records_per_track: int, physical_length: int,
                 max_data_length: int) -> None:
        self._store(fits, new_used, balance, bytes_last, bytes_not_last, records_per_track,
                    physical_length, max_data_length)


def _ckd_from_ptr(p: spk_ckddev) -> CKDDevice:
    row = CKDDevice(
        name=ffi.string(p.name).decode(),
        devt=p.devt,
        model=p.model,
        code=p.code,
        cylinders=p.cyls,
        alt_cylinders=p.altcyls,
        heads=p.heads,
        r0=p.r0,
        r1=p.r1,
        har0=p.har0,
        track_length=p.len,
        sectors=p.sectors,
        formula=p.formula,
        factors=(p.f1, p.f2, p.f3, p.f4, p.f5, p.f6),
        cu=ffi.string(p.cu).decode(),
        track_size=lib.spk_geom_trksize(p),
        _ptr=p,
    )
    return row


# the tables, made once (kept here rather than by functools.cache: functools
# with collections costs every command's start)
_CKD_ROWS: list[tuple[CKDDevice, ...]] = []
_FBA_ROWS: list[tuple[FBADevice, ...]] = []
_BY_NAME: dict[str, CKDDevice] = {}


def ckd_devices() -> tuple[CKDDevice, ...]:
    """All CKD rows, in Hercules' table order."""
    if not _CKD_ROWS:
        _CKD_ROWS.append(tuple(_ckd_from_ptr(lib.spk_geom_ckd_get(i))
                               for i in range(lib.spk_geom_ckd_count())))
    return _CKD_ROWS[0]


def fba_devices() -> tuple[FBADevice, ...]:
    """All FBA rows, in Hercules' table order."""
    if not _FBA_ROWS:
        out = []
        for i in range(lib.spk_geom_fba_count()):
            p = lib.spk_geom_fba_get(i)
            out.append(FBADevice(ffi.string(p.name).decode(), p.devt, p.devclass, p.type,
                                 p.model, p.bpg, p.bpp, p.blksize, p.blocks, p.cu))
        _FBA_ROWS.append(tuple(out))
    return _FBA_ROWS[0]


def _parse_devt(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        raise InvalidArgumentError(f"not a device type: {text!r}") from None


def lookup_ckd(name: Optional[str] = None, devt: Optional[int | str] = None,
               cylinders: int = 0) -> CKDDevice:
    """Find a CKD model the way Hercules' ``dasd_lookup`` does.

    By ``name`` ("3390-3", "3390"), or by device type (0x3390, "3390", or the
    low byte 0x90) and size: the first row whose primary plus alternate
    cylinders hold ``cylinders``.
    """
    if name is not None:
        for row in ckd_devices():
            if row.name == name.upper() or row.name == name:
                return row
        raise NotFoundError(f"unknown CKD device type {name!r}")
    if devt is None:
        raise InvalidArgumentError("give a device name or a device type")
    if isinstance(devt, str):
        devt = _parse_devt(devt)
    p = lib.spk_geom_ckd_lookup(ffi.NULL, devt, cylinders)
    if p == ffi.NULL:
        raise NotFoundError("no CKD device type %04X with %d cylinders" % (devt, cylinders))
    return _by_name(ffi.string(p.name).decode())


def lookup_fba(name: Optional[str] = None, devt: Optional[int | str] = None,
               blocks: int = 0) -> FBADevice:
    """Find an FBA model by name, or by device type and block count."""
    if name is not None:
        for row in fba_devices():
            if row.name == name.upper():
                return row
        raise NotFoundError(f"unknown FBA device type {name!r}")
    if devt is None:
        raise InvalidArgumentError("give a device name or a device type")
    if isinstance(devt, str):
        devt = _parse_devt(devt)
    for row in fba_devices():
        if (devt in (row.devt, row.devt & 0xFF)) and (blocks <= row.blocks or row.blocks == 0):
            return row
    raise NotFoundError("no FBA device type %04X with %d blocks" % (devt, blocks))


def _row(dev: CKDDevice) -> spk_ckddev:
    """The C table row of ``dev`` (a CKDDevice made by hand has none of its own)."""
    if dev._ptr is not None:
        return dev._ptr
    ptr = _by_name(dev.name)._ptr
    assert ptr is not None          # every table row carries its pointer
    return ptr


def _by_name(name: str) -> CKDDevice:
    if not _BY_NAME:
        _BY_NAME.update((row.name, row) for row in reversed(ckd_devices()))
    row = _BY_NAME.get(name)
    if row is None:
        raise NotFoundError(f"unknown CKD device type {name!r}")
    return row


def capacity(dev: CKDDevice, kl: int, dl: int, used: int = 0) -> Capacity:
    """Hercules ``capacity_calc``: does a KL/DL record fit after ``used`` bytes?"""
    if not (0 <= kl <= 255 and 0 <= dl <= 65535 and 0 <= used < 2**31):
        raise InvalidArgumentError(f"capacity of KL {kl}, DL {dl} after {used} bytes: "
                                   "KL 0..255, DL 0..65535, used 0..2**31-1")
    out = ffi.new("spk_capacity *")
    check(lib.spk_geom_capacity(_row(dev), used, kl, dl, out))
    return Capacity(bool(out.fits), out.newused, out.balance, out.b1, out.b2, out.nrecs,
                    out.physlen, out.maxdlen)


def max_data_length(dev: CKDDevice, nrecs: int, kl: int = 0) -> int:
    """The largest DL such that ``nrecs`` records of key length ``kl`` fit on a track."""
    if nrecs < 1:
        raise InvalidArgumentError("nrecs must be at least 1")
    lo, hi = 0, dev.r1
    if capacity(dev, kl, 0).records_per_track < nrecs:
        raise InvalidArgumentError(f"{nrecs} records never fit a {dev.name} track")
    while lo < hi:  # records_per_track is monotone in DL
        mid = (lo + hi + 1) // 2
        if _fits_n(dev, kl, mid, nrecs):
            lo = mid
        else:
            hi = mid - 1
    return lo


def _fits_n(dev: CKDDevice, kl: int, dl: int, nrecs: int) -> bool:
    used = 0
    err = new_err()
    out = ffi.new("spk_capacity *")
    for _ in range(nrecs):
        check(lib.spk_geom_capacity(_row(dev), used, kl, dl, out), err)
        if not out.fits:
            return False
        used = out.newused
    return True


def parse_device(spec: str) -> tuple[CKDDevice, int]:
    """Parse ``"3390-3"``, ``"3390"`` or ``"3390:500"`` (type with cylinders).

    Returns the device row and the cylinder count to create (the primary
    cylinders of the model unless given).
    """
    name, _, cyls = spec.partition(":")
    dev = lookup_ckd(name)
    ncyl = int(cyls) if cyls else dev.cylinders
    if not 1 <= ncyl <= 65535:
        raise InvalidArgumentError(f"{ncyl} cylinders is outside 1..65535")
    return dev, ncyl
