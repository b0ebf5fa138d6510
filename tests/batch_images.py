"""A directory of small generated images for the batch tests: disks (CKD,
CCKD, FBA, CFBA), tapes (AWS, HET, labelled) and corrupt ones."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
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


#: dasdload's control file of the OS volume of make_fact_images: three data sets
OS_CONTROL = """\
OSVOL2 3390 10
sys1.text.data   text  t.txt   trk 2 1 0 ps fb 80 800 0
my.seq.file      seq   seq.bin trk 3 0 0 ps f 800 800 0
sys1.emptypds    empty cyl 1 0 5 po fb 80 3120 0
"""

#: the minidisks make_fact_images formats on cms.3350: (first, last, label, format, block size)
CMS_DISKS = ((1, 4, "CMS191", "vm370", 800), (5, 9, "EDF192", "edf", 1024))
#: cylinders of the split set and how many go in each of its files
SPLIT_CYLS, SPLIT_PER_FILE = 10, 4


def split_track(cyl: int) -> bytes:
    return bytes([cyl]) * 3000


def make_fact_images(d: Path) -> dict[str, object]:
    """Images whose inventory has more to say, in ``d``: a 3350 with two CMS
    minidisks (VM/370 and EDF), an OS volume with data sets (Hercules'
    dasdload, when installed) and a split set of three plain 3350 files.
    Returns their names relative to ``d``."""
    from unittest import mock

    from spoolkit.cms.format import format_minidisk
    from spoolkit.dasd import ckd
    from spoolkit.geometry import lookup_ckd

    d.mkdir(parents=True, exist_ok=True)
    out: dict[str, object] = {}
    with spoolkit.create_dasd(d / "cms.3350", "3350", "CMSVOL", cylinders=10) as dev:
        for first, last, label, fmt, bs in CMS_DISKS:
            format_minidisk(dev, first, last, label, edf=fmt == "edf",
                            blocksize=bs if fmt == "edf" else None)
    out["cms"] = "cms.3350"
    if shutil.which("dasdload"):
        work = d.parent / (d.name + "-dasdload")
        work.mkdir(exist_ok=True)
        (work / "t.txt").write_text("hello world\nline two\n")
        (work / "seq.bin").write_bytes(bytes(range(256)) * 30)
        (work / "vol.ctl").write_text(OS_CONTROL)
        subprocess.run(["dasdload", "-z", "vol.ctl", str(d / "os.cckd"), "0"], cwd=work,
                       check=True, capture_output=True)
        out["os"] = "os.cckd"
    dev3350 = lookup_ckd("3350")
    per_cyl = dev3350.track_size * dev3350.heads
    # dasdinit splits at 2 GB; a smaller limit makes the same layout in a few MB
    with mock.patch.object(ckd, "SPLIT_LIMIT", ckd.DEVHDR_SIZE + SPLIT_PER_FILE * per_cyl - 1):
        with spoolkit.create_dasd(d / "sp.3350", "3350", "SPLIT1",
                                  cylinders=SPLIT_CYLS) as dev:
            files = [os.path.basename(f) for f in dev.files]
            for cyl in range(SPLIT_CYLS):
                dev.write_track(cyl, 1, spoolkit.Track.from_records(
                    cyl, 1, [(1, b"", split_track(cyl))]))
    out["split"] = "sp.3350"
    out["split_files"] = files
    os.sync()
    return out
