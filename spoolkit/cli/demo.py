"""``spoolkit demo``."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    from ..demo import cmd_demo

    p = sub.add_parser("demo", help="run the built-in demonstration on sample data")
    p.add_argument("--keep", metavar="DIR", help="keep the images in DIR")
    p.set_defaults(func=cmd_demo)
