"""VM/370 DDR (DASD Dump Restore) tapes: dump CKD volumes to them and
restore volumes from them, in the layout DMKDDR writes (docs/formats.md
"DDR tapes"), on AWS, HET and FakeTape images.

* :mod:`.records` — the VHR / EOV / EOJ header records
* :mod:`.blocks` — a track image <-> its THR buffer and 4096-byte blocks (C)
* :mod:`.devices` — device types as DDR headers name them
* :mod:`.reader` — reels and dumps read back, with DMKDDR's order checks
* :mod:`.dump`, :mod:`.restore` — the two directions
* :mod:`.detect` — telling a DDR tape, and ``tape map``'s description
"""

from .blocks import TrackHeader, cut, encode_track
from .detect import describe_file, dump_kind, tape_dump_kind
from .dump import dump
from .reader import COMPACT_HINT, Dump, Reel, Summary, reel_name
from .records import VolumeHeader, tod_from_unix, unix_from_tod
from .restore import restore

__all__ = ["VolumeHeader", "TrackHeader", "encode_track", "cut", "dump", "restore", "Dump",
           "Reel", "Summary", "reel_name", "describe_file", "dump_kind", "tape_dump_kind",
           "tod_from_unix", "unix_from_tod", "COMPACT_HINT"]
