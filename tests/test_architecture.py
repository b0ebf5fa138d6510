"""The package's shape: layers call only downward and no module imports a
module that imports it back.

Every import counts, at module level, inside functions and under
``TYPE_CHECKING``: a cycle through a function-level import still means the
two modules cannot be understood (or split out) one without the other.
``LAYERS`` is the one table of the layer order; docs/architecture.md shows
the same table (checked below).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import ROOT

#: bottom up; a module may import its own layer and the layers below it
LAYERS: list[tuple[str, list[str]]] = [
    ("errors", ["spoolkit.errors", "spoolkit._where", "spoolkit._version"]),
    ("C core", ["spoolkit._native", "spoolkit._build", "spoolkit._spoolkit"]),
    ("core utilities", ["spoolkit.output", "spoolkit.lock", "spoolkit.lifetime",
                        "spoolkit.geometry", "spoolkit.ebcdic", "spoolkit.compress",
                        "spoolkit.util", "spoolkit.crc", "spoolkit.kinds",
                        "spoolkit.jsonvalue", "spoolkit.hexview", "spoolkit._moved",
                        "spoolkit.lazy"]),
    ("device images", ["spoolkit.dasd", "spoolkit.tape"]),
    ("formats", ["spoolkit.cp", "spoolkit.spool", "spoolkit.ddr"]),
    ("features", ["spoolkit.backup", "spoolkit.overlay", "spoolkit.pipes", "spoolkit.batch",
                  "spoolkit.cms"]),
    ("CLI", ["spoolkit.cli", "spoolkit.demo", "spoolkit.__main__", "spoolkit"]),
]

#: old import paths of moved modules (deprecated aliases that import where
#: their names went, upward); removed in spoolkit 0.2
ALIASES = {
    "spoolkit.spool._moved": "spoolkit.backup",
    "spoolkit.spool.archio": "spoolkit.backup",
    "spoolkit.spool.archive": "spoolkit.backup",
    "spoolkit.spool.backup": "spoolkit.backup",
    "spoolkit.spool.mdisk": "spoolkit.backup",
    "spoolkit.spool.runlog": "spoolkit.backup",
    "spoolkit.spool.tapeio": "spoolkit.backup",
    "spoolkit.tape.detect": "spoolkit.kinds",
}

Graph = dict[str, dict[str, int]]    # module -> {imported module: line}


def modules(root: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file of every module of the package under ``root``."""
    out = {}
    for path in sorted((root / package).rglob("*.py*")):
        if path.suffix not in (".py", ".pyi") or "build" in path.parts:
            continue
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.setdefault(".".join(parts), path)
    return out


def _target(mod: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_package else mod.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imported(mod: str, path: Path) -> list[tuple[tuple[str, ...], int]]:
    """What the module imports: per imported name, the modules it may be
    (``from .x import y``: module .x.y if there is one, else .x), and the line."""
    out: list[tuple[tuple[str, ...], int]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [((alias.name,), node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _target(mod, path.stem == "__init__", node)
            out += [((f"{target}.{alias.name}", target), node.lineno) for alias in node.names]
    return out


def import_graph(root: Path, package: str = "spoolkit") -> Graph:
    """Which modules of the package each module imports (every import statement)."""
    mods = modules(root, package)
    graph: Graph = {}
    for mod, path in mods.items():
        edges: dict[str, int] = {}
        for candidates, line in _imported(mod, path):
            name = next((c for c in candidates if c in mods), None)
            if name is not None and name != mod:
                edges.setdefault(name, line)
        graph[mod] = edges
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def layer_of(mod: str, layers: list[tuple[str, list[str]]] = LAYERS) -> int:
    """The index in ``layers`` of the longest prefix naming ``mod`` (the root
    package names only itself)."""
    best, depth = -1, -1
    for i, (_, prefixes) in enumerate(layers):
        for p in prefixes:
            hit = mod == p or ("." in p and mod.startswith(p + "."))
            if hit and len(p) > depth:
                best, depth = i, len(p)
    if best < 0:
        raise KeyError(f"{mod} is in no layer: add it to LAYERS")
    return best


def upward(graph: Graph, layers: list[tuple[str, list[str]]] = LAYERS,
           aliases: dict[str, str] = ALIASES) -> list[str]:
    """Imports of a module from a higher layer, as "mod:line -> target"."""
    out = []
    for mod, edges in sorted(graph.items()):
        for target, line in sorted(edges.items()):
            if layer_of(target, layers) <= layer_of(mod, layers):
                continue
            moved = aliases.get(mod)
            if moved and (target == moved or target.startswith(moved + ".")):
                continue
            out.append(f"{mod}:{line} ({layers[layer_of(mod, layers)][0]}) -> {target} "
                       f"({layers[layer_of(target, layers)][0]})")
    return out


@pytest.fixture(scope="module")
def graph() -> Graph:
    return import_graph(ROOT)


def test_no_import_cycles(graph):
    assert cycles(graph) == []


def test_layers_import_only_downward(graph):
    assert upward(graph) == []


def test_every_module_has_a_layer(graph):
    for mod in graph:
        layer_of(mod)           # raises for a module no layer names


def test_the_aliases_still_exist_and_only_alias(graph):
    """An alias entry goes with its module (0.2); until then it imports
    nothing of its own layer or above but the modules it stands for."""
    for mod, moved in ALIASES.items():
        assert mod in graph, f"{mod} is gone: remove it from ALIASES"
        assert any(t == moved or t.startswith(moved + ".") for t in graph[mod]), mod


def test_no_module_imports_a_deprecated_alias(graph):
    """The package itself uses the new paths (an old one would warn at run
    time); ``spoolkit.spool`` serves its old names (``spoolkit.spool.dump``)
    through ``_moved``."""
    users = [f"{mod}:{line} -> {target}" for mod, edges in sorted(graph.items())
             for target, line in sorted(edges.items())
             if target in ALIASES and mod not in ALIASES
             and (mod, target) != ("spoolkit.spool", "spoolkit.spool._moved")]
    assert users == []


def test_the_checks_see_a_cycle_and_an_upward_import(tmp_path):
    pkg = tmp_path / "spoolkit"
    for sub in ("tape", "spool", "backup"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text("")
    (pkg / "spool" / "file.py").write_text("from . import text\n")
    (pkg / "spool" / "text.py").write_text("def f():\n    from .file import SpoolFile\n")
    (pkg / "tape" / "image.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
        "    from ..backup.dumper import dump\n")
    (pkg / "backup" / "dumper.py").write_text("from ..errors import SpoolkitError\n")
    (pkg / "spool" / "archio.py").write_text("from ..backup import dumper\n")
    g = import_graph(tmp_path)
    assert cycles(g) == [["spoolkit.spool.file", "spoolkit.spool.text"]]
    assert upward(g) == ["spoolkit.tape.image:3 (device images) -> spoolkit.backup.dumper "
                         "(features)"]
    with pytest.raises(KeyError, match="no layer"):
        layer_of("spoolkit.newthing")


def _short(mod: str) -> str:
    return mod if mod == "spoolkit" else mod[len("spoolkit."):]


def test_the_architecture_page_shows_the_layer_table():
    """docs/architecture.md's layer table lists the layers of LAYERS, top
    first, each with the modules and packages it holds."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| *(\d) *\| *([^|]+?) *\| *([^|]+?) *\|", text, re.M)
    assert [int(n) for n, _, _ in rows] == list(range(len(LAYERS) - 1, -1, -1))
    for n, name, members in rows:
        want_name, want = LAYERS[int(n)]
        assert name == want_name
        assert set(re.findall(r"`([\w.]+)`", members)) == {_short(m) for m in want}, name
