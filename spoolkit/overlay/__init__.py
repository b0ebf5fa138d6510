"""Overlay protection: DIRMAP-style extent maps, CP-owned areas, guarded writes."""

from .directory import Directory, DirUser, Finding, Minidisk, parse_directory
from .extents import Extent, Overlap
from .guard import GuardedDevice, Protected, guard, protected_extents
from .map import OverlayMap, VolumeInfo, VolumeMap, build_map, volume_info
from .sysconfig import SystemConfig, parse_system_config

__all__ = [
    "DirUser", "Directory", "Extent", "Finding", "GuardedDevice", "Minidisk", "Overlap",
    "OverlayMap", "Protected", "SystemConfig", "VolumeInfo", "VolumeMap", "build_map",
    "guard", "parse_directory", "parse_system_config", "protected_extents", "volume_info",
]
