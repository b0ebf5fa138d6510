"""Names of split plain CKD volumes, and opening a volume by its base name.

Hercules splits a plain CKD volume over 2 GB into files ``vol_1.3390``,
``vol_2.3390``, ... (at most 27: ``_1`` .. ``_9``, then ``_A`` .. ``_R``).
The rules here are Hercules' own, character for character, on the path as
given (``dasdutil.c`` ``open_ckd_image`` and ``ckddasd.c``
``ckd_dasd_init_handler``):

* **file 1** of the set named ``path`` (:func:`first_split_name`): ``_1``
  inserted before the first dot after the last ``/``; when the two characters
  before that dot are already ``_`` and one more (``vol_x.3390``), that one
  becomes ``1``; a name without a dot gets ``_1`` appended (or its last
  character replaced after a ``_``).
* **file k** (:func:`split_name`): the character before the first dot after
  the last ``/`` of file 1's name (the last character without a dot) becomes
  ``k``.
* **opening** (:func:`locate`): a name that does not exist, whose file 1
  does, opens the set, as ``dasdls vol.3390`` does.

``dasdinit`` itself names the files of a dotless ``vol`` ``vo1``, ``vo2``
(its test of the character before the end is inverted), which no Hercules
tool opens by the base name either; spoolkit creates ``vol_1``, ``vol_2``,
the names the readers look for.
"""

from __future__ import annotations

import os

from ..lazy import attributes

TYPE_CHECKING = False  # typing costs every command's start
if TYPE_CHECKING:
    from typing import Optional

    from ..output import PathLike as PathLike
else:
    def _output_names() -> dict[str, object]:
        from ..output import PathLike

        return {"PathLike": PathLike}

    __getattr__ = attributes(__name__, ("PathLike",), _output_names, globals())

#: files in a split set (Hercules' CKD_MAXFILES)
MAX_FILES = 27
#: device ids of the images Hercules opens through a split-set base name
_CKD_IDS = (b"CKD_P370", b"CKD_P064", b"CKD_C370", b"CKD_C064")


#: the characters naming files 1..27 of a split set
SEQ_CHARS = "123456789ABCDEFGHIJKLMNOPQR"


def seq_char(k: int) -> str:
    """The character naming file ``k`` (1..27) of a split set: 1..9, A..R."""
    if not 1 <= k <= MAX_FILES:
        raise ValueError(f"a split set has files 1..{MAX_FILES}, not {k}")
    return str(k) if k <= 9 else chr(ord("A") + k - 10)


def _seq_pos(path: str) -> int:
    """Index in ``path`` of the character ckddasd replaces for files 2..:
    the one before the first dot of the file name that is not its first
    character, else the last.  (Hercules searches from the separator, so a
    file name starting with a dot would have the separator replaced.)"""
    dot = path.find(".", path.rfind(os.sep) + 2)
    return (dot if dot >= 0 else len(path)) - 1


def split_name(first: str, k: int) -> str:
    """Name of file ``k`` (1-based) of the split set whose file 1 is ``first``."""
    pos = _seq_pos(first)
    return first[:pos] + seq_char(k) + first[pos + 1:]


def first_split_name(path: str) -> str:
    """Name of file 1 of the split set with base name ``path``."""
    sep = path.rfind(os.sep)
    dot = path.find(".", max(sep, 0))
    if dot >= 0:
        if dot > 2 and path[dot - 2] == "_":
            return path[:dot - 1] + "1" + path[dot:]
        return path[:dot] + "_1" + path[dot:]
    if len(path) < 2 or path[-2] != "_":
        return path + "_1"
    return path[:-1] + "1"


def family(path: PathLike) -> list[str]:
    """Every name a plain volume created at ``path`` may occupy: ``path``
    itself and files 1..27 of a split set with that base name."""
    p = os.fspath(path)
    first = first_split_name(p)
    return list(dict.fromkeys([p] + [split_name(first, k) for k in range(1, MAX_FILES + 1)]))


def _is_ckd_image(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8) in _CKD_IDS
    except OSError:
        return False


def split_set_of(path: PathLike) -> Optional[tuple[str, list[str]]]:
    """(base name, files in order) of the split set that ``path`` is a file
    of, or None: the set's files 1, 2, ... exist (at least two) and are CKD
    images, and no file has the base name itself (it would open instead)."""
    p = os.fspath(path)
    pos = _seq_pos(p)
    if pos < 1 or p[pos - 1] != "_" or p[pos] not in SEQ_CHARS:
        return None
    first = p[:pos] + "1" + p[pos + 1:]
    base = p[:pos - 1] + p[pos + 1:]
    if first_split_name(base) != first or os.path.lexists(base):
        return None
    files = []
    for k in range(1, MAX_FILES + 1):
        name = split_name(first, k)
        if not os.path.isfile(name):
            break
        files.append(name)
    if len(files) < 2 or p not in files or not all(_is_ckd_image(f) for f in files):
        return None
    return base, files


def locate(path: PathLike) -> str:
    """The file to open for the CKD volume named ``path``: ``path`` itself
    when it exists; else, as Hercules' utilities do, file 1 of the split set
    with that base name when it exists and is a CKD image; else ``path``
    (opening it then says there is no such file)."""
    p = os.fspath(path)
    if os.path.exists(p):
        return p
    first = first_split_name(p)
    if first != p and os.path.isfile(first) and _is_ckd_image(first):
        return first
    return p


__all__ = ["MAX_FILES", "SEQ_CHARS", "family", "first_split_name", "locate", "seq_char",
           "split_name", "split_set_of"]
