"""Pack sizes of the MDISK device types, from spoolkit.geometry's tables.

A directory names a device type (``2314``, ``3350``, ``3390``, ``9336``), not a
model.  Each real model of the type has a number of primary cylinders and
alternate cylinders (FBA: blocks, no alternates).  A full-pack minidisk spans
either the primary cylinders (a 3350 pack of 555) or the primary and the
alternate cylinders (the VM/370 2314 pack of 200 + 3 = 203, which CP hands
to the guest whole because a 2314 has no hardware alternate handling); both
are full packs of that model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Optional

from ..geometry import ckd_devices, fba_devices

#: directory device types that are another type's geometry
ALIASES = {"2319": "2314", "3333": "3330", "671": "0671"}


@dataclass(frozen=True)
class PackModel:
    """One real model of a device type: its size in cylinders (or blocks)."""

    name: str          # "2314-1", "3390-3", "9336-20"
    primary: int       # primary cylinders, or blocks for FBA
    alternates: int    # alternate cylinders (0 for FBA)
    unit: str          # "cyl" or "block"

    @property
    def total(self) -> int:
        """Primary plus alternate cylinders."""
        return self.primary + self.alternates

    def sizes(self) -> tuple[int, ...]:
        """The sizes a full-pack minidisk of this model may have."""
        return (self.primary, self.total) if self.alternates else (self.primary,)

    def describe(self, size: int) -> str:
        """``"2314-1: 200 + 3 alternate cyls"`` for a pack of ``size``."""
        if self.alternates and size == self.total:
            return f"{self.name}: {self.primary} + {self.alternates} alternate {self.unit}s"
        return f"{self.name}: {self.primary} {self.unit}s"


def base_type(devtype: str) -> str:
    """The geometry a directory device type names: ``"3390-3"`` -> ``"3390"``,
    ``"2319"`` -> ``"2314"``; unknown types unchanged (upper case)."""
    t = devtype.upper()
    row = _rows().get(t)
    if row is not None:
        return row[0]
    return ALIASES.get(t, t)


@cache
def _rows() -> dict[str, tuple[str, PackModel]]:
    """Every real model row by name: (device type, model).  Hercules' "-x"
    rows (any size) and FBA rows without a block count are no real model."""
    out: dict[str, tuple[str, PackModel]] = {}
    for d in ckd_devices():
        if not d.name.endswith("-x"):
            out[d.name] = (d.devtype, PackModel(d.name, d.cylinders, d.alt_cylinders, "cyl"))
    for f in fba_devices():
        if f.blocks:
            out[f.name] = (f.devtype, PackModel(f.name, f.blocks, 0, "block"))
    return out


@lru_cache(maxsize=256)   # bounded: the key is whatever a directory says
def pack_models(devtype: str) -> tuple[PackModel, ...]:
    """The real models a directory device type may be, smallest first:
    one for a model name (``"3330-11"``), every model of a type name
    (``"3390"``), none for a generic or unknown type (``"FB-512"``)."""
    t = devtype.upper()
    if "-" in t and t in _rows():
        return (_rows()[t][1],)
    base = ALIASES.get(t, t)
    seen: dict[tuple[int, int], PackModel] = {}
    # the bare type row ("3390") repeats its first model, whose own row names it better;
    # of equal models ("3390-27", "3390-J") the first row names them
    rows = sorted(_rows().items(), key=lambda r: r[0] == r[1][0])
    for _, (dt, model) in rows:
        if dt == base:
            seen.setdefault((model.primary, model.alternates), model)
    return tuple(sorted(seen.values(), key=lambda m: (m.primary, m.alternates)))


def full_pack_model(devtype: str, size: int) -> Optional[PackModel]:
    """The model whose whole pack (primary, or with its alternates) is
    ``size`` cylinders/blocks, if any."""
    for m in pack_models(devtype):
        if size in m.sizes():
            return m
    return None


def only_model(devtype: str) -> Optional[PackModel]:
    """The model of a device type that has just one (2314, 3350, 3375, 3310)."""
    models = pack_models(devtype)
    return models[0] if len(models) == 1 else None


def largest_model(devtype: str) -> Optional[PackModel]:
    """The model with the most cylinders (alternates included)."""
    return max(pack_models(devtype), key=lambda m: m.total, default=None)


def model_of_size(devtype: str, size: int) -> Optional[PackModel]:
    """The model a volume of ``size`` cylinders is: primary <= size <= total."""
    for m in pack_models(devtype):
        if m.primary <= size <= m.total:
            return m
    return None


__all__ = ["ALIASES", "PackModel", "base_type", "full_pack_model", "largest_model",
           "model_of_size", "only_model", "pack_models"]
