"""Mutated real volume dumps: ``restore_volume`` succeeds or raises a typed
SpoolkitError, never anything else; a failed restore leaves an existing
volume byte-identical and creates no new one.

Seeds: dumps of real fixture volumes (gcccms_201, and vm50u1's CP cylinder
with its interleaved record numbers).  Mutations: bit flips (CRC catches
them), header / track / trailer fields set to extreme values and re-sealed
(so the range checks, not the CRC, must catch them), blocks dropped,
duplicated, swapped, the tape cut short; and the AWS file bytes themselves.
CI runs these (marker ``fuzz``) under ASan/UBSan."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import struct

import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memtape import MemTape

from spoolkit import create_dasd, open_dasd
from spoolkit.backup.blocks import seal
from spoolkit.dasd import ddr
from spoolkit.errors import SpoolkitError

pytestmark = pytest.mark.fuzz

HUGE = [0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000,
        0xFFFFFFFF]
# (format, field index in the unpacked tuple) of every numeric field per block kind
FIELDS = {ddr.MAGIC_HEAD: (ddr._HEAD, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
          ddr.MAGIC_TRACK: (ddr._TRACK, [1, 2, 3, 4, 5, 6]),
          ddr.MAGIC_END: (ddr._END, [1, 2, 3, 4, 5])}


def _seed_dumps() -> list[tuple[str, list[bytes]]]:
    picks = [("cms/gcccms_201.cckd", None), ("vm50u1.cckd", (0, 0))]
    out = []
    for name, rng in picks:
        if FIXTURES is None or not (FIXTURES / name).exists():
            continue
        tape = MemTape()
        with open_dasd(FIXTURES / name) as dev:
            ddr.dump_volume(dev, tape, *(rng or (0, None)))
        out.append((name, [b.data for b in tape.blocks if not b.is_tapemark]))
    return out


SEEDS = _seed_dumps()
needs_seeds = pytest.mark.skipif(not SEEDS, reason="real fixture images not found")


def refield(draw, block: bytes) -> bytes:
    fmt, idx = FIELDS.get(block[:4], (None, None))
    if fmt is None or len(block) < fmt.size + 4:
        return block
    vals = list(fmt.unpack_from(block))
    i = draw(st.sampled_from(idx))
    code = re.findall(r"\d*[a-zA-Z]", fmt.format)[i]
    size = struct.calcsize(">" + code)
    v = draw(st.sampled_from(HUGE + [vals[i] + 1, max(vals[i] - 1, 0)]))
    vals[i] = v & ((1 << (8 * size)) - 1)
    body = fmt.pack(*vals) + block[fmt.size:-4]
    return bytes(seal(bytearray(body)))


@st.composite
def mutated_dump(draw):
    name, blocks = draw(st.sampled_from(SEEDS))
    blocks = list(blocks)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["field", "field", "flip", "drop", "dup", "swap", "cut",
                                     "grow"]))
        i = draw(st.integers(0, len(blocks) - 1)) if blocks else 0
        if not blocks:
            break
        if kind == "field":
            blocks[i] = refield(draw, blocks[i])
        elif kind == "flip" and blocks[i]:
            b = bytearray(blocks[i])
            j = draw(st.integers(0, len(b) - 1))
            b[j] ^= 1 << draw(st.integers(0, 7))
            blocks[i] = bytes(b)
        elif kind == "drop":
            del blocks[i]
        elif kind == "dup":
            blocks.insert(i, blocks[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(blocks) - 1))
            blocks[i], blocks[j] = blocks[j], blocks[i]
        elif kind == "cut":
            blocks[i] = blocks[i][:draw(st.integers(0, len(blocks[i])))]
        else:  # a re-sealed block with extra bytes: sizes must be checked, not just CRCs
            blocks[i] = bytes(seal(bytearray(blocks[i][:-4] + draw(st.binary(max_size=16)))))
    if draw(st.booleans()):
        blocks = blocks[:draw(st.integers(0, len(blocks)))]
    return name, blocks


def tape_of(blocks: list[bytes]) -> MemTape:
    tape = MemTape()
    for b in blocks:
        tape.write_block(b)
    tape.tapemark()
    tape.rewind()
    return tape


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """An existing 1-cylinder 3350 volume to restore onto (gcccms and vm50u1 are 3350s)."""
    d = tmp_path_factory.mktemp("ddrfz")
    path = d / "template.3350"
    create_dasd(path, "3350", volser="TEMPLT", cylinders=1).close()
    return path


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@needs_seeds
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=mutated_dump(), onto_existing=st.booleans())
def test_mutated_dump_restores_or_typed_error(tmp_path_factory, template, case, onto_existing):
    _, blocks = case
    d = tmp_path_factory.mktemp("r")
    target = d / "t.3350"
    if onto_existing:
        shutil.copyfile(template, target)
        before = digest(target)
    try:
        info = ddr.restore_volume(tape_of(blocks), target)
    except SpoolkitError as exc:
        assert str(exc)
        if onto_existing:
            assert digest(target) == before
        else:
            assert os.listdir(d) == []
        return
    # accepted: every track the restore reports is on the volume as the dump had it
    with open_dasd(target) as dev:
        assert info["tracks"] == (info["last_cyl"] - info["first_cyl"] + 1) * dev.heads
        assert os.path.getsize(target) <= 512 + dev.cylinders * dev.heads * dev.track_size


@needs_seeds
@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_dump_file_bytes(tmp_path_factory, seed, data):
    """The AWS file itself cut and bit-flipped: ``ddr.restore`` (the CLI's call)."""
    from spoolkit import open_tape

    d = tmp_path_factory.mktemp("f")
    tape_path = d / "v.aws"
    with open_tape(tape_path, "w") as tape:
        for b in seed[1]:
            tape.write_block(b)
        tape.tapemark()
    raw = bytearray(tape_path.read_bytes())
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        if data.draw(st.booleans()):
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
        else:
            raw[i] = data.draw(st.sampled_from([0, 0xFF, 0x80, 0x40]))
    if data.draw(st.booleans()):
        del raw[data.draw(st.integers(0, len(raw))):]
    tape_path.write_bytes(bytes(raw))
    target = d / "new.3350"
    try:
        ddr.restore(tape_path, target)
    except SpoolkitError as exc:
        assert str(exc)
        assert not target.exists()
