"""CMS minidisks inside disk images: VM/370 (pre-EDF, 800-byte blocks) and
EDF (512/1K/2K/4K blocks on CKD and FBA).

    with open_minidisk("vm50u1.cckd", 51, 100) as md:
        for f in md.files():
            print(f.fname, f.ftype, f.fmode, f.recfm, f.lrecl, f.records)
        records = md.read("PROFILE", "EXEC")      # exact record bytes

Layouts and sources: docs/formats.md "CMS minidisks".
"""

from .fst import FileStatus
from .minidisk import Minidisk, open_minidisk
from .records import CMSRecords

__all__ = ["CMSRecords", "FileStatus", "Minidisk", "open_minidisk"]
