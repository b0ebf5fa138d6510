"""``spoolkit overlay``: DIRMAP-style maps of minidisks and CP-owned areas."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    from .common import add_force, add_json

    g = sub.add_parser("overlay", help="minidisk overlay maps and protection")
    gs = g.add_subparsers(dest="verb", metavar="VERB")
    gs.required = True
    p = gs.add_parser("map", help="map minidisks, CP areas, gaps and overlaps per volume; "
                      "exit 1 when an unintended overlap exists")
    p.add_argument("--directory", required=True, metavar="FILE",
                   help="USER DIRECT source ('-': stdin)")
    p.add_argument("--volume", action="append", default=[], metavar="IMG",
                   help="volume image (size, volser and CP allocation map); repeatable")
    p.add_argument("--system-config", metavar="FILE", help="SYSTEM CONFIG file ('-': stdin)")
    p.add_argument("--svg", metavar="DIR", help="write one <volser>.svg per volume into DIR")
    p.add_argument("--problems", action="store_true",
                   help="list only unintended overlaps in the text listing")
    add_force(p, "existing SVG files")
    add_json(p)
    p.set_defaults(func=cmd_map)


def cmd_map(args: Any) -> int:
    import os

    from ..errors import NotFoundError
    from ..overlay import build_map, parse_directory, parse_system_config, volume_info
    from ..overlay.report import json_report, text_report, write_svgs
    from .common import emit, input_path, is_stdio, note, refuse_stdio, shown, text_source
    refuse_stdio(args.svg, "--svg DIR (a directory)")
    for f in [args.directory, args.system_config]:
        if f is not None and not is_stdio(f) and not os.path.isfile(f):
            raise NotFoundError(f"no such file: {f}", path=f)
    directory = parse_directory(text_source(args.directory, "--directory"))
    cfg = parse_system_config(text_source(args.system_config, "--system-config")) \
        if args.system_config else None
    infos = []
    for v in args.volume:
        with input_path(v, "--volume") as image:
            info = volume_info(image)
        if is_stdio(v):
            info.path = shown(v)
        infos.append(info)
    m = build_map(directory, cfg, infos)
    if args.svg:
        for path in write_svgs(m, args.svg, overwrite=args.force):
            note(args, f"wrote {path}")
    emit(args, json_report(m), lambda _: text_report(m, intended=not args.problems))
    return 0 if m.ok else 1
