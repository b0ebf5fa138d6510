"""Deprecated alias of :mod:`spoolkit.backup.minidisk` (goes in spoolkit 0.2)."""

from .._moved import alias
from ..backup import minidisk

alias(__name__, minidisk)
