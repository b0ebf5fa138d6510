"""spoolkit: IBM mainframe device images (CKD/CCKD/FBA disks, AWS/HET tapes,
z/VM spool) with a C core.

Start with :func:`open_dasd` / :func:`create_dasd` for disks.
"""

from ._version import __version__
from .cp import format_volume, read_cp_extents
from .dasd import (
    CCKDImage,
    DasdImage,
    FBAImage,
    Record,
    Track,
    create_dasd,
    create_fba,
    open_dasd,
)
from .dasd.check import check_dasd
from .dasd.convert import convert
from .errors import (
    AddressError,
    CapacityError,
    FormatError,
    ProtectedExtentError,
    SpoolkitError,
)
from .spool import SpoolFile, System, create_volume, open_volume
from .tape import open_tape

__all__ = [
    "__version__", "DasdImage", "Record", "Track", "create_dasd", "open_dasd",
    "CCKDImage", "FBAImage", "create_fba", "convert", "check_dasd",
    "SpoolkitError", "FormatError", "CapacityError", "AddressError", "ProtectedExtentError",
    "SpoolFile",
    "System", "create_volume", "format_volume", "open_volume", "read_cp_extents",
    "open_tape",
]
