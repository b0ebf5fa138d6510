"""The ``tape map`` views other than ``-a``: ``hetmap``'s ``-f`` (files),
``-l`` (labels), ``-d`` (data sets from the trailer labels) and ``-t``
(TAPEMAP style), as text laid out like ``hetmap``'s or as JSON.

Dates in ``-d`` are ``yyyy.ddd`` from the label's century digit (hetmap
3.13 prints a wrong century when the day ends in 0).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional, TextIO

from ..tape import open_tape
from ..tape.image import refuse_non_tape
from ..tape.views import (
    MapFile,
    TrailerDataset,
    VolumeInfo,
    iter_files,
    julian,
    trailer_datasets,
)
from .maptext import SEP, file_lines, label_lines, new_total, summary_lines

#: view name -> hetmap option
VIEWS = {"all": "-a", "datasets": "-d", "files": "-f", "labels": "-l", "tapemap": "-t"}


def _header(path: str) -> list[str]:
    return [SEP, f"{'Filename':<20}: {path}"]


def _files(path: str, files: list[MapFile], as_json: bool) -> Any:
    total = new_total()
    rows = []
    for f in files:
        d = f.stat.to_dict()
        total["files"] += 1
        for k in ("blocks", "bytes", "stored"):
            total[k] += d[k]
        rows.append(d)
    if as_json:
        return {"path": path, "files": rows, "total": total}
    out = _header(path)
    for d in rows:
        out += file_lines({**d, "labels": []})
    return out + summary_lines(total)


def _labels(path: str, files: list[MapFile], as_json: bool) -> Any:
    if as_json:
        return {"path": path, "labels": [{"file": f.number, **lab.to_dict()}
                                          for f in files for lab in f.labels]}
    out = _header(path)
    for f in files:
        for lab in f.labels:
            out += [SEP] + label_lines(lab.to_dict())
    return out


def _dataset_lines(item: VolumeInfo | TrailerDataset) -> list[str]:
    if isinstance(item, VolumeInfo):
        return [f"vol={item.volser:<17.17}  owner={item.owner}", ""]
    out = [f"seq={item.seq:<17}  file#={item.file}",
           f"dsn={item.dsn:<17.17}  crtdt={julian(item.created_text):<8.8}  "
           f"expdt={julian(item.expires_text):<8.8}  blocks={item.blocks}"]
    if item.has_eof2:
        out += [f"job={item.job:>17.17}  recfm={item.recfm:<3.3}       "
                f"lrecl={item.lrecl:<5}     blksize={item.blksize:<5}", ""]
    return out


def _datasets(path: str, files: list[MapFile], as_json: bool) -> Any:
    items = list(trailer_datasets(files))
    if as_json:
        return {"path": path,
                "volumes": [i.to_dict() for i in items if isinstance(i, VolumeInfo)],
                "datasets": [i.to_dict() for i in items if isinstance(i, TrailerDataset)]}
    return [line for i in items for line in _dataset_lines(i)]


def _tapemap(path: str, files: list[MapFile], as_json: bool) -> Any:
    if as_json:
        return {"path": path, "files": [
            {"file": f.number, "blocks": f.stat.blocks, "min_block": f.stat.min_block,
             "max_block": f.stat.max_block, "labels": [lab.text for lab in f.labels]}
            for f in files]}
    out = []
    for f in files:
        out += [lab.text for lab in f.labels]
        out.append(f"File {f.number}: Blocks={f.stat.blocks}, block size "
                   f"min={f.stat.min_block}, max={f.stat.max_block}")
    return out + ["End of tape."]


_RENDER: dict[str, Callable[[str, list[MapFile], bool], Any]] = {
    "files": _files, "labels": _labels, "datasets": _datasets, "tapemap": _tapemap}


def print_view(path: str, view: str, as_json: bool, out: TextIO,
               name: Optional[str] = None) -> None:
    """Print one ``hetmap`` view (``files``, ``labels``, ``datasets``,
    ``tapemap``) of the tape at ``path``; ``name``: how the view names the
    tape (default ``path``)."""
    refuse_non_tape(path)
    with open_tape(path) as t:
        files = list(iter_files(t))
    result = _RENDER[view](path if name is None else name, files, as_json)
    if as_json:
        json.dump(result, out, indent=2)
        out.write("\n")
    elif result:
        out.write("\n".join(result) + "\n")
