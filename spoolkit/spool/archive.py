"""Deprecated alias of :mod:`spoolkit.backup.blocks` (goes in spoolkit 0.2)."""

from .._moved import alias
from ..backup import blocks

alias(__name__, blocks)
