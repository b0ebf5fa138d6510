"""Deprecated alias of :mod:`spoolkit.backup.blocks` (goes in spoolkit 0.2)."""

from ..backup import blocks
from ._moved import alias

alias(__name__, blocks)
