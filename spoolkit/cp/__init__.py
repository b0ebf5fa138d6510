"""CP-formatted volumes: spoolkit's SPKALLOC layout (allocation map, the VTOC
that shows the volume full, 4096-byte page slots) and VM/370's own (VOL1
owner CP370, the allocation record, page-formatted cylinders); formats.md
"CP volumes and SPOL volumes" and "VM/370 CP volumes" have the layouts."""

from .allocation import EXTENT_TYPES, SLOT_EXTENTS, Allocation, Extent, read_allocation
from .info import (
    CPAllocation,
    CPVolumeInfo,
    read_cp_allocation,
    read_cp_extents,
    scan_page_format,
    volume_info,
)
from .pagelayout import PageLayout, layout_for
from .slots import SlotAllocator
from .vm370 import AllocFinding, VM370Allocation
from .vm370 import build_allocation as build_vm370_allocation
from .vm370 import parse_allocation as parse_vm370_allocation
from .vm370fmt import format_vm370
from .volume import CPVolume, format_volume, open_cp_volume

__all__ = ["AllocFinding", "Allocation", "CPAllocation", "CPVolume", "CPVolumeInfo",
           "EXTENT_TYPES", "Extent", "PageLayout", "SLOT_EXTENTS", "SlotAllocator",
           "VM370Allocation", "build_vm370_allocation", "format_volume", "format_vm370",
           "layout_for", "open_cp_volume", "parse_vm370_allocation", "read_allocation",
           "read_cp_allocation", "read_cp_extents", "scan_page_format", "volume_info"]
