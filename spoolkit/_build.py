"""cffi builder for spoolkit's C core (API mode, out of line).

``csrc/spoolkit.h`` is both the C API and the cdef: preprocessor lines are
dropped and the rest is handed to cffi verbatim.  Every ``csrc/*.c`` file is
compiled in, with libdeflate (the copy vendored in ``csrc/vendor/libdeflate``,
or the system's when ``SPOOLKIT_SYSTEM_LIBDEFLATE=1``), zlib and bzip2.  The
package version is compiled into the extension so that a stale build is
caught at import.
"""

import os
import re
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parent.parent
CSRC = ROOT / "csrc"
# libdeflate 1.26 is vendored: Debian 12's 1.14 compresses this project's
# track and tape content 20-45% slower at levels 4-6 (bench/bench_cckd.py).
LIBDEFLATE = CSRC / "vendor" / "libdeflate"
SYSTEM_LIBDEFLATE = os.environ.get("SPOOLKIT_SYSTEM_LIBDEFLATE", "") not in ("", "0")


def _rel(path: Path) -> str:
    # setuptools wants source paths relative to setup.py
    return os.path.relpath(path, ROOT)


def _version() -> str:
    text = (ROOT / "spoolkit" / "_version.py").read_text()
    match = re.search(r'__version__\s*=\s*"([^"]+)"', text)
    if not match:
        raise RuntimeError("spoolkit/_version.py has no __version__")
    return match.group(1)


def _cdef() -> str:
    lines = (CSRC / "spoolkit.h").read_text().splitlines()
    return "\n".join(line for line in lines if not line.lstrip().startswith("#"))


def _sources() -> list[str]:
    files = list(CSRC.glob("*.c"))
    if not SYSTEM_LIBDEFLATE:
        files += (CSRC / "vendor").glob("ld_*.c")  # one wrapper per libdeflate file
    return sorted(_rel(p) for p in files)


ffibuilder = FFI()
ffibuilder.cdef(_cdef())
ffibuilder.set_source(
    "spoolkit._spoolkit",
    '#include "spoolkit.h"',
    sources=_sources(),
    include_dirs=[_rel(CSRC)] + ([] if SYSTEM_LIBDEFLATE else [_rel(LIBDEFLATE)]),
    libraries=(["deflate"] if SYSTEM_LIBDEFLATE else []) + ["z", "bz2"],
    # the small-input compressor is a second build of the vendored libdeflate
    define_macros=[("SPK_VERSION_STR", '"%s"' % _version()),
                   ("SPK_SMALL_DEFLATE", "0" if SYSTEM_LIBDEFLATE else "1")],
    extra_compile_args=["-std=c11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter",
                        "-D_GNU_SOURCE"],
    # export PyInit only, so the vendored libdeflate never clashes with a system copy
    extra_link_args=[f"-Wl,--version-script={CSRC / 'exports.map'}"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
