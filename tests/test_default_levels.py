"""The default compression levels are the ones docs/performance.md documents,
and on the real fixture content each is the lowest (fastest) level whose
output is no larger than the Hercules tool's default: zlib 6 for disks
(``dasdcopy -z``; Hercules compresses with the reference zlib, which is
Python's ``zlib``), zlib 4 for tapes (``hetupd -z``), bzip2 at any level (the
same output below 100 KB).  ``level`` given still wins."""

from __future__ import annotations

import bz2
import re
import sys
import zlib

import pytest
from conftest import FIXTURES, ROOT

from spoolkit import open_tape
from spoolkit.compress import BZIP2, DISK_LEVELS, TAPE_LEVELS, ZLIB, compress

sys.path.insert(0, str(ROOT / "bench"))
import realdata  # noqa: E402 - bench/realdata.py builds the real content

pytestmark = pytest.mark.skipif(FIXTURES is None, reason="no ../shared/fixtures")

PEER = {"disks": {ZLIB: 6, BZIP2: 5}, "tapes": {ZLIB: 4, BZIP2: 4}}
NAMES = {"zlib": ZLIB, "bzip2": BZIP2}


def documented() -> dict[str, dict[int, int]]:
    """The ``| disks | zlib | 7 | ...`` rows of the defaults table."""
    text = (ROOT / "docs" / "performance.md").read_text()
    out: dict[str, dict[int, int]] = {}
    for kind, method, level in re.findall(r"^\| (disks|tapes) \| (zlib|bzip2) \| (\d+) \|",
                                          text, re.M):
        out.setdefault(kind, {})[NAMES[method]] = int(level)
    return out


def test_the_defaults_are_the_documented_ones():
    assert documented() == {"disks": DISK_LEVELS, "tapes": TAPE_LEVELS}


def _stored(data: bytes, packed: bytes | None) -> int:
    # both keep a block or track plain when compressing does not make it smaller
    return len(data) if packed is None else min(len(packed), len(data))


@pytest.fixture(scope="module")
def content() -> dict[str, list[bytes]]:
    return {"disks": [im[5:] for im in realdata.real_track_images()],   # HA stays plain
            "tapes": [b for b in realdata.real_blocks() if b]}


@pytest.mark.parametrize("kind", ["disks", "tapes"])
def test_zlib_default_is_the_fastest_level_no_larger_than_the_peer(kind, content):
    items = content[kind]
    assert len(items) > 30
    peer = sum(_stored(x, zlib.compress(x, PEER[kind][ZLIB])) for x in items)
    default = (DISK_LEVELS if kind == "disks" else TAPE_LEVELS)[ZLIB]
    sizes = {lv: sum(_stored(x, compress(x, ZLIB, lv)) for x in items)
             for lv in range(1, default + 1)}
    assert sizes[default] <= peer, (sizes, peer)
    for lv in range(1, default):   # every faster level gives more bytes than the peer
        assert sizes[lv] > peer, (lv, sizes, peer)


def test_bzip2_output_is_the_same_size_at_every_level(content):
    for x in content["disks"][:40] + content["tapes"]:
        ours = _stored(x, compress(x, BZIP2, 1))
        assert ours == _stored(x, bz2.compress(x, 5)) == _stored(x, bz2.compress(x, 4))


def test_minus_one_means_the_disk_default(content):
    x = content["disks"][0]
    assert compress(x, ZLIB, -1) == compress(x, ZLIB, DISK_LEVELS[ZLIB]) != compress(x, ZLIB, 6)
    assert compress(x, BZIP2, -1) == compress(x, BZIP2, DISK_LEVELS[BZIP2])


def test_tapes_default_and_level_given(tmp_path, content):
    blocks = content["tapes"]

    def write(name: str, **kw: object) -> bytes:
        with open_tape(tmp_path / name, "w", compress="zlib", **kw) as t:
            assert t.level == kw.get("level", TAPE_LEVELS[ZLIB])
            t.write_blocks(blocks)
        return (tmp_path / name).read_bytes()

    default, five, four = write("d.het"), write("5.het", level=5), write("4.het", level=4)
    assert default == five != four
    with open_tape(tmp_path / "4.het") as t:
        assert [bytes(b.data) for b in t if not b.is_tapemark] == blocks
