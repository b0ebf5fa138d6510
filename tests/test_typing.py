"""Typing gates: ``mypy --strict`` over the modules CI holds to it, the
README's Python examples type-check with no ``Any`` coming out of spoolkit,
and every ``spoolkit...`` name the documentation gives can be imported from
where it says."""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT
from test_readme import PRELUDE, blocks

#: held to mypy --strict: the whole package, and the tools that import it
GATED = ["spoolkit", "tools/gen_stub.py"]

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _cache_dir() -> str:
    # kept between runs (mypy checks its cache against the sources), one per checkout
    key = hashlib.sha256(str(ROOT).encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"spoolkit-mypy-{os.getuid()}-{key}")


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", _cache_dir(), "--no-error-summary", "--show-error-codes", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_gated_modules_pass_mypy_strict():
    # --follow-imports=silent: imported modules are analysed, their errors not reported
    proc = _mypy("--strict", "--follow-imports=silent", *GATED)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_gate_catches_a_type_error(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from spoolkit.geometry import lookup_ckd\n"
                   "n: str = lookup_ckd('3390').cylinders\n")
    proc = _mypy("--strict", "--follow-imports=silent", str(bad))
    assert proc.returncode == 1 and "[assignment]" in proc.stdout, proc.stdout + proc.stderr


# -- the README's Python examples ------------------------------------------------

def readme_script() -> tuple[str, dict[int, int]]:
    """Every ```python block of README.md in a function of its own (so names
    may repeat), after test_readme's PRELUDE (the names the blocks take as
    given); and a map from script line to README line."""
    lines = textwrap.dedent(PRELUDE).strip("\n").splitlines()
    where: dict[int, int] = {}
    for lang, first, code in blocks():
        if lang != "python":
            continue
        lines += ["", "", f"def _readme_line_{first}() -> None:"]
        for i, text in enumerate(code.rstrip("\n").splitlines()):
            lines.append("    " + text if text.strip() else "")
            where[len(lines)] = first + i
    return "\n".join(lines) + "\n", where


_ERROR = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): error: (?P<msg>.*)$")

def readme_type_errors(tmp_path: Path) -> tuple[subprocess.CompletedProcess[str],
                                                 list[tuple[int, str, str]]]:
    """mypy --strict --disallow-any-expr over the README script: the run and
    its errors on README lines (README line, code, message)."""
    script, where = readme_script()
    path = tmp_path / "readme_examples.py"
    path.write_text(script)
    # --disallow-any-expr: an expression of type Any in an example can only come
    # from spoolkit (the examples use nothing else that is untyped)
    proc = _mypy("--strict", "--disallow-any-expr", "--follow-imports=silent", str(path))
    code = script.splitlines()
    errors = []
    for out in proc.stdout.splitlines():
        m = _ERROR.match(out)
        if m and Path(m["file"]).name == path.name and int(m["line"]) in where:
            n = int(m["line"])          # (errors in the prelude are not the README's)
            errors.append((where[n], code[n - 1].strip(), m["msg"]))
    return proc, errors


def test_readme_examples_pass_mypy_strict_with_no_any_from_spoolkit(tmp_path):
    proc, errors = readme_type_errors(tmp_path)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    assert not errors, "\n".join(f"README.md:{line}: {msg}\n    {code}"
                                  for line, code, msg in errors)


def test_readme_check_sees_an_any_leak(tmp_path, monkeypatch):
    import test_readme
    leaky = "import json\nx = json.loads('1')\n"
    monkeypatch.setattr(test_readme, "README", tmp_path / "README.md")
    (tmp_path / "README.md").write_text(f"```python\n{leaky}```\n")
    _, errors = readme_type_errors(tmp_path)
    assert [(line, code) for line, code, _ in errors][:1] == [(3, "x = json.loads('1')")]


def test_readme_script_holds_every_python_block():
    script, where = readme_script()
    compile(script, "readme_examples.py", "exec")
    starts = {first for lang, first, _ in blocks() if lang == "python"}
    assert starts and starts <= set(where.values())
    assert all(f"def _readme_line_{n}()" in script for n in starts)


# -- documented names ------------------------------------------------------------

_DOTTED = re.compile(r"(?<![\w./-])spoolkit(?:\.[A-Za-z_]\w*)+")
_FROM = re.compile(r"^\s*from (spoolkit(?:\.\w+)*) import \(?([\w, ]+)\)?", re.M)


def documented_names() -> list[tuple[str, str]]:
    """(where in the docs, dotted name) of every ``spoolkit.x.y`` the README
    and docs/*.md write and of every name their ``from spoolkit... import``
    lines import."""
    out = []
    for doc in DOCS:
        text = doc.read_text()
        for m in _DOTTED.finditer(text):
            out.append((f"{doc.name}:{text.count(chr(10), 0, m.start()) + 1}", m.group(0)))
        for m in _FROM.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            for name in m.group(2).split(","):
                name = name.strip().split(" as ")[0]
                if name:
                    out.append((f"{doc.name}:{line}", f"{m.group(1)}.{name}"))
    return out


def _resolve(dotted: str) -> object:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):     # the longest importable module prefix
        try:
            obj: object = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError as exc:
            if exc.name is None or not dotted.startswith(exc.name):
                raise
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ModuleNotFoundError(dotted)


def test_every_documented_name_is_importable_from_where_the_docs_say():
    names = documented_names()
    assert len(names) > 30
    missing = []
    for where, dotted in names:
        try:
            _resolve(dotted)
        except (ImportError, AttributeError) as exc:
            missing.append(f"{where}: {dotted}: {exc}")
    assert not missing, "\n".join(missing)


def test_copy_tape_is_documented_where_it_is_exported():
    assert "spoolkit.tape.copy_tape" in {d for _, d in documented_names()}
    from spoolkit.tape import copy_tape
    from spoolkit.tape.copy import copy_tape as impl
    assert copy_tape is impl


@pytest.mark.parametrize("dotted", ["spoolkit.tape.no_such_function", "spoolkit.nosuch.x",
                                    "spoolkit.Track.no_such_attribute"])
def test_a_missing_documented_name_is_reported(dotted):
    with pytest.raises(AttributeError):
        _resolve(dotted)


def test_track_counts_are_ints_for_a_type_checker(tmp_path):
    # the record counts come from the C core's struct fields, typed by the stub
    probe = tmp_path / "probe.py"
    probe.write_text("import spoolkit\n"
                     "t = spoolkit.Track.from_records(1, 0, [(1, b'', b'x')])\n"
                     "reveal_type(t.nrecs)\nreveal_type(t.data_bytes)\n")
    proc = _mypy("--strict", "--follow-imports=silent", str(probe))
    assert proc.stdout.count('Revealed type is "int"') == 2, proc.stdout + proc.stderr


def test_check_report_fields_are_typed_for_a_type_checker(tmp_path):
    # check_dasd's report is a TypedDict: its keys and their JSON types are known
    probe = tmp_path / "probe.py"
    probe.write_text("import spoolkit\n"
                     "r = spoolkit.check_dasd('x.cckd', 3)\n"
                     "reveal_type(r['ok'])\nreveal_type(r['errors'][0]['message'])\n"
                     "reveal_type(r['errors'][0].get('track'))\n"
                     "r['no_such_key']\n")
    proc = _mypy("--strict", "--follow-imports=silent", str(probe))
    out = proc.stdout
    assert 'Revealed type is "bool"' in out, out + proc.stderr
    assert 'Revealed type is "str"' in out, out
    assert 'Revealed type is "int | list[int] | None"' in out, out
    assert '"no_such_key"' in out and "[typeddict-item]" in out, out


@pytest.mark.parametrize("problem", [
    {"kind": "l1", "index": 3, "offset": None, "error": "FormatError", "message": "m"},
    {"kind": "track", "track": 7, "offset": 4096, "message": "bad stored image header"},
    {"kind": "header", "error": "TruncatedError", "message": "m", "offset": 8,
     "track": [0, 1], "repairable": True},
])
def test_problem_json_keeps_every_key_in_order(problem):
    from spoolkit.dasd.reports import problem_json

    out = problem_json(problem)
    assert out == problem and list(out) == list(problem) and out is not problem
