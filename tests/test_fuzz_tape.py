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
