"""``spoolkit dasd info``: apart from the other disk verbs so that the
command's fast path (:mod:`spoolkit.cli.fastargs`) loads neither argparse
nor their modules."""

from __future__ import annotations

import os

from ..dasd import open_dasd
from .common import emit, input_path, shown, table

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _image_name(path: str, files: list[str]) -> str:
    """A volume as a listing names it: a split set by its files' range."""
    return path if len(files) < 2 else f"{files[0]}..{os.path.basename(files[-1])}"


def _info_text(rows: list[dict[str, Any]]) -> str:
    return table([(_image_name(r["path"], r.get("files", [])), r["format"], r["model"],
                   r["cylinders"], r["heads"], r["track_size"], r["volser"] or "")
                  for r in rows],
                 ["IMAGE", "FORMAT", "MODEL", "CYLS", "HEADS", "TRKSIZE", "VOLSER"])


def cmd_info(args: Any) -> int:
    rows = []
    for path in args.images:
        with input_path(path) as name, open_dasd(name) as dev:
            rows.append({**dev.info(), "path": shown(path)})
    emit(args, rows if len(rows) > 1 else rows[0], lambda d: _info_text(rows))
    return 0
