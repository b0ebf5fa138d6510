"""The compiled core: loads ``spoolkit._spoolkit``, checks its version, and
turns C status codes into :mod:`spoolkit.errors` exceptions."""

from __future__ import annotations

from . import errors
from ._version import __version__

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import NoReturn, Optional

    from typing_extensions import Unpack

    from ._spoolkit import spk_errinfo

try:
    from ._spoolkit import ffi, lib
except ImportError as exc:  # pragma: no cover - only on a broken install
    raise errors.BuildError(
        "spoolkit's C core is not built; run 'pip install .' "
        "(or 'python setup.py build_ext --inplace' in a checkout): %s" % exc
    ) from exc

_built = ffi.string(lib.spk_version()).decode()
if _built != __version__:
    raise errors.BuildError(
        f"stale build: the C core is version {_built}, the Python package {__version__}; "
        "rebuild with 'pip install .' or 'python setup.py build_ext --inplace'"
    )

_CLASSES: dict[int, type[errors.SpoolkitError]] = {
    lib.SPK_EFORMAT: errors.FormatError,
    lib.SPK_ETRUNC: errors.TruncatedError,
    lib.SPK_ECAPACITY: errors.CapacityError,
    lib.SPK_EBUFSIZE: errors.SpoolkitError,
    lib.SPK_EARG: errors.InvalidArgumentError,
    lib.SPK_ECOMPRESS: errors.CompressionError,
    lib.SPK_ECRC: errors.ChecksumError,
    lib.SPK_ENOMEM: errors.SpoolkitError,
    lib.SPK_ELOOP: errors.ChainLoopError,
    lib.SPK_ERANGE: errors.AddressError,
    lib.SPK_EUNSUPPORTED: errors.UnsupportedError,
    lib.SPK_ENOTFOUND: errors.NotFoundError,
    lib.SPK_ENOSPACE: errors.NoSpaceError,
}


__all__ = ["ffi", "lib", "new_err", "error_class", "raise_error", "check"]


def new_err() -> spk_errinfo:
    """A fresh ``spk_errinfo`` to pass to a C call."""
    return ffi.new("spk_errinfo *")


def error_class(code: int) -> type[errors.SpoolkitError]:
    return _CLASSES.get(code, errors.SpoolkitError)


def raise_error(code: int, err: Optional[spk_errinfo] = None, *, base_offset: int = 0,
                **where: Unpack[errors.Where]) -> NoReturn:
    """Raise the exception for C status ``code`` with the details in ``err``.

    ``base_offset`` is added to the C-side offset (which is relative to the
    buffer handed to C) so that the message names the offset in the file.
    ``where`` are keyword arguments of :class:`SpoolkitError` (path, track, ...).
    """
    message = ffi.string(lib.spk_strerror(code)).decode()
    if err is not None and err.code == code and err.msg[0] != b"\0":
        message = ffi.string(err.msg).decode("utf-8", "replace")
        if err.offset >= 0 and "offset" not in where:
            where["offset"] = base_offset + err.offset
    raise error_class(code)(message, code=code, **where)


def check(rc: int, err: Optional[spk_errinfo] = None, *, base_offset: int = 0,
          **where: Unpack[errors.Where]) -> int:
    """Return ``rc`` when it is a success (>= 0), else raise its exception
    (``base_offset``: as :func:`raise_error`)."""
    if rc < 0:
        raise_error(rc, err, base_offset=base_offset, **where)
    return rc
