"""``spoolkit dasd dump`` / ``spoolkit dasd restore``: DDR-like whole-volume
copies between a disk image and a tape image (registered by ``cli/dasd.py``)."""

from __future__ import annotations

from typing import Any

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
    q = s.add_parser("dump", help="DDR-like dump of a volume (or cylinders) to a tape image")
    q.add_argument("image", metavar="VOL")
    q.add_argument("tape", metavar="TAPE", help="tape image to create (.aws, .het, .fkt)")
    q.add_argument("--cyl", metavar="A-B", help="cylinder or cylinder range (default: all)")
    q.add_argument("--format", choices=("aws", "het", "faketape"),
                   help="tape format (default: from the name)")
    add_force(q, "an existing TAPE")
    add_progress(q)
    add_json(q)
    q.set_defaults(func=cmd_dump)

    q = s.add_parser("restore", help="restore a DDR-like volume dump from a tape image")
    q.add_argument("tape", metavar="TAPE")
    q.add_argument("image", metavar="VOL", help="volume to restore onto (created if missing, "
                   "from a whole-volume dump; '-': a new volume on stdout)")
    add_progress(q)
    add_json(q)
    q.set_defaults(func=cmd_restore)


def _text(verb: str) -> Any:
    def text(d: dict[str, Any]) -> str:
        return ("%s %s cylinders %d-%d (%d tracks, %d bytes) of %s volser %s"
                % (verb, d["tape"], d["first_cyl"], d["last_cyl"], d["tracks"], d["bytes"],
                   d["model"], d["volser"] or "(none)"))
    return text


def cmd_dump(args: Any) -> int:
    from ..dasd import ddr, open_dasd

    check_output(args.tape, overwrite=args.force, what="TAPE")
    with input_path(args.image, "VOL") as image, output_path(args.tape, "TAPE") as tape:
        with open_dasd(image) as dev:
            lo, hi = parse_range(args.cyl, "cylinder range") if args.cyl \
                else (0, dev.cylinders - 1)
        with Progress.for_args(args, hi - lo + 1, "dump", unit=" cyl") as bar:
            info = ddr.dump(image, tape, (lo, hi), format=args.format,
                            overwrite=args.force, progress=bar.update)
    info.update(volume=shown(args.image), tape=shown(args.tape, output=True))
    emit(args, info, _text("dumped to"), message=True)
    return 0


def cmd_restore(args: Any) -> int:
    from ..dasd import ddr

    if is_stdio(args.image):
        check_output(args.image, what="VOL")
    with input_path(args.tape, "TAPE") as tape, output_path(args.image, "VOL") as image:
        with Progress.for_args(args, _dump_cylinders(tape), "restore", unit=" cyl") as bar:
            info = ddr.restore(tape, image, progress=bar.update)
    info.update(tape=shown(args.tape), target=shown(args.image, output=True))
    emit(args, info, lambda d: "restored %s onto %s: cylinders %d-%d (%d tracks) of %s "
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
