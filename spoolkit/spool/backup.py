"""Deprecated alias of :mod:`spoolkit.backup` (goes in spoolkit 0.2)."""

from .. import backup
from .._moved import alias
from ..backup import (
    dumper,
    loader,
    media,
    protocols,
    scanner,
    selection,
    source,
    target,
    verifier,
    watcher,
)

alias(__name__, backup, dumper, loader, scanner, verifier, watcher, media, source, target,
      selection, protocols, renamed={"_open_target_volume": target.open_target_volume})
