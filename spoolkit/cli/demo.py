"""``spoolkit demo``."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the built-in demonstration on sample data")
    p.add_argument("--keep", metavar="DIR", help="keep the images in DIR")
    p.set_defaults(func=_demo)


def _demo(args: Any) -> int:
    from ..demo import cmd_demo
    from .common import refuse_stdio

    refuse_stdio(args.keep, "--keep DIR (a directory)")
    return cmd_demo(args)
