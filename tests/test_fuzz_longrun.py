"""The long-run fuzz harness (tests/fuzz/longrun.py): a short run of every
family finds nothing, and the supervisor does catch crashes, hangs, untyped
exceptions and memory bombs."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fuzz"))
import longrun  # noqa: E402

pytestmark = pytest.mark.fuzz


@pytest.mark.parametrize("family", sorted(longrun.FAMILIES))
def test_short_run_finds_nothing(tmp_path, family):
    r = longrun.run_family(family, 150, 2, tmp_path, seed=11, max_rss=1024, hang=10.0,
                           log=print)
    assert r["ok"] + r["typed"] == 150, r
    assert r["findings"] == [], r["findings"]


def _seed_one(d: Path) -> list[Path]:
    p = d / "x.bin"
    p.write_bytes(bytes(range(256)) * 4)
    return [p]


def _bad_target(path: str) -> None:
    data = Path(path).read_bytes()
    sel = sum(data) % 10
    if sel == 0:
        os.kill(os.getpid(), signal.SIGSEGV)
    if sel == 1:
        raise KeyError("untyped")
    if sel == 2:
        while True:
            pass
    if sel == 3:
        globals().setdefault("_hog", []).append(bytearray(300 << 20))


def test_supervisor_catches_every_kind(tmp_path, monkeypatch):
    monkeypatch.setitem(longrun.FAMILIES, "bad", (_seed_one, _bad_target))
    r = longrun.run_family("bad", 60, 2, tmp_path, seed=3, max_rss=200, hang=1.0, log=print)
    kinds = {f["kind"] for f in r["findings"]}
    assert {"crash", "untyped", "hang", "memory"} <= kinds, r["findings"]
    saved = [f for f in r["findings"] if f["input"]]
    assert saved and all(Path(f["input"]).exists() for f in saved)
