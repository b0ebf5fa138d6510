"""Generate ``spoolkit/_spoolkit.pyi``, the typed view of the compiled C core,
from ``csrc/spoolkit.h`` (the same text ``spoolkit/_build.py`` gives cffi).

    python tools/gen_stub.py            # rewrite the stub
    python tools/gen_stub.py --check    # exit 1 when the stub is out of date

Run it after every change to the header; ``tests/test_stub.py`` fails until
the stub matches.  Each struct becomes a class with its fields (one class
stands for a pointer to the struct, an array item and the struct itself, as
cffi lets all three be used alike), each integer C type an array class, and
``ffi.new``/``ffi.from_buffer`` get one overload per C declaration of those
types, so field names, argument counts and argument types are all checked.
A C type this script does not know stops it with an error: extend
``_scalar``/``_param``/``_field`` for it rather than typing it ``Any``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from pycparser import c_ast, c_parser

ROOT = Path(__file__).resolve().parent.parent
HEADER = ROOT / "csrc" / "spoolkit.h"
STUB = ROOT / "spoolkit" / "_spoolkit.pyi"

# C integer types -> the stub's class for a pointer to / array of them
INT_TYPES = {
    "int": "CIntArray", "int16_t": "Int16Array", "int32_t": "Int32Array",
    "int64_t": "Int64Array", "uint8_t": "UInt8Array", "uint16_t": "UInt16Array",
    "uint32_t": "UInt32Array", "uint64_t": "UInt64Array", "size_t": "SizeTArray",
}
# pycparser needs the typedefs that <stdint.h>/<stddef.h> would give
_PRELUDE = "".join(f"typedef int {t};\n" for t in INT_TYPES if t != "int")


class StubError(Exception):
    """The header uses a C construct the generator does not map."""


@dataclass(frozen=True)
class CType:
    """A declarator reduced to what the stub needs: base name, pointer depth,
    array length (None: not an array) and constness of the pointee."""
    base: str
    ptr: int = 0
    array: int | None = None
    const: bool = False

    def __str__(self) -> str:
        return ("const " if self.const else "") + self.base + " *" * self.ptr + (
            "" if self.array is None else f"[{self.array}]")


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple[tuple[str, CType], ...]


@dataclass(frozen=True)
class Function:
    name: str
    result: CType
    params: tuple[tuple[str, CType], ...]


@dataclass(frozen=True)
class Header:
    constants: tuple[tuple[str, int], ...]
    structs: tuple[Struct, ...]
    functions: tuple[Function, ...]


def cdef_text(header: str) -> str:
    """The header as cffi sees it: preprocessor lines dropped (as in _build.py)."""
    return "\n".join(line for line in header.splitlines() if not line.lstrip().startswith("#"))


def _uncomment(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _const_int(node: c_ast.Node) -> int:
    if isinstance(node, c_ast.Constant) and node.type in ("int", "unsigned int", "long int"):
        return int(node.value.rstrip("uUlL"), 0)
    if isinstance(node, c_ast.UnaryOp) and node.op == "-":
        return -_const_int(node.expr)
    raise StubError(f"line {node.coord.line}: not an integer literal: {type(node).__name__}")


def _ctype(node: c_ast.Node) -> CType:
    ptr, array = 0, None
    while True:
        if isinstance(node, c_ast.PtrDecl):
            ptr += 1
            node = node.type
        elif isinstance(node, c_ast.ArrayDecl):
            if ptr or array is not None:
                raise StubError(f"line {node.coord.line}: arrays of pointers or of arrays")
            array = _const_int(node.dim)
            node = node.type
        else:
            break
    if not isinstance(node, c_ast.TypeDecl) or not isinstance(node.type, c_ast.IdentifierType):
        raise StubError(f"line {node.coord.line}: unsupported declarator {type(node).__name__}")
    return CType(" ".join(node.type.names), ptr, array, "const" in node.quals)


def parse(header: str) -> Header:
    """Constants, structs and functions of the header, in header order."""
    ast = c_parser.CParser().parse(_PRELUDE + _uncomment(cdef_text(header)), "spoolkit.h")
    constants: list[tuple[str, int]] = []
    structs: list[Struct] = []
    functions: list[Function] = []
    for node in ast.ext:
        if isinstance(node, c_ast.Typedef) and node.name in INT_TYPES:
            continue                                # the prelude
        inner = node.type
        if isinstance(inner, c_ast.Enum) or (isinstance(inner, c_ast.TypeDecl)
                                             and isinstance(inner.type, c_ast.Enum)):
            enum = inner if isinstance(inner, c_ast.Enum) else inner.type
            value = -1
            for item in enum.values.enumerators:
                value = value + 1 if item.value is None else _const_int(item.value)
                constants.append((item.name, value))
        elif isinstance(node, c_ast.Typedef) and isinstance(inner.type, c_ast.Struct):
            decls = inner.type.decls or []
            structs.append(Struct(node.name, tuple((d.name, _ctype(d.type)) for d in decls)))
        elif isinstance(node, c_ast.Decl) and isinstance(inner, c_ast.FuncDecl):
            params = []
            for p in inner.args.params if inner.args else []:
                t = _ctype(p.type)
                if t == CType("void"):
                    continue
                if p.name is None:
                    raise StubError(f"line {p.coord.line}: {node.name}: unnamed parameter")
                params.append((p.name, t))
            functions.append(Function(node.name, _ctype(inner.type), tuple(params)))
        else:
            raise StubError(f"line {node.coord.line}: unsupported declaration "
                            f"{type(node).__name__} {getattr(node, 'name', '')}")
    return Header(tuple(constants), tuple(structs), tuple(functions))


# ---- C types -> stub types ------------------------------------------------

def _scalar(t: CType, structs: set[str]) -> str:
    if t.base in INT_TYPES:
        return "int"
    raise StubError(f"unsupported scalar type {t}")


def _pointee(t: CType, structs: set[str], what: str) -> str:
    """The stub class of a pointer to / array of t.base (one level)."""
    if t.base == "char":
        return "CharPtr"
    if t.base in INT_TYPES:
        return INT_TYPES[t.base]
    if t.base in structs:
        return t.base
    raise StubError(f"{what}: unsupported type {t}")


def _param(t: CType, structs: set[str], what: str) -> str:
    if t.ptr == 0 and t.array is None:
        return _scalar(t, structs)
    if t.array is not None:
        raise StubError(f"{what}: array parameter {t}")
    if t.ptr == 2 and t.base in structs:
        return f"PtrArray[{t.base}] | NullPtr"
    if t.ptr != 1:
        raise StubError(f"{what}: unsupported pointer depth in {t}")
    if t.base == "char":
        return "bytes | CharPtr | NullPtr" if t.const else "CharPtr | NullPtr"
    if t.base == "uint8_t":
        return ("bytes | " if t.const else "") + "Buffer | UInt8Array | NullPtr"
    if t.base in structs:
        return f"{t.base} | Array[{t.base}] | NullPtr"
    return f"{_pointee(t, structs, what)} | NullPtr"


def _result(t: CType, structs: set[str], what: str) -> str:
    if t == CType("void"):
        return "None"
    if t.ptr == 0 and t.array is None:
        return _scalar(t, structs)
    if t.ptr == 1 and t.array is None:
        return _pointee(t, structs, what)
    raise StubError(f"{what}: unsupported result type {t}")


def _field(name: str, t: CType, structs: set[str], what: str) -> list[str]:
    """Lines of a struct class for one field (a property where cffi reads one
    type and accepts others on assignment)."""
    if t.ptr == 0 and t.array is None:
        if t.base in structs:
            return [f"    {name}: {t.base}"]
        return [f"    {name}: {_scalar(t, structs)}"]
    if t.array is not None:
        if t.base == "char":
            get, put = "CharPtr", "bytes"
        elif t.base == "uint8_t":
            get, put = "UInt8Array", "bytes | Sequence[int] | UInt8Array"
        elif t.base in INT_TYPES:
            get = INT_TYPES[t.base]
            put = f"Sequence[int] | {get}"
        else:
            raise StubError(f"{what}: unsupported array field {t}")
    elif t.ptr == 1 and t.base == "char":
        get, put = "CharPtr", "CharPtr | NullPtr"
    elif t.ptr == 1 and t.base == "uint8_t":
        get, put = "UInt8Array", "Buffer | UInt8Array | NullPtr"
    elif t.ptr == 1 and t.base in structs:
        get, put = t.base, f"{t.base} | Array[{t.base}] | NullPtr"
    else:
        raise StubError(f"{what}: unsupported field type {t}")
    return ["    @property",
            f"    def {name}(self) -> {get}: ...",
            f"    @{name}.setter",
            f"    def {name}(self, value: {put}) -> None: ..."]


# ---- the stub ---------------------------------------------------------------

_HEAD = '''\
"""Types of the compiled C core ``spoolkit._spoolkit`` (cffi, API mode).

GENERATED by tools/gen_stub.py from csrc/spoolkit.h: do not edit; run
``python tools/gen_stub.py`` after changing the header.

Only ``ffi`` and ``lib`` exist at run time.  The classes describe the cdata
objects cffi hands out, for type checking only (import them under
``if TYPE_CHECKING:``): a struct class stands for a pointer to that struct,
an array item and the struct itself; ``<Int>Array`` for a pointer to or an
array of that integer type; ``Buffer`` for bytes seen as ``char[]``
(``ffi.from_buffer``); ``CharPtr`` for C strings; ``NullPtr`` for ``ffi.NULL``.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Final, Generic, Literal, TypeVar, overload, type_check_only

from _typeshed import ReadableBuffer, WriteableBuffer
from typing_extensions import Self

_S = TypeVar("_S")

@type_check_only
class CData:
    """A C value held by cffi (pointers compare by address; NULL is false)."""
    def __eq__(self, other: object, /) -> bool: ...
    def __ne__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __bool__(self) -> bool: ...

@type_check_only
class NullPtr(CData):
    """``ffi.NULL``: accepted for every pointer argument."""

@type_check_only
class CharPtr(CData):
    """``char *`` or ``char[N]``: a C string for ``ffi.string``."""
    def __getitem__(self, index: int, /) -> bytes: ...

@type_check_only
class Buffer(CData):
    """``char[]`` over a Python buffer (``ffi.from_buffer``): C byte memory
    (slices need a start: ``buf[0:n]``)."""
    @overload
    def __getitem__(self, index: int, /) -> bytes: ...
    @overload
    def __getitem__(self, index: slice, /) -> Buffer: ...
    def __len__(self) -> int: ...
    def __add__(self, offset: int, /) -> Buffer: ...

@type_check_only
class CBuffer:
    """``ffi.buffer(cdata, size)``: the raw bytes of C memory."""
    def __buffer__(self, flags: int, /) -> memoryview: ...
    def __len__(self) -> int: ...
    @overload
    def __getitem__(self, index: int, /) -> bytes: ...
    @overload
    def __getitem__(self, index: slice, /) -> bytes: ...
    @overload
    def __setitem__(self, index: int, value: bytes, /) -> None: ...
    @overload
    def __setitem__(self, index: slice, value: ReadableBuffer, /) -> None: ...

@type_check_only
class IntArray(CData):
    """A pointer to or an array of C integers (slices need a start)."""
    @overload
    def __getitem__(self, index: int, /) -> int: ...
    @overload
    def __getitem__(self, index: slice, /) -> Self: ...
    def __setitem__(self, index: int, value: int, /) -> None: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[int]: ...
    def __add__(self, offset: int, /) -> Self: ...

@type_check_only
class Array(CData, Generic[_S]):
    """``S[]``: an array of structs (its items are struct classes; slices need
    a start: ``arr[0:n]``)."""
    @overload
    def __getitem__(self, index: int, /) -> _S: ...
    @overload
    def __getitem__(self, index: slice, /) -> Array[_S]: ...
    def __setitem__(self, index: int, value: _S | Mapping[str, object], /) -> None: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[_S]: ...
    def __add__(self, offset: int, /) -> _S: ...

@type_check_only
class PtrArray(CData, Generic[_S]):
    """``S *[]``: an array of pointers to structs (NULL items compare equal to ffi.NULL)."""
    def __getitem__(self, index: int, /) -> _S: ...
    def __setitem__(self, index: int, value: _S | Array[_S] | NullPtr, /) -> None: ...
    def __len__(self) -> int: ...
'''


def _def(name: str, params: list[str], result: str, overload: bool = False) -> list[str]:
    """A method stub, its parameters one a line when the line would pass 100."""
    head = ["    @overload"] if overload else []
    line = f"    def {name}({', '.join(params)}) -> {result}: ..."
    if len(line) <= 100:
        return head + [line]
    return head + [f"    def {name}("] + [f"        {p}," for p in params] + [
        f"    ) -> {result}: ..."]


def _new_overloads(h: Header, name: str) -> list[str]:
    """The overloads of ``name``: one per C declaration the stub types."""
    decls: list[tuple[str, str]] = []
    for s in h.structs:
        decls += [(f'"{s.name} *"', s.name), (f'"{s.name}[]"', f"Array[{s.name}]"),
                  (f'"{s.name} *[]"', f"PtrArray[{s.name}]")]
    decls += [(f'"{c} *", "{c}[]"', cls) for c, cls in INT_TYPES.items()]
    decls += [('"char[]"', "Buffer")]
    out = []
    for lit, result in decls:
        out += _def(name, ["self", f"cdecl: Literal[{lit}]", "init: object = ..."], result, True)
    return out


def render(header: str) -> str:
    """The stub for the header text."""
    h = parse(header)
    names = {s.name for s in h.structs}
    out = [_HEAD]
    for cls in sorted(set(INT_TYPES.values())):
        ctype = next(c for c, k in INT_TYPES.items() if k == cls)
        out += ["@type_check_only", f"class {cls}(IntArray):",
                f'    """``{ctype} *`` / ``{ctype}[]``."""', ""]
    for s in h.structs:
        out += ["@type_check_only", f"class {s.name}(CData):",
                f'    """``struct {s.name}`` (pointer, array item or value)."""']
        for fname, ftype in s.fields:
            out += _field(fname, ftype, names, f"{s.name}.{fname}")
        out += _def("__getitem__", ["self", "index: int", "/"], s.name) + [""]
    out += ["@type_check_only", "class Allocator:",
            '    """``ffi.new`` and what ``ffi.new_allocator`` returns: a C declaration'
            ' ->\n    its cdata."""']
    out += _new_overloads(h, "__call__") + [""]
    out += ["@type_check_only", "class FFI:",
            '    """The ``ffi`` object of the compiled module (the calls spoolkit uses)."""',
            "    NULL: NullPtr",
            "    error: type[Exception]",
            "    new: Allocator"]
    tail = ["/", "require_writable: bool = False"]
    out += _def("from_buffer", ["self", "python_buffer: ReadableBuffer"] + tail, "Buffer", True)
    for lit, cls in [("char", "Buffer")] + list(INT_TYPES.items()):
        ret = "Buffer" if lit == "char" else cls
        out += _def("from_buffer", ["self", f'cdecl: Literal["{lit}[]"]',
                                    "python_buffer: ReadableBuffer"] + tail, ret, True)
    out += _def("new_allocator", ["self", "alloc: None = None", "free: None = None",
                                  "should_clear_after_alloc: bool = True"], "Allocator")
    out += _def("string", ["self", "cdata: CharPtr | Buffer", "maxlen: int = -1"], "bytes")
    out += _def("buffer", ["self", "cdata: CData", "size: int = -1"], "CBuffer")
    out += _def("sizeof", ["self", "cdecl: str | CData", "/"], "int")
    out += _def("release", ["self", "cdata: CData", "/"], "None")
    out += _def("memmove", ["self", "dest: CData | WriteableBuffer",
                            "src: CData | ReadableBuffer", "n: int"], "None")
    out += ["", "@type_check_only", "class Lib:",
            '    """The ``lib`` object: every constant and function of csrc/spoolkit.h."""']
    out += [f"    {name}: Final = {value}" for name, value in h.constants]
    for f in h.functions:
        params = ["self"] + [f"{p}: {_param(t, names, f'{f.name}({p})')}" for p, t in f.params]
        out += _def(f.name, params + ["/"], _result(f.result, names, f.name))
    out += ["", "ffi: FFI", "lib: Lib", ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when the stub is out of date")
    args = ap.parse_args(argv)
    text = render(HEADER.read_text())
    if args.check:
        if not STUB.exists() or STUB.read_text() != text:
            print(f"{STUB.relative_to(ROOT)} is out of date: run python tools/gen_stub.py",
                  file=sys.stderr)
            return 1
        return 0
    STUB.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
