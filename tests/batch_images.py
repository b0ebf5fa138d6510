"""A directory of small generated images for the batch tests: disks (CKD,
CCKD, FBA, CFBA), tapes (AWS, HET, labelled) and corrupt ones."""

from __future__ import annotations

import os
import random
from pathlib import Path

import spoolkit
from spoolkit.dasd.fba import create_fba
from spoolkit.dasd.sample import fill_volume
from spoolkit.tape import LabelledWriter

#: name -> why it is corrupt (what the batch must report)
CORRUPT = ("trunc.cckd", "junk.aws", "badchunk.aws", "trunc.het", "empty.ckd", "notes.txt")


def _tape(path: Path, seed: int, compress: str | None, labelled: bool) -> None:
    rnd = random.Random(seed)
    with spoolkit.open_tape(path, "w", compress=compress) as t:
        if labelled:
            w = LabelledWriter(t, f"T{seed:05d}")
            for i in range(2):
                w.begin(f"BATCH.DS{i}", recfm="FB", lrecl=80, blksize=800)
                for _ in range(rnd.randint(1, 5)):
                    w.write(bytes(rnd.randrange(256) for _ in range(800)))
            w.close()
        else:
            for _ in range(rnd.randint(2, 8)):
                t.write_block(bytes([rnd.randrange(4)]) * rnd.randint(80, 4000))
            t.tapemark()


def make_images(d: Path, n_each: int = 10) -> dict[str, list[str]]:
    """Images in ``d`` (one subdirectory per kind); returns name lists by kind
    ("ckd", "cckd", "fba", "aws", "het", "corrupt"), names relative to ``d``."""
    out: dict[str, list[str]] = {k: [] for k in ("ckd", "cckd", "fba", "aws", "het",
                                                 "corrupt")}
    for sub in ("disks", "tapes", "bad"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    for i in range(n_each):
        plain = d / "disks" / f"v{i:02d}.3350"
        with spoolkit.create_dasd(plain, "3350", f"VOL{i:03d}", cylinders=2) as img:
            fill_volume(img, seed=i, fraction=0.3)
        out["ckd"].append(f"disks/{plain.name}")
        packed = d / "disks" / f"c{i:02d}.cckd"
        spoolkit.convert(plain, packed, compress="zlib")
        out["cckd"].append(f"disks/{packed.name}")
        if i < n_each // 2:
            fba = d / "disks" / f"f{i:02d}.fba"
            with create_fba(fba, "3370", blocks=600 + 64 * i, volser=f"FBA{i:03d}"):
                pass
            out["fba"].append(f"disks/{fba.name}")
            cfba = d / "disks" / f"f{i:02d}.cfba"
            spoolkit.convert(fba, cfba, compress="zlib")
            out["fba"].append(f"disks/{cfba.name}")
        aws = d / "tapes" / f"t{i:02d}.aws"
        _tape(aws, i, None, labelled=i % 2 == 0)
        out["aws"].append(f"tapes/{aws.name}")
        het = d / "tapes" / f"h{i:02d}.het"
        _tape(het, 100 + i, "zlib", labelled=i % 2 == 1)
        out["het"].append(f"tapes/{het.name}")
    bad = d / "bad"
    good_cckd = (d / out["cckd"][0]).read_bytes()
    (bad / "trunc.cckd").write_bytes(good_cckd[:700])
    (bad / "junk.aws").write_bytes(random.Random(7).randbytes(5000))
    aws = bytearray((d / out["aws"][1]).read_bytes())
    aws[0:2] = (60000).to_bytes(2, "little")    # first chunk runs past the end
    (bad / "badchunk.aws").write_bytes(bytes(aws))
    het = (d / out["het"][0]).read_bytes()
    (bad / "trunc.het").write_bytes(het[: len(het) // 2 + 3])
    (bad / "empty.ckd").write_bytes(b"")
    (bad / "notes.txt").write_text("not an image\n")
    out["corrupt"] = [f"bad/{n}" for n in CORRUPT]
    os.sync()
    return out
