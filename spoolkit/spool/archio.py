"""Deprecated alias of :mod:`spoolkit.backup.writer`, ``.catalog``, ``.recover``,
``.append`` and ``.reader`` (goes in spoolkit 0.2)."""

from .._moved import alias
from ..backup import append, catalog, media, reader, recover, writer
from ..tape import medium

alias(__name__, writer, catalog, recover, append, reader, media, medium)
