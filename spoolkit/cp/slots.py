"""Handing out the page slots of a CP volume's extents."""

from __future__ import annotations

from typing import Iterable, Optional, Protocol

from ..errors import NoSpaceError


class SlotSpace(Protocol):
    """The slots of a volume by extent type (a :class:`~.volume.CPVolume`)."""

    @property
    def path(self) -> str: ...

    def slot_ranges(self, kinds: Iterable[str] = ...) -> list[range]: ...

    def slot_kind(self, slot: int) -> Optional[str]: ...


class SlotAllocator:
    """Which slots are in use (derived by the caller from its chains); hands
    out the lowest free slots of an extent type and takes slots back."""

    def __init__(self, cp: SlotSpace, used: Iterable[int] = ()) -> None:
        self.cp = cp
        self.used = set(used)
        self._low: dict[str, int] = {}      # every slot of the kind below this is used

    def allocate(self, n: int, kind: str = "SPOL") -> list[int]:
        """n free slots of the given extent type, lowest first, marked used;
        NoSpaceError (nothing marked) if there are fewer."""
        out: list[int] = []
        if n <= 0:
            return out
        low = self._low.get(kind, 0)
        for rng in self.cp.slot_ranges([kind]):
            if rng.stop <= low:
                continue
            for s in range(max(rng.start, low), rng.stop):
                if s not in self.used:
                    out.append(s)
                    if len(out) == n:
                        self.used.update(out)
                        self._low[kind] = s + 1
                        return out
        raise NoSpaceError(f"{n} free {kind} slots needed, {len(out)} available",
                           path=self.cp.path)

    def mark(self, slots: Iterable[int]) -> None:
        self.used.update(slots)

    def free(self, slots: Iterable[int]) -> None:
        for s in slots:
            if s in self.used:
                self.used.discard(s)
                kind = self.cp.slot_kind(s)
                if kind is not None and s < self._low.get(kind, 0):
                    self._low[kind] = s

    def free_count(self, kind: str = "SPOL") -> int:
        total = sum(len(r) for r in self.cp.slot_ranges([kind]))
        return total - sum(1 for s in self.used if self.cp.slot_kind(s) == kind)


__all__ = ["SlotAllocator", "SlotSpace"]
