"""The text of a tape map laid out as ``hetmap`` prints it: the lines of a
file's labels and counts and of the summary (``tape map`` and its views)."""

from __future__ import annotations

from typing import Any


def new_total() -> dict[str, int]:
    return {"files": 0, "blocks": 0, "bytes": 0, "stored": 0}


SEP = "-" * 21


def label_lines(lab: dict[str, Any]) -> list[str]:
    """One label's fields as hetmap prints them."""
    return [f"{k[:20] if k != 'label' else 'Label':<20}: '{v}'" for k, v in lab.items()]


def file_lines(f: dict[str, Any]) -> list[str]:
    out = []
    for lab in f["labels"]:
        out.append(SEP)
        out += label_lines(lab)
    out += [SEP, f"{'File #':<20}: {f['file']}", f"{'Blocks':<20}: {f['blocks']}",
            f"{'Min Blocksize':<20}: {f['min_block']}",
            f"{'Max Blocksize':<20}: {f['max_block']}",
            f"{'Uncompressed bytes':<20}: {f['bytes']}",
            f"{'Min Blocksize-Comp':<20}: {f['min_stored']}",
            f"{'Max Blocksize-Comp':<20}: {f['max_stored']}",
            f"{'Compressed bytes':<20}: {f['stored']}"]
    if f.get("ddr"):
        from ..ddr.detect import describe_lines
        out += describe_lines(f["ddr"])
    return out


def summary_lines(t: dict[str, int]) -> list[str]:
    return [SEP, f"{'Summary':<20}:", f"{'Files':<20}: {t['files']}",
            f"{'Blocks':<20}: {t['blocks']}", f"{'Uncompressed bytes':<20}: {t['bytes']}",
            f"{'Compressed bytes':<20}: {t['stored']}",
            f"{'Reduction':<20}: {t['bytes'] - t['stored']}"]
