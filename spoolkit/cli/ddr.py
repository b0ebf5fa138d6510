"""``spoolkit dasd dump`` / ``spoolkit dasd restore``: DDR-like whole-volume
copies between a disk image and a tape image (registered by ``cli/dasd.py``)."""

from __future__ import annotations

from typing import Any

from .common import Progress, add_force, add_json, emit, parse_range


def register_ddr(s: Any) -> None:
    """Add the ``dump`` and ``restore`` verbs to the ``dasd`` group's subparsers."""
    q = s.add_parser("dump", help="DDR-like dump of a volume (or cylinders) to a tape image")
    q.add_argument("image", metavar="VOL")
    q.add_argument("tape", metavar="TAPE", help="tape image to create (.aws, .het, .fkt)")
    q.add_argument("--cyl", metavar="A-B", help="cylinder or cylinder range (default: all)")
    q.add_argument("--format", choices=("aws", "het", "faketape"),
                   help="tape format (default: from the name)")
    add_force(q, "an existing TAPE")
    add_json(q)
    q.set_defaults(func=cmd_dump)

    q = s.add_parser("restore", help="restore a DDR-like volume dump from a tape image")
    q.add_argument("tape", metavar="TAPE")
    q.add_argument("image", metavar="VOL", help="volume to restore onto (created if missing, "
                   "from a whole-volume dump)")
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

    with open_dasd(args.image) as dev:
        lo, hi = parse_range(args.cyl, "cylinder range") if args.cyl else (0, dev.cylinders - 1)
    with Progress(hi - lo + 1, "dump", unit=" cyl") as bar:
        info = ddr.dump(args.image, args.tape, (lo, hi), format=args.format,
                        overwrite=args.force, progress=bar.update)
    emit(args, info, _text("dumped to"))
    return 0


def cmd_restore(args: Any) -> int:
    from ..dasd import ddr

    info = ddr.restore(args.tape, args.image)
    emit(args, info, lambda d: "restored %s onto %s: cylinders %d-%d (%d tracks) of %s "
         "volser %s" % (d["tape"], d["target"], d["first_cyl"], d["last_cyl"], d["tracks"],
                        d["model"], d["volser"] or "(none)"))
    return 0
