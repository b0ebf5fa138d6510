"""spoolkit: IBM mainframe device images (CKD/CCKD/FBA disks, AWS/HET tapes,
z/VM spool) with a C core.

Start with :func:`open_dasd` / :func:`create_dasd` for disks.

The public names are loaded on first use (PEP 562), so that ``import
spoolkit`` (and every ``spoolkit ...`` command) costs only what it uses.
"""

from __future__ import annotations

from ._version import __version__

TYPE_CHECKING = False  # typing itself costs every command's start
if TYPE_CHECKING:
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

#: public name -> module defining it
_EXPORTS = {
    "format_volume": ".cp", "read_cp_extents": ".cp",
    "CCKDImage": ".dasd", "DasdImage": ".dasd", "FBAImage": ".dasd", "Record": ".dasd",
    "Track": ".dasd", "create_dasd": ".dasd", "create_fba": ".dasd", "open_dasd": ".dasd",
    "check_dasd": ".dasd.check", "convert": ".dasd.convert",
    "AddressError": ".errors", "CapacityError": ".errors", "FormatError": ".errors",
    "ProtectedExtentError": ".errors", "SpoolkitError": ".errors",
    "SpoolFile": ".spool", "System": ".spool", "create_volume": ".spool",
    "open_volume": ".spool", "open_tape": ".tape",
}


def __getattr__(name: str) -> object:
    import importlib

    where = _EXPORTS.get(name)
    if where is not None:
        value = getattr(importlib.import_module(where, __name__), name)
    elif not name.startswith("__"):
        # subpackages stay reachable as attributes (spoolkit.tape.open_tape)
        try:
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = [
    "__version__", "DasdImage", "Record", "Track", "create_dasd", "open_dasd",
    "CCKDImage", "FBAImage", "create_fba", "convert", "check_dasd",
    "SpoolkitError", "FormatError", "CapacityError", "AddressError", "ProtectedExtentError",
    "SpoolFile",
    "System", "create_volume", "format_volume", "open_volume", "read_cp_extents",
    "open_tape",
]
