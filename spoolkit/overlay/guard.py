"""A guarded TRACKWRITE: refuse writes into protected (CP-owned) extents."""

from __future__ import annotations

from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    Iterable,
    Optional,
    Protocol,
    TypeVar,
    Union,
    runtime_checkable,
)

from ..errors import InvalidArgumentError, ProtectedExtentError
from ..util import logger
from .device import BlockVolume, Volume
from .directory import Directory
from .extents import is_locked_out
from .sysconfig import SystemConfig

if TYPE_CHECKING:
    from ..dasd.base import TrackLike

log = logger("spoolkit.overlay")

#: kinds of protected extent that make a volume CP-owned (cylinder 0 then too)
CP_KINDS = frozenset({"PAGE", "SPOL", "DRCT", "TDSK", "TEMP", "PARM", "PERM", "CYL0", "ALLOC",
                      "BAD"})


@dataclass(frozen=True)
class Protected:
    """Cylinders (CKD) or blocks (FBA) ``first``..``last`` that must not be written."""

    first: int
    last: int
    kind: str
    owner: Optional[str] = None

    def __str__(self) -> str:
        who = f" of {self.owner}" if self.owner else ""
        return f"{self.kind} extent{who} {self.first}-{self.last}"


@runtime_checkable
class CPExtentLike(Protocol):
    """A CP allocation extent (:func:`spoolkit.cp.read_cp_extents` gives them)."""

    @property
    def kind(self) -> str: ...

    @property
    def first_cyl(self) -> int: ...

    @property
    def last_cyl(self) -> int: ...


#: a protected extent: a Protected, a CP extent, or a tuple (first, last[, kind[, owner]])
ProtectedLike = Union[Protected, CPExtentLike, tuple[int, int], tuple[int, int, str],
                      tuple[int, int, str, Optional[str]]]

_D = TypeVar("_D", bound=Volume)


def _as_protected(p: ProtectedLike) -> Protected:
    if isinstance(p, Protected):
        return p
    if isinstance(p, CPExtentLike):
        return Protected(int(p.first_cyl), int(p.last_cyl), str(p.kind).upper())
    try:
        first, last, *rest = p
        ok = (not isinstance(first, bool) and not isinstance(last, bool)
              and int(first) == first and int(last) == last and 0 <= first <= last
              and len(rest) <= 2)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise InvalidArgumentError(f"bad protected extent {str(p)[:60]}: give (first, last"
                                   "[, kind[, owner]]) with 0 <= first <= last")
    return Protected(int(first), int(last), str(rest[0]) if rest else "PROTECTED",
                     str(rest[1]) if len(rest) > 1 else None)


class GuardedDevice(Generic[_D]):
    """Wraps a CKD or FBA image; writes into protected extents need an override.

    Everything but ``write_track``/``write_blocks`` goes to the wrapped image
    (:attr:`device`, typed).
    """

    def __init__(self, dev: _D, protected: Iterable[ProtectedLike], *,
                 cp_owned: Optional[bool] = None) -> None:
        self._dev = dev
        prot = [_as_protected(p) for p in protected]
        if cp_owned is None:
            cp_owned = any(p.kind in CP_KINDS for p in prot)
        if cp_owned and not isinstance(dev, BlockVolume):
            prot.append(Protected(0, 0, "CYL0", "CP"))   # label, map, VTOC, IPL
        self.protected: tuple[Protected, ...] = tuple(sorted(prot, key=lambda p: p.first))
        self.overrides: list[dict[str, str]] = []

    @property
    def device(self) -> _D:
        """The wrapped image."""
        return self._dev

    def _hit(self, first: int, last: int) -> Optional[Protected]:
        for p in self.protected:
            if p.first <= last and first <= p.last:
                return p
        return None

    def _allow(self, hit: Protected, where: str, override: Optional[str], *,
               track: Optional[tuple[int, int]] = None, block: Optional[int] = None) -> None:
        if not override:
            raise ProtectedExtentError(
                f"write refused: {where} is inside the protected {hit}",
                hint="pass override='reason' to write anyway",
                cli_hint="pass --override REASON to write anyway", path=self._dev.path,
                track=track, block=block)
        entry = {"path": self._dev.path, "where": where, "extent": str(hit),
                 "reason": str(override)}
        self.overrides.append(entry)
        log.warning("override: writing %s of %s inside protected %s: %s",
                    where, self._dev.path, hit, override)

    def write_track(self, cyl: int, head: int, track: TrackLike, *,
                    override: Optional[str] = None) -> None:
        """TRACKWRITE, refused inside a protected extent unless ``override``
        gives a reason (which is logged and kept in :attr:`overrides`)."""
        if isinstance(self._dev, BlockVolume):
            raise InvalidArgumentError("an FBA volume has blocks, not tracks: use write_blocks",
                                       path=self._dev.path, track=(cyl, head))
        hit = self._hit(cyl, cyl)
        if hit is not None:
            self._allow(hit, f"track {cyl}/{head}", override, track=(cyl, head))
        self._dev.write_track(cyl, head, track)

    def write_blocks(self, start: int, data: Union[bytes, bytearray, memoryview], *,
                     override: Optional[str] = None) -> None:
        """FBA block write, refused when any block is protected unless ``override``."""
        if not isinstance(self._dev, BlockVolume):
            raise InvalidArgumentError("a CKD volume has tracks, not blocks: use write_track",
                                       path=self._dev.path, block=start)
        n = max(1, -(-len(data) // 512))
        hit = self._hit(start, start + n - 1)
        if hit is not None:
            self._allow(hit, f"blocks {start}-{start + n - 1}", override, block=start)
        self._dev.write_blocks(start, data)

    def __getattr__(self, name: str) -> Any:
        # the wrapped image's other attributes, whatever its type has: use
        # .device for a typed view
        return getattr(self._dev, name)

    def __enter__(self) -> GuardedDevice[_D]:
        return self

    def __exit__(self, *exc: object) -> None:
        self._dev.close()

    def __repr__(self) -> str:
        return f"<GuardedDevice {self._dev!r} protected={len(self.protected)}>"


def guard(dev: _D, protected: Iterable[ProtectedLike], *,
          cp_owned: Optional[bool] = None) -> GuardedDevice[_D]:
    """Wrap ``dev`` so writes into ``protected`` extents raise
    :class:`~spoolkit.errors.ProtectedExtentError` unless overridden."""
    return GuardedDevice(dev, protected, cp_owned=cp_owned)


def protected_extents(dev: Volume, directory: Optional[Directory] = None,
                      system_config: Optional[SystemConfig] = None) -> list[Protected]:
    """What ``dasd write`` must not touch on ``dev``: its allocation map's CP
    areas except PERM (a VM/370 record's unknown codes included), the ``$``-user
    locks of ``directory`` on its volser, and cylinder 0 when the volume is
    CP-owned (by map, VM/370 label, lock or SYSTEM CONFIG)."""
    from .map import _cp_extents, _cp_label
    out = [_as_protected(x) for x in _cp_extents(dev)]
    cp_owned = bool(out) or _cp_label(dev)[0]
    out = [p for p in out if p.kind != "PERM"]
    volser = (dev.volser or "").upper()
    if directory is not None and volser:
        from .extents import dollar_area
        for md in directory.minidisks:
            if (md.volser == volser and is_locked_out(md.owner) and md.start is not None
                    and md.size is not None):
                out.append(Protected(md.start, md.start + md.size - 1,
                                     dollar_area(md.owner), md.owner))
                cp_owned = True
    if system_config is not None and volser and system_config.is_cp_owned(volser):
        cp_owned = True
    if cp_owned and not isinstance(dev, BlockVolume):
        out.append(Protected(0, 0, "CYL0", "CP"))
    return sorted(set(out), key=lambda p: (p.first, p.last, p.kind))
