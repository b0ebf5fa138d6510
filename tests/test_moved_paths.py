"""The old import paths of moved modules keep working until spoolkit 0.2 (the
backup feature's under spoolkit.spool, spoolkit.tape.detect): each warns
(DeprecationWarning naming the new path) and gives the very objects of the
new home, and a monkeypatch through an old path reaches the code that moved."""

from __future__ import annotations

import os
import subprocess
import sys
import types
import warnings

import pytest
from conftest import ROOT

from spoolkit import backup

#: every public top-level name the old modules defined (spoolkit 0.1.0)
OLD = {
    "spoolkit.spool.archive": [
        "VERSION", "PAGE_SIZE", "PAGES_PER_BLOCK", "ENTRIES_PER_BLOCK", "MAGIC_RUN",
        "MAGIC_FILE", "MAGIC_PAGES", "MAGIC_CATALOG", "MAGICS", "ENTRY_REF", "CATALOG_LAST",
        "CATALOG_SEALED", "seal", "check_block", "block_kind", "RunHeader", "FileHeader",
        "encode_pages", "decode_pages", "CatalogEntry", "Catalog", "encode_catalog",
        "decode_catalog_block", "crc32c"],
    "spoolkit.spool.archio": [
        "ArchiveFile", "RunWriter", "Damage", "Run", "read_runs", "recover_run",
        "seal_torn_run", "describe_tape", "plan_append", "goto", "read_file",
        "resolve_latest"],
    "spoolkit.spool.backup": [
        "PathLike", "Identity", "Selector", "NotAnArchiveError", "ArchiveRef", "as_ref",
        "is_volume", "VolumeSource", "VolumeTarget", "catalog_entry", "EntryView",
        "as_selector", "file_identity", "archive_file", "spoolfile_from_archive",
        "restore_file", "ScanResult", "scan", "dump", "load", "verify", "watch",
        "open_source"],
    "spoolkit.spool.mdisk": ["RECORD", "MAGIC", "TM_FLAG", "protected_extents",
                             "MinidiskTape"],
    "spoolkit.spool.tapeio": ["PathLike", "TAPEMARK", "NotATapeError", "format_for",
                              "check_tape_file", "disk_kind", "open_archive_tape",
                              "read_next"],
    "spoolkit.spool.runlog": ["LogLine", "RunLog"],
    "spoolkit.tape.detect": ["HEAD", "DEVICE_IDS", "TAPES", "FileKind", "tape_format",
                             "kind_of_bytes", "file_kind"],
}
#: where each old module's names went (the first module its warning names)
NEW = {name: "spoolkit.backup" for name in OLD} | {"spoolkit.tape.detect": "spoolkit.kinds"}


def _fresh_import(name: str) -> tuple[types.ModuleType, list[warnings.WarningMessage]]:
    sys.modules.pop(name, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        __import__(name)             # (no Python frame between: the warning names this file)
    mod = sys.modules[name]
    return mod, [w for w in caught if issubclass(w.category, DeprecationWarning)]


def _moved_home(obj: object) -> bool:
    """A class or function of the old module is the one defined in its new home."""
    if not isinstance(obj, (type, types.FunctionType)):
        return True                   # constants and type aliases: present is enough
    home = sys.modules[obj.__module__]
    return obj.__module__ not in OLD and getattr(home, obj.__name__) is obj


@pytest.mark.parametrize("name", sorted(OLD))
def test_old_module_warns_and_gives_the_new_objects(name):
    mod, caught = _fresh_import(name)
    assert len(caught) == 1, [str(w.message) for w in caught]
    text = str(caught[0].message)
    assert text.startswith(f"{name} is deprecated: use {NEW[name]}") and "0.2" in text
    assert caught[0].filename == __file__           # the warning points at the importer
    for attr in OLD[name]:
        assert _moved_home(getattr(mod, attr)), attr
    with pytest.raises(AttributeError):
        mod.no_such_name  # noqa: B018


def test_a_renamed_function_keeps_its_old_name():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from spoolkit.spool import backup as old
    from spoolkit.backup.target import open_target_volume

    assert old._open_target_volume is open_target_volume


def test_star_import_of_an_old_module():
    ns: dict[str, object] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        exec("from spoolkit.spool.archive import *", ns)
    from spoolkit.backup import blocks

    assert ns["CatalogEntry"] is blocks.CatalogEntry and ns["crc32c"] is blocks.crc32c


@pytest.mark.parametrize("verb", ["dump", "load", "scan", "verify", "watch"])
def test_old_package_names_warn(verb):
    import spoolkit.spool

    with pytest.warns(DeprecationWarning, match=f"spoolkit.spool.{verb} is deprecated: use "
                                                f"spoolkit.backup.{verb}"):
        got = getattr(spoolkit.spool, verb)
    assert got is getattr(backup, verb)
    assert verb not in spoolkit.spool.__all__
    with pytest.raises(AttributeError):
        spoolkit.spool.no_such_name  # noqa: B018


def test_monkeypatch_through_an_old_path_reaches_the_moved_code(monkeypatch, tmp_path):
    """A run's ID comes from time.time() where RunWriter lives: patching it
    through spoolkit.spool.archio changes the archive written."""
    from memtape import MemTape

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from spoolkit.spool import archio
    monkeypatch.setattr(archio, "time", types.SimpleNamespace(time=lambda: 12.5))
    tape = MemTape()
    writer = archio.RunWriter(tape, "SRC")
    writer.finish()
    assert writer.header.run_id == 12_500_000
    monkeypatch.undo()
    assert archio.RunWriter(MemTape(), "SRC").header.run_id != 12_500_000


def test_spool_alone_does_not_import_backup():
    """The spool format layer stands without the backup feature above it."""
    code = ("import sys, spoolkit.spool, spoolkit.spool.volume; "
            "print(sorted(m for m in sys.modules if m.startswith('spoolkit.backup')))")
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", code],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "[]"


def test_tape_detect_is_spoolkit_kinds(tmp_path):
    """spoolkit.tape.detect (the file-kind sniffers, now spoolkit.kinds) names
    a file's kind as before, and what is assigned through it lands in kinds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from spoolkit.tape import detect
    from spoolkit import kinds

    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    assert detect.file_kind(text) == kinds.file_kind(text)
    assert detect.file_kind(text).kind == "text"
    assert detect.file_kind(tmp_path / "missing").kind == "missing"
    assert detect.kind_of_bytes(b"CKD_P370" + bytes(504), 512).kind == "ckd"
    assert sorted(detect.__all__) == sorted(kinds.__all__)
    saved = kinds.HEAD
    try:
        detect.HEAD = 17
        assert kinds.HEAD == 17
    finally:
        kinds.HEAD = saved


def test_alias_machinery_is_one_module():
    """Every old module is made by spoolkit._moved.alias (no copies of it)."""
    from spoolkit import _moved

    for name in OLD:
        src = (ROOT / (name.replace(".", "/") + ".py")).read_text()
        assert "from .._moved import alias" in src and "class " not in src, name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        mods = [__import__(name, fromlist=["_"]) for name in OLD]
    assert all(isinstance(m, _moved.MovedModule) for m in mods)
