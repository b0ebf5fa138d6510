"""The compiled core carries the package version; errors map to one hierarchy."""

import importlib

import pytest

import spoolkit
from spoolkit import _native, _version, errors


def test_version_compiled_in():
    assert _native.ffi.string(_native.lib.spk_version()).decode() == spoolkit.__version__


def test_stale_build_is_caught(monkeypatch):
    monkeypatch.setattr(_version, "__version__", "0.0.0-other")
    with pytest.raises(errors.BuildError, match="stale build"):
        importlib.reload(_native)
    monkeypatch.undo()
    importlib.reload(_native)


@pytest.mark.parametrize("code,cls,builtin", [
    ("SPK_EFORMAT", errors.FormatError, ValueError),
    ("SPK_ETRUNC", errors.TruncatedError, ValueError),
    ("SPK_ECAPACITY", errors.CapacityError, ValueError),
    ("SPK_ERANGE", errors.AddressError, IndexError),
    ("SPK_ENOTFOUND", errors.NotFoundError, KeyError),
    ("SPK_ENOSPACE", errors.NoSpaceError, OSError),
    ("SPK_ECRC", errors.ChecksumError, ValueError),
])
def test_codes_map_to_classes(code, cls, builtin):
    err = _native.new_err()
    err.code = getattr(_native.lib, code)
    err.offset = 10
    err.msg = b"what went wrong"
    with pytest.raises(cls) as exc:
        _native.check(err.code, err, path="img", base_offset=0, track=(1, 2))
    assert isinstance(exc.value, builtin) and isinstance(exc.value, errors.SpoolkitError)
    assert str(exc.value) == "img, track 1/2, offset 10: what went wrong"
