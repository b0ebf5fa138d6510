"""Old import paths of moved modules: deprecated aliases.

A module that moved keeps its old path until spoolkit 0.2 (``REMOVED_IN``):
a three-line module there calls :func:`alias` with the modules its names
went to, and importing it warns with a :class:`DeprecationWarning` naming
the new path.  An alias's names are looked up in those modules, and an
assignment to one of them (a test's monkeypatch of a module global)
changes it there, so code using an old path behaves as before.  The old
paths: ``spoolkit.spool.backup``, ``.archive``, ``.archio``, ``.mdisk``,
``.tapeio``, ``.runlog`` (now :mod:`spoolkit.backup`), ``spoolkit.tape.detect``
(now :mod:`spoolkit.kinds`), and ``spoolkit.spool.dump`` etc. (see
:mod:`spoolkit.spool._moved`).
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import Optional

#: the version that removes the old paths
REMOVED_IN = "0.2"


def warn_moved(old: str, new: str) -> None:
    """Warn that ``old`` is deprecated for ``new``, pointing at the code that
    used the old name (the caller's caller's caller: the importing module for
    :func:`alias`, the attribute's reader for a module ``__getattr__``)."""
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
    warn_moved(name, targets[0].__name__)
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
