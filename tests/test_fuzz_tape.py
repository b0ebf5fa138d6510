"""Mutated tape images read or raise a SpoolkitError — never crash or hang."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spoolkit.errors import SpoolkitError
from spoolkit.tape import open_tape

pytestmark = pytest.mark.fuzz


def _base(tmp_path_factory, name, **kw):
    path = tmp_path_factory.mktemp("t") / name
    with open_tape(path, "w", chunk_size=300, **kw) as t:
        t.write_block(b"HELLO WORLD " * 100)
        t.write_block(bytes(range(256)) * 3)
        t.tapemark()
        t.write_block(b"x" * 700)
    return path.read_bytes()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.parametrize("name,kw", [("z.het", {"compress": "zlib"}), ("p.aws", {}),
                                     ("b.het", {"compress": "bzip2"}), ("f.fkt", {})])
def test_mutations(tmp_path_factory, name, kw, data):
    raw = bytearray(_base(tmp_path_factory, name, **kw))
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    path = tmp_path_factory.mktemp("m") / name
    path.write_bytes(bytes(raw[:cut]))
    try:
        with open_tape(path, format=name.split(".")[1]) as t:
            for _ in t:
                pass
            t.map()
            t.rewind()
            t.skip_files(3)
            while t.backspace_block():
                pass
    except SpoolkitError:
        pass
    # the batch recode walks the same bytes in C, segment by segment
    for fmt, compress in (("het", "zlib"), ("aws", None), ("fkt", None)):
        out = path.with_name("copy." + fmt)
        try:
            with open_tape(path, format=name.split(".")[1]) as t, \
                    open_tape(out, "w", format=fmt, compress=compress, chunk_size=100) as o:
                o.copy_from(t, segment=700)
        except SpoolkitError:
            assert not out.exists()


# -- structure-aware mutations of real and generated tapes ------------------------------
import os  # noqa: E402
import struct  # noqa: E402

from conftest import FIXTURES  # noqa: E402

from spoolkit.cli.tape import tape_map  # noqa: E402
from spoolkit.tape import datasets  # noqa: E402

REAL = ["j90009.het", "hercules-tests/tape.aws", "hercules-tests/awsbsf.aws",
        "hercules-tests/hetbsf.het", "hercules-tests/hetbsf-bzip2.het"]


def _generated() -> dict[str, bytes]:
    import tempfile
    from pathlib import Path

    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, kw in [("g.het", {"compress": "zlib", "chunk_size": 200}),
                         ("g2.het", {"compress": "bzip2", "chunk_size": 65535}),
                         ("g.aws", {"chunk_size": 150}), ("g.fkt", {})]:
            p = Path(d) / name
            with open_tape(p, "w", **kw) as t:
                t.write_block(b"VOL1TEST01".ljust(80, b" "))
                t.write_block(bytes(range(256)) * 4)
                t.tapemark()
                t.write_block(b"SPOOL RECORD " * 90)
                t.tapemark()
                t.write_block(b"z" * 5)
            out[name] = p.read_bytes()
    return out


def _seeds() -> dict[str, bytes]:
    seeds = _generated()
    if FIXTURES is not None:
        for name in REAL:
            if (FIXTURES / name).exists():
                seeds[name.replace("/", "_")] = (FIXTURES / name).read_bytes()
    return seeds


SEEDS = _seeds()


def _headers(raw: bytes, fkt: bool) -> list[tuple[int, int, int]]:
    """(header offset, payload offset, payload length) of every chunk (FakeTape:
    block) header that can be followed from the load point."""
    out = []
    p = 0
    while p + (12 if fkt else 6) <= len(raw) and len(out) < 4000:
        if fkt:
            try:
                cur = int(raw[p + 4:p + 8], 16)
            except ValueError:
                break
            out.append((p, p + 12, cur))
            p += 12 + cur
        else:
            clen = struct.unpack_from("<H", raw, p)[0]
            out.append((p, p + 6, clen))
            p += 6 + clen
    return out


def _mutate(raw: bytearray, fkt: bool, data) -> bytearray:
    heads = _headers(bytes(raw), fkt)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        kind = data.draw(st.sampled_from(["length", "prev", "flags", "flags2", "payload",
                                          "byte", "truncate", "fkt-hex"]))
        if not heads or not raw:
            kind = "byte"
        if not raw:
            break
        h, pay, n = heads[data.draw(st.integers(0, len(heads) - 1))] if heads else (0, 0, 0)
        if kind == "truncate":
            del raw[data.draw(st.integers(0, len(raw))):]
            heads = [x for x in heads if x[0] + 12 <= len(raw)]
        elif kind == "payload" and n and pay + n <= len(raw):
            i = pay + data.draw(st.integers(0, n - 1))
            raw[i] ^= 1 << data.draw(st.integers(0, 7))     # a bit flip in the payload
        elif fkt and kind in ("length", "prev", "fkt-hex") and h + 12 <= len(raw):
            field = {"prev": 0, "length": 4, "fkt-hex": 8}[kind]
            value = data.draw(st.integers(0, 0xFFFF))
            raw[h + field:h + field + 4] = b"%04X" % value
            if kind != "fkt-hex" and data.draw(st.booleans()):   # keep the xor check valid
                prev, cur = int(raw[h:h + 4], 16), int(raw[h + 4:h + 8], 16)
                raw[h + 8:h + 12] = b"%04X" % (prev ^ cur)
        elif not fkt and kind in ("length", "prev") and h + 6 <= len(raw):
            field = 0 if kind == "length" else 2
            value = data.draw(st.one_of(st.integers(0, 0xFFFF), st.sampled_from([0, 1, 0xFFFF])))
            struct.pack_into("<H", raw, h + field, value)
        elif not fkt and kind in ("flags", "flags2") and h + 6 <= len(raw):
            i = h + (4 if kind == "flags" else 5)
            raw[i] = data.draw(st.one_of(st.integers(0, 255),
                                         st.sampled_from([0x80, 0x40, 0x20, 0xA0, 0xA1, 0xA2,
                                                          0xA3, 0x00, 0x81, 0x21])))
        else:
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    return raw


def _expect_spoolkit_error(fn) -> None:
    try:
        fn()
    except SpoolkitError as exc:
        assert str(exc)          # the message formats
        assert exc.path is None or isinstance(exc.path, str)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_structured_mutations(tmp_path_factory, seed, data):
    fkt = seed.endswith(".fkt")
    raw = _mutate(bytearray(SEEDS[seed]), fkt, data)
    d = tmp_path_factory.mktemp("s")
    ext = os.path.splitext(seed)[1]
    path = d / ("m" + ext)
    path.write_bytes(bytes(raw))

    def read_all():
        with open_tape(path) as t:
            offsets = [b.offset for b in t]
            t.map(decompress=data.draw(st.booleans(), label="decompress"))
            for off in offsets[-3:]:
                t.seek(off)
            while t.backspace_block():
                pass

    def positions():
        with open_tape(path) as t:
            t.skip_files(data.draw(st.integers(1, 5), label="files"))
            t.backspace_file()
            t.skip_files(1)
            t.read_block()

    def labels():
        tape_map(str(path))
        with open_tape(path) as t:
            list(datasets(t))

    def copy():
        fmt = data.draw(st.sampled_from(["het", "aws", "fkt"]), label="to")
        out = d / ("c." + fmt)
        try:
            with open_tape(path) as t, open_tape(
                    out, "w", format=fmt, compress="zlib" if fmt == "het" else None,
                    chunk_size=data.draw(st.sampled_from([100, 4096, 65535])),
                    overwrite=True) as o:
                o.copy_from(t, segment=data.draw(st.sampled_from([64, 700, 1 << 20])))
        except SpoolkitError:
            assert not out.exists() or out.stat().st_size >= 0
            raise

    def append():
        before = path.read_bytes()
        try:
            with open_tape(path, "a") as t:
                t.write_block(b"APPENDED" * 10)
        except SpoolkitError:
            assert path.read_bytes() == before      # a refused append changes nothing
            raise

    for fn in (read_all, positions, labels, copy, append):
        _expect_spoolkit_error(fn)
