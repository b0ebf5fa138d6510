"""Deprecated alias of :mod:`spoolkit.backup` (goes in spoolkit 0.2)."""

from .. import backup
from ..backup import dumper
from ._moved import alias

alias(__name__, backup, dumper)
