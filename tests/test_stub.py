"""spoolkit/_spoolkit.pyi (the typed view of the C core) matches csrc/spoolkit.h
and the compiled module: regenerate it with ``python tools/gen_stub.py``."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
from conftest import ROOT

from spoolkit._spoolkit import ffi, lib


def _gen_stub():
    spec = importlib.util.spec_from_file_location("gen_stub", ROOT / "tools" / "gen_stub.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gen_stub"] = mod          # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


gen = _gen_stub()
HEADER = gen.parse((ROOT / "csrc" / "spoolkit.h").read_text())


def test_stub_is_generated_from_the_current_header():
    text = gen.render((ROOT / "csrc" / "spoolkit.h").read_text())
    assert (ROOT / "spoolkit" / "_spoolkit.pyi").read_text() == text, (
        "spoolkit/_spoolkit.pyi is out of date: run python tools/gen_stub.py")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_stub.py"), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_check_mode_fails_on_a_stale_stub(tmp_path, monkeypatch):
    stale = tmp_path / "_spoolkit.pyi"
    stale.write_text(gen.render((ROOT / "csrc" / "spoolkit.h").read_text())
                     .replace("def spk_version(", "def spk_versio("))
    monkeypatch.setattr(gen, "STUB", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1


def test_every_name_of_the_compiled_module_is_in_the_stub():
    names = {c for c, _ in HEADER.constants} | {f.name for f in HEADER.functions}
    assert names == set(dir(lib))
    for name, value in HEADER.constants:
        assert getattr(lib, name) == value, name


@pytest.mark.parametrize("fn", HEADER.functions, ids=lambda f: f.name)
def test_functions_match_the_compiled_signatures(fn):
    ct = ffi.typeof(getattr(lib, fn.name))
    assert len(ct.args) == len(fn.params)
    for (name, t), arg in zip(fn.params, ct.args):
        assert (t.ptr > 0) == (arg.kind == "pointer"), (fn.name, name)
        if arg.kind == "primitive":
            assert t.base == arg.cname, (fn.name, name)
    assert (fn.result.ptr > 0) == (ct.result.kind == "pointer"), fn.name


@pytest.mark.parametrize("st", HEADER.structs, ids=lambda s: s.name)
def test_structs_match_the_compiled_layout(st):
    fields = ffi.typeof(st.name).fields
    assert [n for n, _ in fields] == [n for n, _ in st.fields]
    for (name, t), (_, f) in zip(st.fields, fields):
        kind = f.type.kind
        if t.array is not None:
            assert kind == "array" and f.type.length == t.array, (st.name, name)
        elif t.ptr:
            assert kind == "pointer", (st.name, name)
        else:
            assert kind in ("primitive", "struct"), (st.name, name)


def test_unknown_c_constructs_stop_the_generator():
    header = "typedef struct spk_x { float f; } spk_x;\n"
    with pytest.raises(gen.StubError):
        gen.render(header)
    with pytest.raises(gen.StubError, match="unsupported"):
        gen.render("double spk_f(void);\n")
