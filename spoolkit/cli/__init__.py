"""The ``spoolkit`` command: Hercules-like verbs grouped by device kind.

Each group lives in its own module with a ``register(subparsers)`` function.
User errors print one line naming the file and place and exit with status 2;
no tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from typing import Optional

from .._version import __version__
from ..errors import SpoolkitError

#: command groups, each a module of this package with register(subparsers)
GROUPS = ["dasd", "tape", "spool", "backup", "overlay", "demo"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spoolkit",
        description="Mainframe device images: CKD/CCKD/FBA disks, AWS/HET tapes, z/VM spool.")
    parser.add_argument("--version", action="version", version=f"spoolkit {__version__}")
    sub = parser.add_subparsers(dest="group", metavar="COMMAND")
    sub.required = True
    for name in GROUPS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # warnings such as logged overrides of protected extents go to stderr
    logging.basicConfig(format="spoolkit: %(message)s", level=logging.WARNING)
    try:
        rc = args.func(args)
    except SpoolkitError as exc:
        print(f"spoolkit: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        name = getattr(exc, "filename", None)
        msg = f"{name}: {exc.strerror}" if name and getattr(exc, "strerror", None) else str(exc)
        print(f"spoolkit: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("spoolkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # pragma: no cover - e.g. piped into head
        return 0
    return int(rc or 0)
