"""Deprecated alias of :mod:`spoolkit.kinds` (goes in spoolkit 0.2)."""

from .. import kinds
from .._moved import alias

alias(__name__, kinds)
