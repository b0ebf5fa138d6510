"""Deprecated alias of :mod:`spoolkit.backup.tapefile` (goes in spoolkit 0.2)."""

from ..backup import tapefile
from ._moved import alias

alias(__name__, tapefile)
