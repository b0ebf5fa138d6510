"""Fuzz family: USER DIRECT, SYSTEM CONFIG and the overlay map.

Random and mutated real-looking inputs (huge numbers, unicode, long tokens,
deep and looping INCLUDE/PROFILE chains); every run must end in findings or a
typed SpoolkitError, in bounded time and memory.
"""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from overlay_data import (
    PROFILE_DIRECTORY,
    VM370_DIRECTORY,
    VM370CE_DIRECTORY,
    ZVM_DIRECTORY,
    ZVM_SYSTEM_CONFIG,
)

from spoolkit.errors import SpoolkitError
from spoolkit.overlay import VolumeInfo, build_map, parse_directory, parse_system_config
from spoolkit.overlay.extents import KINDS, Extent, sweep, sweep_bounded
from spoolkit.overlay.report import json_report, text_report, volume_svg

pytestmark = pytest.mark.fuzz

FUZZ = settings(max_examples=200, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NUMBERS = st.one_of(
    st.integers(0, 70000).map(str), st.integers(0, 10 ** 30).map(str),
    st.sampled_from(["0", "000", "END", "-1", "9" * 5000, "0" * 4500 + "1", "\u00b2", "\u0663",
                     "1e9", "0x10", "203", "555", "404", "1113", "3339", "65520", "920115",
                     "268435455", "268435456", "2147483639", "4194297"]))
TOKENS = st.one_of(
    NUMBERS,
    st.sampled_from(["USER", "IDENTITY", "PROFILE", "SUBCONFIG", "INCLUDE", "MDISK", "DIRECTORY",
                     "DEVNO", "V-DISK", "T-DISK", "END", "2314", "2319", "3330", "3330-11",
                     "3350", "3380", "3390", "3390-3", "9336", "FB-512", "0671", "XYZ", "MR",
                     "RR", "MW", "VOL001", "VM14-0", "$ALLOC$", "$TEMP$", "MAINT", "*", ",",
                     "/*", "*/", "CP_Owned", "Slot", "RESERVED", "User_Volume_List",
                     "User_Volume_Include", "SYSA:", "V" * 300, "\u20ac", "\x00", "\x0c"]),
    st.text(max_size=12),
    st.text(alphabet="0123456789ABCDEFG", min_size=1, max_size=9),
)
LINE = st.lists(TOKENS, max_size=9).map(" ".join)


def _check(text: str, cfg_text: str = "", volumes=()):
    """Parse, map and render; only findings or a SpoolkitError; time and memory bounded."""
    t0 = time.perf_counter()
    tracemalloc.start()
    try:
        d = parse_directory(text)
        c = parse_system_config(cfg_text or text)
        m = build_map(d, c, volumes)
        out = text_report(m) + json.dumps(json_report(m))
        out += "".join(volume_svg(v) for v in m.volumes.values())
        peak = tracemalloc.get_traced_memory()[1]
    except SpoolkitError as exc:
        str(exc)
        return None
    finally:
        tracemalloc.stop()
    size = len(text) + len(cfg_text)
    assert time.perf_counter() - t0 < 10.0
    assert peak < 8_000_000 + 2_000 * size
    assert len(out) < 100_000 + 2_000 * size
    nlines = text.count("\n") + 1
    for f in m.findings:
        str(f)
        assert f.line is None or 1 <= f.line <= max(nlines, (cfg_text or text).count("\n") + 1)
    assert m.ok == (m.unintended_count == 0)
    return d


@FUZZ
@given(st.lists(LINE, max_size=40))
def test_random_directories(lines):
    _check("\n".join(lines) + "\n")


SEEDS = [VM370_DIRECTORY, ZVM_DIRECTORY, VM370CE_DIRECTORY, PROFILE_DIRECTORY]


@st.composite
def mutated(draw, seeds=SEEDS):
    text = draw(st.sampled_from(seeds))
    lines = text.split("\n")
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["token", "line", "dup", "drop", "bytes", "cut"]))
        i = draw(st.integers(0, len(lines) - 1))
        if op == "token":
            toks = lines[i].split() or [""]
            toks[draw(st.integers(0, len(toks) - 1))] = draw(TOKENS)
            lines[i] = " " + " ".join(toks)
        elif op == "line":
            lines.insert(i, draw(LINE))
        elif op == "dup":
            lines[i:i] = [lines[i]] * draw(st.integers(1, 30))
        elif op == "drop":
            del lines[i]
            if not lines:
                lines = [""]
        elif op == "bytes":
            pos = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:pos] + draw(st.text(max_size=4)) + lines[i][pos:]
        else:
            lines = lines[:i + 1]
    return "\n".join(lines)


@FUZZ
@given(mutated(), st.lists(st.tuples(st.sampled_from(["VM370R", "VM14-0", "VM50-1", "USR001",
                                                       "FBA001", "ZVMPG1", "X" * 40]),
                                      st.one_of(st.none(), st.integers(0, 70000)),
                                      st.sampled_from(["cyl", "block"]),
                                      st.sampled_from([None, "2314", "3350", "3390", "9336",
                                                       "XYZ"])), max_size=3))
def test_mutated_real_directories(text, vols):
    _check(text, ZVM_SYSTEM_CONFIG,
           [VolumeInfo(v, size, unit, devtype) for v, size, unit, devtype in vols])


@FUZZ
@given(mutated([ZVM_SYSTEM_CONFIG, ZVM_SYSTEM_CONFIG.replace("\n", " ,\n", 5),
                "/* open\n" + ZVM_SYSTEM_CONFIG]))
def test_mutated_system_configs(cfg):
    _check(ZVM_DIRECTORY, cfg)


@settings(FUZZ, max_examples=15)
@given(st.integers(1, 2000), st.integers(0, 2000), st.booleans())
def test_deep_and_looping_include_chains(depth, loop_to, users_first):
    # PROFILE Pn INCLUDEs Pn+1 (a chain no z/VM directory may hold), the last back to
    # P<loop_to>; every user includes P0
    profiles = "".join(f"PROFILE P{i}\n INCLUDE P{(i + 1) if i + 1 < depth else loop_to}\n"
                       f" MDISK 0191 3390 {i} 1 VOL001 MR\n" for i in range(depth))
    users = "".join(f"USER U{i} X 1M 1M G\n INCLUDE P0\n INCLUDE P{i}\n"
                    f" MDISK 0191 3390 {i} 1 VOL002 MR\n" for i in range(min(depth, 200)))
    text = users + profiles if users_first else profiles + users
    d = _check(text)
    codes = [f.code for f in d.findings]
    # each profile's INCLUDE and MDISK, each user's second INCLUDE: findings, no recursion
    assert codes.count("mdisk-in-profile") == depth
    assert codes.count("syntax") == depth + min(depth, 200)
    assert all(u.includes in (None, "P0") for u in d.users)


KINDS_ST = st.sampled_from(KINDS)


@FUZZ
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 20), KINDS_ST,
                          st.sampled_from([None, "PERM", "PAGE", "SPOL"])), max_size=60),
       st.integers(0, 40))
def test_bounded_sweep_lists_a_subset_and_counts_the_rest(spans, limit):
    ex = [Extent("V", f"U{i}", "", s, s + n, kind, area)
          for i, (s, n, kind, area) in enumerate(spans)]
    full = sweep(ex)
    key = {(o.first.owner, o.second.owner): o.intended for o in full}
    res = sweep_bounded(ex, limit)
    got = {(o.first.owner, o.second.owner): o.intended for o in res.overlaps}
    assert got.items() <= key.items()
    assert len(res.overlaps) + res.omitted == len(full)
    bad = sum(not i for i in key.values())
    assert sum(not i for i in got.values()) + res.omitted_unintended == bad
    assert sum(not i for i in got.values()) == min(bad, limit)
    assert sum(got.values()) == min(len(full) - bad, limit)
