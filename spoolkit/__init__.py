"""spoolkit: IBM mainframe device images (CKD/CCKD/FBA disks, AWS/HET tapes,
z/VM spool) with a C core.

Start with :func:`open_dasd` / :func:`create_dasd` for disks.
"""

from ._version import __version__
from .dasd import DasdImage, Record, Track, create_dasd, open_dasd
from .errors import (
    AddressError,
    CapacityError,
    FormatError,
    ProtectedExtentError,
    SpoolkitError,
)
from .spool import SpoolFile

__all__ = [
    "__version__", "DasdImage", "Record", "Track", "create_dasd", "open_dasd",
    "SpoolkitError", "FormatError", "CapacityError", "AddressError", "ProtectedExtentError",
    "SpoolFile",
]
