"""CP-formatted volumes: the SPKALLOC allocation map, the VTOC that shows the
volume full, and 4096-byte page slots (design.md section 3; formats.md
"CP volumes and SPOL volumes" has the exact layout)."""

from .volume import (
    EXTENT_TYPES,
    SLOT_EXTENTS,
    Allocation,
    CPVolume,
    Extent,
    SlotAllocator,
    format_volume,
    open_cp_volume,
    read_allocation,
    read_cp_extents,
)

__all__ = ["EXTENT_TYPES", "SLOT_EXTENTS", "Allocation", "CPVolume", "Extent", "SlotAllocator",
           "format_volume", "open_cp_volume", "read_allocation", "read_cp_extents"]
