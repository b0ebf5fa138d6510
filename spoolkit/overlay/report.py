"""The map as a DIRMAP-like listing, as JSON, and as one SVG picture per volume."""

from __future__ import annotations

import heapq
import os
import re
from xml.sax.saxutils import escape as _escape

from ..jsonvalue import JSONDict
from ..output import atomic_outputs
from .extents import Extent
from .map import OverlayMap, VolumeMap

#: fill colour per extent kind (CP areas by area name)
COLOURS = {"full-pack": "#d9d9d9", "locked-out": "#f4a259", "minidisk": "#8ecae6",
           "cp": "#e63946", "PERM": "#90be6d", "gap": "#ffffff"}


#: characters XML 1.0 cannot hold (a directory read as Latin-1 may contain any byte)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: longest SVG file name stem (a volser is six characters; an image's name may be long)
_NAME_MAX = 64


def escape(text: str) -> str:
    """Text for an SVG element: XML-escaped, characters XML cannot hold as '?'."""
    return _escape(_NOT_XML.sub("?", text))


def _line(e: Extent) -> str:
    kind = e.kind if e.area is None else f"{e.kind} {e.area}"
    src = f"line {e.line}" if e.line else e.source
    end, size = ("END", "?") if e.to_end else (e.end, e.size)
    return (f"  {e.owner:<8} {e.vaddr:<5} {e.start:>10} {end:>10} {size:>10}  "
            f"{kind:<18} {src}")


def volume_text(v: VolumeMap) -> str:
    size = f"{v.size} {v.unit}s" if v.size is not None else "size unknown"
    head = (f"VOLUME {v.volser}  {size}" + ("  CP-owned" if v.cp_owned else "")
            + f"  {len(v.extents)} extents, {len(v.gaps)} gaps, "
            f"{v.unintended_count} unintended overlaps")
    rows = [head, f"  {'OWNER':<8} {'ADDR':<5} {'START':>10} {'END':>10} {'SIZE':>10}  KIND"]
    # extents and gaps in address order
    items: list[tuple[int, int, str]] = [(e.start, 0, _line(e)) for e in v.extents]
    items += [(a, 1, f"  {'GAP':<8} {'':<5} {a:>10} {b:>10} {b - a + 1:>10}")
              for a, b in v.gaps]
    rows += [t for _, _, t in sorted(items, key=lambda x: (x[0], x[1]))]
    full = sum(o.classification == "full-pack" for o in v.overlaps)
    if full:
        # every extent overlaps a full pack; one line says so (JSON lists each)
        rows.append(f"  OVERLAP   full-pack  {full} extents inside full-pack minidisks (intended)")
    for o in v.overlaps:
        if o.classification == "full-pack":
            continue
        flag = "OVERLAP " if o.intended else "*OVERLAP*"
        rows.append(f"  {flag} {o.classification:<10} {o.describe()}")
    if v.omitted:
        rows.append(f"  *OVERLAP* {v.omitted} more overlapping pairs not listed "
                    f"({v.omitted_unintended} of them unintended)")
    return "\n".join(rows)


def text_report(m: OverlayMap, *, intended: bool = True) -> str:
    """A DIRMAP-style listing of every volume, then the findings and a summary."""
    parts = []
    for v in m.volumes.values():
        if not intended:
            v = VolumeMap(v.volser, v.size, v.unit, v.cp_owned, v.extents, v.gaps,
                          v.unintended, v.size_source, v.omitted_unintended,
                          v.omitted_unintended)
        parts.append(volume_text(v))
    if m.virtual:
        parts.append("VIRTUAL DISKS (no real extent)\n" + "\n".join(
            f"  {d.owner:<8} {d.vaddr:<5} {d.kind:<6} {d.size} {d.unit}s  line {d.line}"
            for d in m.virtual))
    if m.findings:
        parts.append("FINDINGS\n" + "\n".join(f"  {f}" for f in m.findings))
    total = len(m.overlaps) + sum(v.omitted for v in m.volumes.values())
    parts.append(f"{len(m.volumes)} volumes, {sum(len(v.extents) for v in m.volumes.values())} "
                 f"extents, {total} overlaps, {m.unintended_count} unintended, "
                 f"{len(m.findings)} findings")
    return "\n\n".join(parts)


def json_report(m: OverlayMap) -> JSONDict:
    return {
        "ok": m.ok,
        "volumes": [{"volser": v.volser, "size": v.size, "unit": v.unit,
                     "size_source": v.size_source, "cp_owned": v.cp_owned,
                     "extents": [e.to_dict() for e in v.extents],
                     "gaps": [{"start": a, "end": b, "size": b - a + 1} for a, b in v.gaps],
                     "overlaps": [o.to_dict() for o in v.overlaps],
                     "omitted_overlaps": v.omitted,
                     "omitted_unintended": v.omitted_unintended}
                    for v in m.volumes.values()],
        "virtual": [d.to_dict() for d in m.virtual],
        "findings": [f.to_dict() for f in m.findings],
        "unintended": m.unintended_count,
    }


def volume_svg(v: VolumeMap, width: int = 900) -> str:
    """One horizontal bar per volume: full-pack and CP/locked-out areas on the
    top lane, minidisks below (overlapping minidisks on extra lanes), red
    outline on unintended overlaps."""
    total = v.size or max((e.end + 1 for e in v.extents), default=1)
    scale = (width - 20) / max(total, 1)
    # a minidisk goes on the lowest lane free at its start (extents come sorted by start)
    busy: list[tuple[int, int]] = []   # heap of (end, lane)
    free: list[int] = []               # heap of lanes
    nlanes = 0
    rects = []
    for e in v.extents:
        if e.kind == "minidisk":
            while busy and busy[0][0] < e.start:
                heapq.heappush(free, heapq.heappop(busy)[1])
            if free:
                lane = heapq.heappop(free)
            else:
                lane, nlanes = nlanes, nlanes + 1
            heapq.heappush(busy, (e.end, lane))
            y = 50 + 22 * lane
        else:
            y = 22 if e.kind != "full-pack" else 4
        colour = COLOURS["PERM"] if e.area == "PERM" else COLOURS[e.kind]
        x = 10 + e.start * scale
        w = max(e.size * scale, 1.0)
        title = escape(f"{e.owner} {e.vaddr} {e.kind} {e.area or ''} {e.start}-{e.end}")
        rects.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="16" '
                     f'fill="{colour}" stroke="#333" stroke-width="0.5"><title>{title}'
                     f'</title></rect>')
    for o in v.unintended:
        x = 10 + o.start * scale
        w = max((o.end - o.start + 1) * scale, 1.0)
        rects.append(f'<rect x="{x:.2f}" y="2" width="{w:.2f}" height="{44 + 22 * nlanes}" '
                     f'fill="none" stroke="#d00000" stroke-width="2"><title>'
                     f'{escape(o.describe())}</title></rect>')
    height = 70 + 22 * max(nlanes, 1)
    text = 'font-family="monospace" font-size="11"'
    legend = [f'<text x="10" y="{height - 6}" {text}>{escape(v.volser)} '
              f'0-{total - 1} {v.unit}s</text>']
    for i, k in enumerate(("full-pack", "cp", "PERM", "locked-out", "minidisk")):
        x = 260 + i * 110
        legend.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" '
                      f'fill="{COLOURS[k]}" stroke="#333" stroke-width="0.5"/>'
                      f'<text x="{x + 14}" y="{height - 6}" {text}>{k}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}">\n'
            f'<title>{escape(v.volser)}: {total} {v.unit}s</title>\n'
            + "\n".join(rects + legend) + "\n</svg>\n")


def svg_names(volsers: list[str]) -> list[str]:
    """A distinct file name per volume: the volser with characters other than
    letters, digits, '-' and '_' as '_', cut to 64 characters, and '-2',
    '-3' ... added where two volsers give the same name."""
    out: list[str] = []
    taken: set[str] = set()
    for volser in volsers:
        stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in volser)[:_NAME_MAX]
        stem = stem or "_"
        name, n = stem, 1
        while name.lower() in taken:      # case-insensitive file systems too
            n += 1
            name = f"{stem}-{n}"
        taken.add(name.lower())
        out.append(f"{name}.svg")
    return out


def write_svgs(m: OverlayMap, directory: str, *, overwrite: bool = False) -> list[str]:
    """One ``<volser>.svg`` per volume in ``directory`` (named by
    :func:`svg_names`, never two volumes in one file); returns the paths.
    All or nothing: an existing file is refused unless ``overwrite``."""
    os.makedirs(directory, exist_ok=True)
    paths = [os.path.join(directory, name) for name in svg_names(list(m.volumes))]
    with atomic_outputs(paths, overwrite=overwrite) as tmps:
        for v, tmp in zip(m.volumes.values(), tmps):
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(volume_svg(v))
    return paths
