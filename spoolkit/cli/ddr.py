"""``spoolkit dasd dump`` / ``spoolkit dasd restore``: volume dumps between a
disk image and tape images, as VM/370 DDR tapes (spoolkit.ddr, the default)
or in spoolkit's own SPKD format (registered by ``cli/dasd.py``)."""

from __future__ import annotations

import argparse
import contextlib
from typing import Any, Optional

from .common import (
    Progress,
    add_force,
    add_json,
    add_progress,
    check_output,
    emit,
    input_path,
    is_stdio,
    output_path,
    parse_range,
    shown,
)


def register_ddr(s: Any) -> None:
    """Add the ``dump`` and ``restore`` verbs to the ``dasd`` group's subparsers."""
    q = s.add_parser("dump", help="dump a volume (or cylinders) to a tape image: a VM DDR "
                     "tape by default")
    q.add_argument("image", metavar="VOL")
    q.add_argument("tape", metavar="TAPE", help="tape image to create (.aws, .het, .fkt); "
                   "further reels get .2, .3 ... before the suffix")
    q.add_argument("--cyl", metavar="A-B", action="append",
                   help="cylinder or cylinder range (default: all); DDR: may be repeated, "
                   "ascending")
    q.add_argument("--format", choices=DUMP_FORMATS + LEGACY_TAPE_FORMATS, default=None,
                   help="ddr (VM/370 DASD Dump Restore, the default) or spoolkit (SPKD); "
                   "aws/het/faketape are taken as --tape-format")
    q.add_argument("--tape-format", choices=("aws", "het", "fkt"),
                   help="tape image format (default: from the name)")
    q.add_argument("--reel-size", metavar="SIZE", type=parse_size,
                   help="DDR: end a reel with EOV at SIZE bytes (K, M, G) and go on on the "
                   "next tape image")
    add_force(q, "an existing TAPE")
    add_progress(q)
    add_json(q)
    q.set_defaults(func=cmd_dump)

    q = s.add_parser("restore", help="restore a volume from a DDR or SPKD dump on a tape image")
    q.add_argument("tape", metavar="TAPE", nargs="+",
                   help="tape image; DDR: the reels in order (default: the first, the next "
                   "ones found by name)")
    q.add_argument("image", metavar="VOL", help="volume to restore onto (created if missing, "
                   "from a whole-volume dump; '-': a new volume on stdout)")
    q.add_argument("--cyl", metavar="A-B", help="DDR: restore only these cylinders of the dump")
    q.add_argument("--reorder", metavar="C", type=int,
                   help="DDR: put the restored cylinders from cylinder C on")
    q.add_argument("--device", metavar="MODEL",
                   help="DDR: device model of a new volume when the dump does not tell")
    add_progress(q)
    add_json(q)
    q.set_defaults(func=cmd_restore)


DUMP_FORMATS = ("ddr", "spoolkit")
LEGACY_TAPE_FORMATS = ("aws", "het", "faketape")
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """``"700M"`` -> bytes (K, M, G are powers of 1024)."""
    t = text.strip().upper().removesuffix("B")
    unit = t[-1:] if t[-1:] in "KMG" else ""
    try:
        n = int(t[:len(t) - len(unit)]) * _UNITS[unit]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (N, NK, NM, NG)") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be more than 0")
    return n


def _text(verb: str) -> Any:
    def text(d: dict[str, Any]) -> str:
        return ("%s %s cylinders %d-%d (%d tracks, %d bytes) of %s volser %s"
                % (verb, d["tape"], d["first_cyl"], d["last_cyl"], d["tracks"], d["bytes"],
                   d["model"], d["volser"] or "(none)"))
    return text


def cmd_dump(args: Any) -> int:
    fmt = args.format if args.format in DUMP_FORMATS else "ddr"
    tape_format = args.tape_format or (args.format if args.format in LEGACY_TAPE_FORMATS
                                       else None)
    if fmt == "ddr":
        return _dump_ddr(args, tape_format)
    if args.reel_size is not None:
        raise ValueError("--reel-size needs --format ddr")
    if args.cyl and len(args.cyl) > 1:
        raise ValueError("a spoolkit (SPKD) dump holds one cylinder range: give --cyl once")
    return _dump_spkd(args, tape_format, args.cyl[0] if args.cyl else None)


def _dump_ddr(args: Any, tape_format: Optional[str]) -> int:
    from .. import ddr
    from ..dasd import open_dasd

    if args.reel_size is not None and is_stdio(args.tape):
        raise ValueError("--reel-size writes several tape images: name a file for TAPE")
    check_output(args.tape, overwrite=args.force, what="TAPE")
    with input_path(args.image, "VOL") as image, output_path(args.tape, "TAPE") as tape:
        with open_dasd(image) as dev:
            ranges = [parse_range(c, "cylinder range") for c in args.cyl] if args.cyl \
                else [(0, dev.cylinders - 1)]
        total = sum(b - a + 1 for a, b in ranges)
        with Progress.for_args(args, total, "dump", unit=" cyl") as bar:
            info = ddr.dump(image, tape, ranges, format=tape_format, overwrite=args.force,
                            reel_size=args.reel_size, progress=bar.update)
    info.update(volume=shown(args.image), tape=shown(args.tape, output=True))
    if is_stdio(args.tape):
        info["reels"] = [shown(args.tape, output=True)]
    emit(args, info, _ddr_text, message=True)
    return 0


def _ddr_text(d: dict[str, Any]) -> str:
    ext = ", ".join("%d-%d" % (e["first_cyl"], e["last_cyl"]) for e in d["extents"])
    reels = d["reels"]
    more = f" ({len(reels)} reels: {', '.join(reels)})" if len(reels) > 1 else ""
    return (f"dumped to {d['tape']}{more} as a DDR tape: cylinders {ext} ({d['tracks']} tracks,"
            f" {d['bytes']} bytes) of {d['model']} volser {d['volser'] or '(none)'}")


def _dump_spkd(args: Any, tape_format: Optional[str], cyl: Optional[str]) -> int:
    from ..dasd import ddr, open_dasd

    check_output(args.tape, overwrite=args.force, what="TAPE")
    with input_path(args.image, "VOL") as image, output_path(args.tape, "TAPE") as tape:
        with open_dasd(image) as dev:
            lo, hi = parse_range(cyl, "cylinder range") if cyl else (0, dev.cylinders - 1)
        with Progress.for_args(args, hi - lo + 1, "dump", unit=" cyl") as bar:
            info = ddr.dump(image, tape, (lo, hi), format=_spkd_format(tape_format),
                            overwrite=args.force, progress=bar.update)
    info.update(volume=shown(args.image), tape=shown(args.tape, output=True))
    emit(args, info, _text("dumped to"), message=True)
    return 0


def _spkd_format(tape_format: Optional[str]) -> Optional[str]:
    return "faketape" if tape_format == "fkt" else tape_format


def cmd_restore(args: Any) -> int:
    from ..ddr import tape_dump_kind

    if is_stdio(args.image):
        check_output(args.image, what="VOL")
    with contextlib.ExitStack() as stack:
        tapes = [stack.enter_context(input_path(t, "TAPE")) for t in args.tape]
        if tape_dump_kind(tapes[0]) == "ddr":
            return _restore_ddr(args, tapes)
        if len(tapes) > 1:
            raise ValueError("a spoolkit (SPKD) dump is on one tape image: give one TAPE")
        for opt in ("cyl", "reorder", "device"):
            if getattr(args, opt) is not None:
                raise ValueError(f"--{opt} restores from a DDR tape; {shown(args.tape[0])} "
                                 "holds a spoolkit (SPKD) dump")
        return _restore_spkd(args, tapes[0])


def _restore_ddr(args: Any, tapes: list[str]) -> int:
    from .. import ddr

    cyl = parse_range(args.cyl, "cylinder range") if args.cyl else None
    with output_path(args.image, "VOL") as image:
        total = _ddr_cylinders(tapes[0], cyl)
        with Progress.for_args(args, total, "restore", unit=" cyl") as bar:
            info = ddr.restore(tapes, image, cyl=cyl, reorder=args.reorder,
                               device=args.device, progress=bar.update)
    info.update(tape=shown(args.tape[0]), target=shown(args.image, output=True))
    emit(args, info, lambda d: "restored %s onto %s from a DDR tape: cylinders %s-%s (%s "
         "tracks) of %s volser %s" % (d["tape"], d["target"], d["first_cyl"], d["last_cyl"],
                                      d["tracks"], d["model"], d["volser"] or "(none)"),
         message=True)
    return 0


def _ddr_cylinders(tape: str, cyl: Optional[tuple[int, int]]) -> int:
    """Cylinders a DDR restore goes over, from the VHR (0 when it does not read)."""
    from ..ddr import Dump
    from ..errors import SpoolkitError

    if cyl:
        return cyl[1] - cyl[0] + 1
    try:
        return Dump([tape]).header.cylinders
    except (SpoolkitError, OSError):
        return 0


def _restore_spkd(args: Any, tape: str) -> int:
    from ..dasd import ddr

    with output_path(args.image, "VOL") as image:
        with Progress.for_args(args, _dump_cylinders(tape), "restore", unit=" cyl") as bar:
            info = ddr.restore(tape, image, progress=bar.update)
    info.update(tape=shown(args.tape[0]), target=shown(args.image, output=True))
    emit(args, info, lambda d: "restored %s onto %s: cylinders %s-%s (%s tracks) of %s "
         "volser %s" % (d["tape"], d["target"], d["first_cyl"], d["last_cyl"], d["tracks"],
                        d["model"], d["volser"] or "(none)"), message=True)
    return 0


def _dump_cylinders(tape: str) -> int:
    """The cylinders of the first dump on the tape, from its header (0 when
    it does not read: the restore reports why)."""
    from ..dasd import ddr
    from ..errors import SpoolkitError
    from ..tape import open_tape

    try:
        with open_tape(tape) as t:
            hdr = ddr.read_header(t, tape)
    except (SpoolkitError, OSError):
        return 0
    return int(hdr.last_cyl - hdr.first_cyl + 1)
