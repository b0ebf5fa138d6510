"""Spool backup and restore, SPXTAPE-like: DUMP, LOAD, SCAN, VERIFY, WATCH.

Archives live on tape images (AWS/HET/FakeTape), on a minidisk extent of a
CKD volume, or a DUMP writes the files straight into another SPOL volume (the
backup *is* a spool volume).  The modules, bottom up:

* :mod:`.blocks` — the archive's blocks (SPKR run header, SPKF file header,
  SPKP pages, SPKC catalog), encoded and decoded;
* :mod:`.writer` — one run written onto a medium; :mod:`.catalog` — the runs
  on a medium and their catalogs; :mod:`.recover` — runs cut short;
  :mod:`.append` — where an append goes; :mod:`.reader` — one archived file;
* the media: :mod:`.tapefile` (tape images), :mod:`.minidisk` (an extent of a
  CKD volume), :mod:`.media` (naming and opening either);
* the spool side: :mod:`.source` (files to dump), :mod:`.target` (a volume to
  restore to), :mod:`.selection` (predicates over catalog entries), with the
  seams in :mod:`.protocols`;
* the commands: :mod:`.scanner`, :mod:`.dumper`, :mod:`.loader`,
  :mod:`.verifier`, :mod:`.watcher`; their logs: :mod:`.runlog`.
"""

from .dumper import dump
from .loader import load
from .media import ArchiveRef, NotAnArchiveError, as_ref
from .protocols import ArchiveSource, ArchiveTarget, Identity, Selector
from .runlog import LogLine, RunLog
from .scanner import ScanResult, scan
from .selection import EntryView
from .source import VolumeSource, file_identity, open_source
from .target import VolumeTarget
from .verifier import verify
from .watcher import watch

__all__ = ["dump", "load", "scan", "verify", "watch", "ScanResult", "ArchiveRef", "as_ref",
           "ArchiveSource", "ArchiveTarget", "EntryView", "Identity", "LogLine",
           "NotAnArchiveError", "RunLog", "Selector", "VolumeSource", "VolumeTarget",
           "file_identity", "open_source"]
