"""Spool backup and restore, SPXTAPE-like: DUMP, LOAD, SCAN, VERIFY, WATCH.

Archives live on tape images (AWS/HET/FakeTape), on a minidisk extent of a
CKD volume, or a DUMP writes the files straight into another SPOL volume (the
backup *is* a spool volume).
"""

from .dumper import (
    ArchiveRef,
    EntryView,
    NotAnArchiveError,
    ScanResult,
    VolumeSource,
    VolumeTarget,
    as_ref,
    dump,
    file_identity,
    load,
    open_source,
    scan,
    verify,
    watch,
)

__all__ = ["dump", "load", "scan", "verify", "watch", "ScanResult", "ArchiveRef", "as_ref",
           "EntryView", "NotAnArchiveError", "VolumeSource", "VolumeTarget", "file_identity",
           "open_source"]
