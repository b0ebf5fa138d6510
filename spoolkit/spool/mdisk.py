"""Deprecated alias of :mod:`spoolkit.backup.minidisk` (goes in spoolkit 0.2)."""

from ..backup import minidisk
from ._moved import alias

alias(__name__, minidisk)
