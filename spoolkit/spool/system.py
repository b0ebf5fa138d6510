"""A spool system: several spool volumes with spool IDs unique across them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

from ..errors import FormatError, InvalidArgumentError, NotFoundError
from .file import SpoolFile, SpoolFileFields
from .volume import SpoolVolume

if TYPE_CHECKING:
    from typing_extensions import Unpack


class System:
    """The CP-owned spool volumes of one system, in order (volume index = position)."""

    def __init__(self, volumes: Sequence[SpoolVolume]) -> None:
        if not volumes:
            raise InvalidArgumentError("a spool system needs at least one volume")
        self.volumes = list(volumes)
        seen: dict[int, int] = {}
        for i, vol in enumerate(self.volumes):
            for sid in vol.spoolids():
                if sid in seen:
                    raise FormatError(f"spool ID {sid} is on volumes {seen[sid]} and {i}",
                                      path=vol.path)
                seen[sid] = i
        self._where = seen

    def spoolids(self) -> list[int]:
        return sorted(self._where)

    def volume_of(self, spoolid: int) -> SpoolVolume:
        if spoolid not in self._where:
            raise NotFoundError(f"no spool file {spoolid} in the system")
        return self.volumes[self._where[spoolid]]

    def get(self, spoolid: int) -> SpoolFile:
        return self.volume_of(spoolid).get(spoolid)

    def files(self, select: Optional[Callable[[SpoolFile], bool]] = None
              ) -> Iterator[SpoolFile]:
        """Every file of every volume, in spool ID order."""
        for sid in self.spoolids():
            sf = self.get(sid)
            if select is None or select(sf):
                yield sf

    def add(self, sf: SpoolFile, volume: Optional[int] = None) -> int:
        """Store on the given volume (index), else the one with most free SPOL slots."""
        if volume is None:
            volume = max(range(len(self.volumes)), key=lambda i: self.volumes[i].free_slots())
        taken = set(self._where)
        sid = self.volumes[volume].add(sf, taken=taken)
        self._where[sid] = volume
        return sid

    def remove(self, spoolid: int) -> None:
        self.volume_of(spoolid).remove(spoolid)
        del self._where[spoolid]

    def change(self, spoolid: int, /, **attrs: Unpack[SpoolFileFields]) -> SpoolFile:
        return self.volume_of(spoolid).change(spoolid, **attrs)

    def close(self) -> None:
        """Close every volume (all of them, even if one fails; its error is raised)."""
        first: Optional[BaseException] = None
        for vol in self.volumes:
            try:
                vol.close()
            except BaseException as exc:  # noqa: BLE001 - the others still close
                first = first or exc
        if first is not None:
            raise first

    def __enter__(self) -> System:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
