"""``spoolkit.spool.dump`` and the other backup verbs' old names (deprecated,
removed in spoolkit 0.2): served by ``spoolkit.spool.__getattr__``.  The old
modules (``spoolkit.spool.backup`` etc.) are aliases made by
:func:`spoolkit._moved.alias`."""

from __future__ import annotations

from .._moved import warn_moved

#: names ``spoolkit.spool`` re-exported from the backup feature
PACKAGE_NAMES = ("dump", "load", "scan", "verify", "watch")


def package_attribute(name: str) -> object:
    """``spoolkit.spool.dump`` and the other backup verbs (deprecated)."""
    if name not in PACKAGE_NAMES:
        raise AttributeError(f"module 'spoolkit.spool' has no attribute {name!r}")
    from .. import backup

    warn_moved(f"spoolkit.spool.{name}", f"spoolkit.backup.{name}")
    return getattr(backup, name)
