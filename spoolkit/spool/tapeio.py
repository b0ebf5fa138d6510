"""Deprecated alias of :mod:`spoolkit.backup.tapefile` (goes in spoolkit 0.2)."""

from .. import kinds
from ..backup import tapefile
from ..tape import medium
from ._moved import alias

alias(__name__, tapefile, medium, kinds)
