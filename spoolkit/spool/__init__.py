"""z/VM-style spool files: the model, their page chains, vmur raw pages."""

from .file import HOLDS, SDF_TYPES, STANDARD_TYPES, TYPES, SpoolFile
from .records import Records
from .select import Selection
from .system import System
from .volume import RecoverReport, SpoolVolume, create_volume, open_volume

__all__ = ["HOLDS", "SDF_TYPES", "STANDARD_TYPES", "TYPES", "RecoverReport", "Records", "Selection",
           "SpoolFile", "SpoolVolume", "System", "create_volume", "open_volume"]


def __getattr__(name: str) -> object:
    # the backup verbs' old names (spoolkit.spool.dump, ...): deprecated
    from ._moved import package_attribute

    return package_attribute(name)
