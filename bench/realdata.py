"""Volumes and tapes of real content for the benchmarks: the tracks and
blocks of the real images in ``../shared/fixtures`` (VM/370 CE volumes, CMS
minidisks, an MVS 3.8j SMP tape), repeated to the size asked for.

- :func:`real_tracks`: the records of every track of the fixture volumes
  that holds data other than zeros (about 165 tracks, 2.5 MB).
- :func:`real_blocks`: the data blocks of ``j90009.het`` (34 blocks, 157 KB),
  with where its tapemarks were.
- :func:`real_volume`: a plain 3390 (model and cylinders as asked) whose
  tracks from cylinder 1 on each hold the records of one real track, in
  turn; cylinder 0 keeps what ``create_dasd`` writes (IPL records, VOL1).
- :func:`real_tape`: an AWS tape of those blocks, repeated to ``size`` bytes.

Built files are kept in the bench directory (named by what they hold).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent

#: the fixture volumes whose tracks are used, and the tape whose blocks are
VOLUMES = ("vm50u1.cckd", "vm14-3.cckd", "cms/cmsuser_191.cckd", "cms/gcccms_201.cckd")
TAPE = "j90009.het"

Records = list[tuple[int, Optional[bytes], bytes]]


def fixtures() -> Path:
    """The real images: $SPOOLKIT_FIXTURES, ../shared/fixtures, /work/shared/fixtures."""
    env = os.environ.get("SPOOLKIT_FIXTURES")
    for cand in ([Path(env)] if env else []) + [ROOT.parent / "shared" / "fixtures",
                                                  Path("/work/shared/fixtures")]:
        if (cand / TAPE).is_file():
            return cand
    raise FileNotFoundError("the real fixture images (../shared/fixtures) are not here")


def real_tracks() -> list[Records]:
    """(record number, key or None, data) of each record past R0 of every
    fixture track whose data is not all zeros, volume after volume."""
    from spoolkit import open_dasd

    out: list[Records] = []
    for name in VOLUMES:
        with open_dasd(fixtures() / name) as dev:
            for trk in dev.tracks():
                recs = [(r.r, bytes(r.key) or None, bytes(r.data))
                        for r in trk.records if r.r != 0]
                if any(d.strip(b"\0") for _, _, d in recs):
                    out.append(recs)
    return out


def real_track_images() -> list[bytes]:
    """The real tracks as track images (HA through EOT) on a 3390, at
    cylinder 1 head 0 (only the addresses differ from track to track)."""
    from spoolkit import Track

    return [bytes(Track.from_records(1, 0, recs).image) for recs in real_tracks()]


def real_blocks() -> list[Optional[bytes]]:
    """The blocks of the fixture tape in order, None where it has a tapemark."""
    from spoolkit import open_tape

    with open_tape(fixtures() / TAPE) as tape:
        return [None if b.is_tapemark else bytes(b.data) for b in tape]


def real_volume(directory: Path, model: str = "3390-3",
                cylinders: Optional[int] = None) -> Path:
    """A plain CKD volume (one file) of real tracks; built once."""
    from spoolkit import Track, create_dasd

    tag = f"{model}-{cylinders}" if cylinders else model
    path = directory / f"real-{tag}.3390"
    if path.exists():
        return path
    tracks = real_tracks()
    tmp = directory / f"real-{tag}.tmp.3390"
    with create_dasd(tmp, model, "REAL01", cylinders=cylinders, lfs=True,
                     overwrite=True) as dev:
        for i, trk in enumerate(range(dev.heads, dev.total_tracks)):
            cyl, head = divmod(trk, dev.heads)
            dev.write_track(cyl, head, Track.from_records(cyl, head, tracks[i % len(tracks)]))
    os.replace(tmp, path)
    return path


def _repeat(blocks: list[Optional[bytes]], size: int) -> Iterator[Optional[bytes]]:
    total = 0
    while True:
        for b in blocks:
            if b is not None:
                total += len(b) + 6
            yield b
            if total >= size:
                return


def real_tape(directory: Path, size: int) -> Path:
    """An AWS tape of the real blocks (and tapemarks) repeated to about
    ``size`` bytes, ending with two tapemarks; built once."""
    from spoolkit import open_tape

    path = directory / f"real-{size >> 20}m.aws"
    if path.exists():
        return path
    tmp = directory / f"real-{size >> 20}m.tmp.aws"
    with open_tape(tmp, "w", overwrite=True) as tape:
        tape.write_blocks(_repeat(real_blocks(), size))
        tape.tapemark()
        tape.tapemark()
    os.replace(tmp, path)
    return path


__all__ = ["fixtures", "real_tracks", "real_track_images", "real_blocks", "real_volume",
           "real_tape"]
