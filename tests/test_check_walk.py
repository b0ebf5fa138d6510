"""The image walk of ``check_dasd`` levels 2 and 3 on worker threads: on a
volume of several groups with findings in different groups, every number of
workers gives exactly the serial walk's report, in track order, and the
track-by-track reference walk's findings; a group whose C call fails raises
the serial walk's typed error, and no worker outlives the check."""

from __future__ import annotations

import os
import random
import struct
import threading
import time
import zlib

import pytest
from test_check_images import head_too_big, image, reference, stored

import spoolkit
import spoolkit.dasd.check as check_mod
from spoolkit._native import lib
from spoolkit.dasd.cckd import CompressedWriter, compressed_devid
from spoolkit.dasd.check import _Walk
from spoolkit.dasd.ckd import DevHeader
from spoolkit.errors import InvalidArgumentError, SpoolkitError
from spoolkit.geometry import lookup_ckd

DEV = lookup_ckd("3390")
HEADS, TRKSIZE = DEV.heads, DEV.track_size
CYLS = 60                       # 900 tracks: groups 0..3, the last one partial
NTRK = CYLS * HEADS
NGROUPS = -(-NTRK // 256)
L1 = 1024


def build(path, images: dict[int, bytes]) -> bytes:
    """A 3390 CCKD of CYLS cylinders whose tracks are stored exactly as given
    (each group's images back to back after its L2 table); returns its bytes."""
    devhdr = DevHeader(compressed_devid(False, False), HEADS, TRKSIZE, DEV.devt & 0xFF)
    with open(path, "w+b") as f:
        w = CompressedWriter(f, devhdr, CYLS, NTRK, False, 1, 1, -1)
        for g in range(NGROUPS):
            lens, data = [], []
            for trk in range(g * 256, min(NTRK, (g + 1) * 256)):
                if trk in images:
                    lens.append(len(images[trk]))
                    data.append(images[trk])
                else:
                    lens.append(1)
            w.write_group(g, lens, b"".join(data))
        w.finish()
    return path.read_bytes()


def entry(raw: bytes, trk: int) -> tuple[int, int, int]:
    """The L2 entry (offset, length, size) of a track, read from the bytes."""
    l2 = struct.unpack_from("<I", raw, L1 + 4 * (trk // 256))[0]
    assert l2, trk
    return struct.unpack_from("<IHH", raw, l2 + 8 * (trk % 256))


def set_entry(raw: bytearray, trk: int, off: int, ln: int, size: int) -> None:
    l2 = struct.unpack_from("<I", raw, L1 + 4 * (trk // 256))[0]
    struct.pack_into("<IHH", raw, l2 + 8 * (trk % 256), off, ln, size)


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    """Findings in every group: (path, raw, level-2 tracks, level-3 error
    tracks, hercules3 tracks)."""
    d = tmp_path_factory.mktemp("walk")
    rng = random.Random(21)
    # every 3rd track stored (and a full run in group 1), zlib, bzip2 and plain
    tracks = sorted(set(range(0, NTRK, 3)) | set(range(300, 400)))
    imgs = {t: stored(image(t, rng, nrec=rng.randrange(1, 5), size=600),
                      rng.choice((0, 1, 1, 2))) for t in tracks}
    imgs[9] = stored(image(9, rng), 1)
    imgs[3] = bytes([1]) + imgs[3][1:5] + b"\x78\x9c\xff\xff\xff\xff"          # group 0: zlib
    c, h = divmod(301, HEADS)
    imgs[301] = bytes([1]) + struct.pack(">HH", c, h + 1) + imgs[301][5:]     # group 1: CCHH
    imgs[333] = stored(head_too_big(333), 1)                                 # group 1: herc3
    good = stored(image(600, rng), 2)
    imgs[600] = good[:20] + bytes(b ^ 0x5A for b in good[20:40]) + good[40:]  # group 2: bzip2
    imgs[603] = bytes([3]) + imgs[603][1:]                                    # group 2: code 3
    imgs[798] = stored(head_too_big(798), 2)                                  # group 3: herc3
    p = d / "multi.cckd"
    raw = bytearray(build(p, imgs))
    size = len(raw)
    set_entry(raw, 894, size + 10_000, 400, 400)          # group 3: wholly past the end
    # group 0: a zlib stream whose adler32 is wrong (inflates, checksum fails)
    off, ln, _ = entry(raw, 9)
    body = bytearray(raw[off:off + ln])
    assert body[0] == 1 and zlib.decompress(bytes(body[5:]))
    body[-1] ^= 0xFF
    raw[off:off + ln] = body
    p.write_bytes(bytes(raw))
    return p, bytes(raw), [301, 603, 894], [3, 9, 301, 600, 603, 894], [333, 798]


def track_findings(r) -> tuple[list[dict], list[dict]]:
    return ([e for e in r["errors"] if e["kind"] == "track"],
            [w for w in r["warnings"] if w["kind"] == "hercules3"])


@pytest.mark.parametrize("level", [2, 3])
def test_threaded_walk_is_the_serial_walk(multi, level):
    p, raw, l2_tracks, l3_tracks, herc = multi
    serial = spoolkit.check_dasd(p, level, workers=1)
    errs, warns = track_findings(serial)
    assert [e["track"] for e in errs] == (l2_tracks if level == 2 else l3_tracks)
    assert [w["track"] for w in warns] == (herc if level == 3 else [])
    assert all(e["offset"] == entry(raw, e["track"])[0] for e in errs + warns)
    assert (errs, warns) == reference(p, level)
    assert not serial["ok"]
    for workers in (2, 3, 4, 16):
        for _ in range(3):
            assert spoolkit.check_dasd(p, level, workers=workers) == serial, workers


def test_threaded_walk_reports_progress_in_group_order(multi):
    p = multi[0]
    for workers in (1, 2, 4):
        seen: list[int] = []
        spoolkit.check_dasd(p, 3, workers=workers, progress=seen.append)
        assert seen == [256, 256, 256, NTRK - 3 * 256], workers


def test_findings_stay_in_track_order_when_later_groups_finish_first(multi, monkeypatch):
    """Group 0's call is held back until the others are done: the report is
    still the serial one (the walk hands groups out in order, not as they end)."""
    p = multi[0]
    serial = spoolkit.check_dasd(p, 3, workers=1)
    real = lib.spk_cckd_check_images
    finished: list[int] = []
    lock = threading.Condition()

    class SlowFirst:
        def __getattr__(self, name):
            return getattr(lib, name)

        def spk_cckd_check_images(self, fd, l2, n, first, *rest):
            g = first // 256
            if g == 0:
                with lock:   # every other group first (bounded: never hangs the suite)
                    lock.wait_for(lambda: len(finished) == NGROUPS - 1, timeout=20)
                time.sleep(0.2)   # and the report's collector is waiting for group 0
            rc = real(fd, l2, n, first, *rest)
            with lock:
                finished.append(g)
                lock.notify_all()
            return rc

    monkeypatch.setattr(check_mod, "lib", SlowFirst())
    r = spoolkit.check_dasd(p, 3, workers=NGROUPS)
    assert finished[-1] == 0 and sorted(finished) == list(range(NGROUPS))
    assert r == serial


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_a_failing_group_raises_the_serial_walks_error(multi, monkeypatch, workers):
    """Group 1 fails in C (called with level 4: SPK_EARG, the message C
    gives) while group 2 is still running: the check raises the serial walk's
    typed error and leaves no worker running and no descriptor open."""
    p = multi[0]
    real = lib.spk_cckd_check_images
    called: list[int] = []

    class FailSome:
        def __getattr__(self, name):
            return getattr(lib, name)

        def spk_cckd_check_images(self, fd, l2, n, first, kind, heads, flags, trksize,
                                  level, out, maxout, err):
            g = first // 256
            called.append(g)
            if g == 2:
                time.sleep(0.05)
            if g == 1:
                level = 4
            return real(fd, l2, n, first, kind, heads, flags, trksize, level, out, maxout,
                        err)

    fds = set(os.listdir("/proc/self/fd"))
    monkeypatch.setattr(check_mod, "lib", FailSome())
    with pytest.raises(SpoolkitError) as exc:
        spoolkit.check_dasd(p, 3, workers=workers)
    assert type(exc.value) is InvalidArgumentError
    assert exc.value.code == lib.SPK_EARG and exc.value.path == os.fspath(p)
    assert "bad arguments" in str(exc.value)
    if workers == 1:
        assert called == [0, 1]          # the serial walk stops at the failure
    assert 0 in called and 1 in called
    assert not [t for t in threading.enumerate() if t.name.startswith("spoolkit-check-")]
    assert set(os.listdir("/proc/self/fd")) <= fds


# -- the walk itself ----------------------------------------------------------


def test_walk_yields_in_order_whatever_finishes_first():
    def fn(g: int) -> int:
        time.sleep(0.002 * (20 - g))
        return g * g

    for workers in (1, 2, 5, 40):
        w = _Walk(fn, 20, workers)
        try:
            assert list(w) == [g * g for g in range(20)]
        finally:
            w.close()
    w = _Walk(fn, 0, 4)
    assert list(w) == []
    w.close()


def test_walk_raises_the_first_failing_groups_exception_in_its_place():
    class Boom(SpoolkitError):
        pass

    errors = {7: Boom("group 7"), 12: ValueError("group 12")}
    started: list[int] = []

    def fn(g: int) -> int:
        started.append(g)
        if g == 12:
            raise errors[g]            # fails before group 7 does
        if g == 7:
            time.sleep(0.05)
            raise errors[g]
        return g

    for workers in (1, 3):
        started.clear()
        w = _Walk(fn, 40, workers)
        got = []
        try:
            with pytest.raises(Boom) as exc:
                for x in w:
                    got.append(x)
        finally:
            w.close()
        assert exc.value is errors[7]
        assert got == list(range(7))
        # no group is started after a failure is known; the rest never run
        assert max(started) < 12 + workers and len(started) < 40
        assert not any(t.is_alive() for t in w._threads)


def test_walk_close_stops_early_and_joins():
    ran: list[int] = []

    def fn(g: int) -> int:
        ran.append(g)
        time.sleep(0.01)
        return g

    w = _Walk(fn, 1000, 2)
    it = iter(w)
    assert next(it) == 0
    w.close()
    assert not any(t.is_alive() for t in w._threads)
    assert len(ran) < 1000
