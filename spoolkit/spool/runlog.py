"""Deprecated alias of :mod:`spoolkit.backup.runlog` (goes in spoolkit 0.2)."""

from .._moved import alias
from ..backup import runlog

alias(__name__, runlog)
