"""Deprecated alias of :mod:`spoolkit.backup.tapefile` (goes in spoolkit 0.2)."""

from .. import kinds
from .._moved import alias
from ..backup import tapefile
from ..tape import medium

alias(__name__, tapefile, medium, kinds)
