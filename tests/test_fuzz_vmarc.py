"""Mutated VMARC archives: listing and reading succeed or raise a typed
SpoolkitError naming the member, never anything else (no crash, no hang, no
allocation beyond what the stream decodes to); random files round-trip
through every method.

Seeds: the real archives of the shared fixtures and archives spoolkit writes
with each method.  Mutations: bytes set or flipped in headers and streams
(codes of entries not yet made, lengths past the end, RECFM/LRECL/flag
bytes changed), the archive cut short, records dropped.  CI runs these
(marker ``fuzz``) under ASan/UBSan."""

from __future__ import annotations

import random

import pytest
import vmarc_layout as L
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_vmarc import ARCHIVES, FIX, METHODS, cms, generated, local

from spoolkit.cms.records import CMSRecords
from spoolkit.cms.vmarc import list_vmarc_bytes, pack_vmarc, read_vmarc_bytes
from spoolkit.errors import SpoolkitError

pytestmark = pytest.mark.fuzz

SEEDS = [local(a).read_bytes() for a in ARCHIVES] if FIX.is_dir() else []
SEEDS += [pack_vmarc(generated()[:8], method=m) for m in METHODS]
HEADER_FIELDS = [8, 9, 28, 29, 36, 37]           # version, LRECL, RECFM, flags


def exercise(data: bytes) -> None:
    """Listing and reading agree: both fail with a typed error, or both give
    the same members."""
    try:
        members = list_vmarc_bytes(data)
    except SpoolkitError as exc:
        assert str(exc)
        with pytest.raises(SpoolkitError):
            list(read_vmarc_bytes(data))
        return
    files = list(read_vmarc_bytes(data))
    assert len(files) == len(members)
    for f, m in zip(files, members):
        assert len(f.records) == m.records and len(f.records.data) == m.size
        if f.recfm == "F":
            assert all(len(r) == f.lrecl for r in f.records)
        else:
            assert all(0 < len(r) <= f.lrecl for r in f.records)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_archives(data):
    seed = bytearray(data.draw(st.sampled_from(SEEDS)))
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.integers(0, 3))
        if kind == 0 and seed:
            i = data.draw(st.integers(0, len(seed) - 1))
            seed[i] = data.draw(st.integers(0, 255))
        elif kind == 1:
            # a header field of some member
            starts = [i for i in range(0, len(seed) - 38, 80) if seed[i:i + 8] == L.MAGIC]
            if starts:
                i = data.draw(st.sampled_from(starts)) + data.draw(st.sampled_from(HEADER_FIELDS))
                seed[i] = data.draw(st.sampled_from([0, 1, 0x40, 0x80, 0xC0, 0xC6, 0xE5, 0xFF]))
        elif kind == 2:
            seed = seed[:data.draw(st.integers(0, len(seed)))]
        elif len(seed) >= 160:
            r = data.draw(st.integers(0, len(seed) // 80 - 1))
            del seed[r * 80:(r + 1) * 80]
    exercise(bytes(seed))


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=400), st.sampled_from(list(range(3))))
def test_random_streams_after_a_header(stream, which):
    head = SEEDS[-3 + which][:38]
    exercise(head + stream)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(METHODS), st.booleans(), st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_random_files_round_trip(method, fixed, lrecl, seed):
    rnd = random.Random(seed)
    n = rnd.randrange(0, 60)
    alphabet = bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 8)))
    if fixed:
        recs = [bytes(rnd.choice(alphabet) for _ in range(lrecl)) for _ in range(n)]
    else:
        recs = [bytes(rnd.choice(alphabet) for _ in range(rnd.randrange(1, lrecl + 1)))
                for _ in range(n)]
    f = cms("R F A1" if fixed else "R V A1", "F" if fixed else "V", lrecl, recs)
    data = pack_vmarc([f], method=method)
    (got,) = read_vmarc_bytes(data)
    assert got.records == CMSRecords.from_iter(recs)
    ((h, theirs, _end),) = L.read_archive(data)
    assert theirs == recs and h.lrecl == lrecl


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_archives_as_records_of_any_lengths(data):
    from spoolkit.cms.vmarc import list_vmarc_records, read_vmarc_records
    seed = bytearray(data.draw(st.sampled_from(SEEDS)))
    if data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(seed) - 1))
        seed[i] = data.draw(st.integers(0, 255))
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(seed) - 1), max_size=40))))
    recs = CMSRecords.from_iter(bytes(seed[a:b]) for a, b in
                                zip([0, *cuts], [*cuts, len(seed)]))
    try:
        members = list_vmarc_records(recs)
    except SpoolkitError:
        with pytest.raises(SpoolkitError):
            list(read_vmarc_records(recs))
        return
    assert len(list(read_vmarc_records(recs))) == len(members)
