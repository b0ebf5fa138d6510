"""Deprecated alias of :mod:`spoolkit.backup.runlog` (goes in spoolkit 0.2)."""

from ..backup import runlog
from ._moved import alias

alias(__name__, runlog)
