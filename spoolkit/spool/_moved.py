"""The backup feature's old import paths under :mod:`spoolkit.spool`.

The backup modules moved to :mod:`spoolkit.backup` in spoolkit 0.1; their old
paths (``spoolkit.spool.backup``, ``.archive``, ``.archio``, ``.mdisk``,
``.tapeio``, ``.runlog`` and ``spoolkit.spool.dump`` etc.) keep working until
spoolkit 0.2 and warn with a :class:`DeprecationWarning` when imported.  An
old module is an alias: its names are looked up in the modules they moved
to, and an assignment to one of them (a test's monkeypatch of a module
global) changes it there, so code using an old path behaves as before.
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Optional

#: the version that removes the old paths
REMOVED_IN = "0.2"
#: names ``spoolkit.spool`` re-exported from the backup feature
PACKAGE_NAMES = ("dump", "load", "scan", "verify", "watch")


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated: use {new} (the old name goes in spoolkit "
                  f"{REMOVED_IN})", DeprecationWarning, stacklevel=4)


class MovedModule(types.ModuleType):
    """A deprecated module whose names live in ``targets`` (searched in order).

    Each moved name is a property of the alias's own class that reads and
    writes the module the name lives in, so tools that save and restore
    module attributes (``monkeypatch``) see the target's value."""

    _spk_targets: tuple[types.ModuleType, ...] = ()

    def __getattr__(self, name: str) -> object:
        for t in self._spk_targets:
            if hasattr(t, name):
                return getattr(t, name)
        raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        names = set(vars(self))
        for t in self._spk_targets:
            names.update(dir(t))
        return sorted(names)


def _forward(name: str, targets: tuple[types.ModuleType, ...]) -> property:
    owner = next(t for t in targets if name in vars(t))

    def get(self: MovedModule) -> object:
        return getattr(owner, name)

    def put(self: MovedModule, value: object) -> None:
        setattr(owner, name, value)

    def drop(self: MovedModule) -> None:
        delattr(owner, name)

    return property(get, put, drop)


def _constant(obj: object) -> property:
    def get(self: MovedModule) -> object:
        return obj

    return property(get)


def alias(name: str, *targets: types.ModuleType,
          renamed: Optional[dict[str, object]] = None) -> None:
    """Make the module being imported as ``name`` a :class:`MovedModule` of
    ``targets``; ``renamed``: old names of objects that moved under another name."""
    _warn(name, targets[0].__name__)
    names = {n for t in targets for n in vars(t) if not n.startswith("__")}
    ns: dict[str, object] = {n: _forward(n, targets) for n in names}
    ns.update({old: _constant(obj) for old, obj in (renamed or {}).items()})
    ns["_spk_targets"] = targets
    cls = type("MovedModule", (MovedModule,), ns)
    mod = cls(name, f"Deprecated alias of {', '.join(t.__name__ for t in targets)} "
                    f"(goes in spoolkit {REMOVED_IN}).")
    exported: list[str] = []
    for t in targets:
        exported += [n for n in getattr(t, "__all__", ()) if n not in exported]
    mod.__all__ = exported
    sys.modules[name] = mod


def package_attribute(name: str) -> object:
    """``spoolkit.spool.dump`` and the other backup verbs (deprecated)."""
    if name not in PACKAGE_NAMES:
        raise AttributeError(f"module 'spoolkit.spool' has no attribute {name!r}")
    from .. import backup

    _warn(f"spoolkit.spool.{name}", f"spoolkit.backup.{name}")
    return getattr(backup, name)
