"""Deprecated alias of :mod:`spoolkit.backup.catalog` (goes in spoolkit 0.2)."""

from ..backup import catalog
from ._moved import alias

alias(__name__, catalog)
