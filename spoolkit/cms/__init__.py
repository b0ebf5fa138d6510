"""CMS minidisks inside disk images: VM/370 (pre-EDF, 800-byte blocks) and
EDF (512/1K/2K/4K blocks on CKD and FBA).

    with open_minidisk("vm50u1.cckd", 51, 100) as md:
        for f in md.files():
            print(f.fname, f.ftype, f.fmode, f.recfm, f.lrecl, f.records)
        records = md.read("PROFILE", "EXEC")      # exact record bytes

CMS files also come from and go to VMFPLC2 and TAPE DUMP tapes, VMARC
archives and host directories, all as :class:`CMSFile` (one model), named
by URIs (``disk:IMAGE@A-B``, ``vmfplc2:TAPE``, ``tapedump:TAPE``,
``vmarc:FILE``, ``dir:PATH``):

    copy("disk:vm.3350@1-10", "vmfplc2:prof.aws", FilePattern("PROF*", "EXEC"))
    src = open_source("vmfplc2:prof.aws")
    for f in src.files(FilePattern("*", "EXEC")):
        print(f.name, f.recfm, f.lrecl, f.date, len(f.records))
    src.close()

Layouts and sources: docs/formats.md "CMS minidisks", "VMARC archives" and
"VMFPLC2 and TAPE DUMP tapes".
"""

from .fileset import CMSFile, FilePattern, FileSource, FileTarget
from .fst import FileStatus
from .minidisk import Minidisk, open_minidisk
from .records import CMSRecords
from .sources import copy, open_source, open_target, register
from .tapes import (
    read_tapedump,
    read_vmfplc2,
    scan_tapedump,
    scan_vmfplc2,
    write_tapedump,
    write_vmfplc2,
)
from .vmarc import VMARCMember, list_vmarc, read_vmarc, write_vmarc

__all__ = [
    "CMSFile",
    "CMSRecords",
    "FilePattern",
    "FileSource",
    "FileStatus",
    "FileTarget",
    "Minidisk",
    "VMARCMember",
    "copy",
    "list_vmarc",
    "open_minidisk",
    "open_source",
    "open_target",
    "read_tapedump",
    "read_vmarc",
    "read_vmfplc2",
    "register",
    "scan_tapedump",
    "scan_vmfplc2",
    "write_tapedump",
    "write_vmarc",
    "write_vmfplc2",
]
