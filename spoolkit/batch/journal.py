"""The batch journal: one SQLite database per output directory
(``DIR/spoolkit-batch.sqlite``, WAL mode) recording every image a job
started and finished.  Only the coordinating process writes it.

Schema (version 1; documented in docs/batch.md)::

    meta(key TEXT PRIMARY KEY, value TEXT)           -- 'schema' = '1'
    runs(id INTEGER PRIMARY KEY, job TEXT, options TEXT /* JSON */,
         runner TEXT, workers INTEGER, started REAL, finished REAL)
    images(id INTEGER PRIMARY KEY, job TEXT, path TEXT, name TEXT,
           size INTEGER, mtime_ns INTEGER, sha256 TEXT,
           status TEXT /* running | ok | failed */, kind TEXT, output TEXT,
           bytes_in INTEGER, bytes_out INTEGER, started REAL, seconds REAL,
           error_type TEXT, error TEXT, result TEXT /* JSON */,
           run_id INTEGER REFERENCES runs(id), UNIQUE(job, path))
    facts(image_id INTEGER REFERENCES images(id) ON DELETE CASCADE,
          key TEXT, value TEXT /* JSON */, PRIMARY KEY(image_id, key))
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Optional

from ..errors import FormatError
from ..jsonvalue import JSONValue
from .sources import JOURNAL_NAME, Source

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, job TEXT NOT NULL, options TEXT NOT NULL, runner TEXT NOT NULL,
    workers INTEGER, started REAL NOT NULL, finished REAL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY, job TEXT NOT NULL, path TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT,
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed')),
    kind TEXT, output TEXT, bytes_in INTEGER, bytes_out INTEGER,
    started REAL, seconds REAL, error_type TEXT, error TEXT, result TEXT,
    run_id INTEGER REFERENCES runs(id), UNIQUE (job, path));
CREATE TABLE IF NOT EXISTS facts (
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    key TEXT NOT NULL, value TEXT, PRIMARY KEY (image_id, key));
"""

STATUSES = ("running", "ok", "failed")


@dataclass
class Outcome:
    """What a job did with one image (made in the worker, journaled by the
    coordinator)."""

    status: str                       # "ok" or "failed"
    kind: str = ""
    output: Optional[str] = None      # relative to the batch's directory
    bytes_in: int = 0
    bytes_out: int = 0
    seconds: float = 0.0
    error_type: Optional[str] = None
    error: Optional[str] = None
    result: dict[str, JSONValue] = field(default_factory=dict)
    facts: dict[str, JSONValue] = field(default_factory=dict)


def journal_path(directory: str) -> str:
    return os.path.join(directory, JOURNAL_NAME)


class Journal:
    """The journal of ``directory`` (created with the directory's first batch)."""

    def __init__(self, directory: str, *, create: bool = True) -> None:
        self.path = journal_path(directory)
        if not create and not os.path.exists(self.path):
            from ..errors import NotFoundError
            raise NotFoundError("no batch journal here (spoolkit-batch.sqlite)",
                                path=directory)
        self.db = sqlite3.connect(self.path, timeout=30.0)
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            # WAL stays consistent through a crash; NORMAL spares an fsync per image (a
            # power loss may forget the last few, which the next run redoes)
            self.db.execute("PRAGMA synchronous=NORMAL")
            with self.db:
                self.db.executescript(SCHEMA)
                row = self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
                if row is None:
                    self.db.execute("INSERT INTO meta VALUES ('schema', ?)",
                                    (str(SCHEMA_VERSION),))
                elif row[0] != str(SCHEMA_VERSION):
                    raise FormatError(f"journal schema {row[0]}, this spoolkit reads "
                                      f"{SCHEMA_VERSION}", path=self.path)
        except sqlite3.DatabaseError as exc:
            self.db.close()
            raise FormatError(f"not a batch journal: {exc}", path=self.path) from None

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs -----------------------------------------------------------------
    def begin_run(self, job: str, options: Mapping[str, JSONValue], runner: str,
                  workers: int) -> int:
        with self.db:
            cur = self.db.execute(
                "INSERT INTO runs (job, options, runner, workers, started) VALUES (?,?,?,?,?)",
                (job, json.dumps(dict(options), sort_keys=True), runner, workers, time.time()))
        return int(cur.lastrowid or 0)

    def end_run(self, run_id: int) -> None:
        with self.db:
            self.db.execute("UPDATE runs SET finished=? WHERE id=?", (time.time(), run_id))

    # -- images ---------------------------------------------------------------
    def finished(self, job: str, src: Source, *, retry_failed: bool = False) -> bool:
        """True when ``src`` (same path, size, mtime, and hash when given)
        has a finished entry for ``job``."""
        row = self.db.execute("SELECT size, mtime_ns, sha256, status FROM images "
                              "WHERE job=? AND path=?", (job, src.path)).fetchone()
        if row is None or row[3] == "running" or (retry_failed and row[3] == "failed"):
            return False
        if (row[0], row[1]) != (src.size, src.mtime_ns):
            return False
        return src.sha256 is None or row[2] == src.sha256

    def status(self, job: str, src: Source) -> Optional[str]:
        """The status of the entry of ``src`` for ``job`` (None: no entry)."""
        row = self.db.execute("SELECT status FROM images WHERE job=? AND path=?",
                              (job, src.path)).fetchone()
        return None if row is None else str(row[0])

    def start_many(self, job: str, sources: list[Source], run_id: int) -> None:
        """Record that ``sources`` are being worked on (before any output is
        written), in one transaction."""
        now = time.time()
        with self.db:
            self.db.executemany("DELETE FROM images WHERE job=? AND path=?",
                                [(job, s.path) for s in sources])
            self.db.executemany(
                "INSERT INTO images (job, path, name, size, mtime_ns, sha256, status, started,"
                " run_id) VALUES (?,?,?,?,?,?,'running',?,?)",
                [(job, s.path, s.name, s.size, s.mtime_ns, s.sha256, now, run_id)
                 for s in sources])

    def finish(self, job: str, src: Source, out: Outcome) -> None:
        """Record the outcome of ``src``: one transaction, facts included."""
        with self.db:
            self.db.execute(
                "UPDATE images SET status=?, kind=?, output=?, bytes_in=?, bytes_out=?,"
                " seconds=?, error_type=?, error=?, result=? WHERE job=? AND path=?",
                (out.status, out.kind, out.output, out.bytes_in, out.bytes_out, out.seconds,
                 out.error_type, out.error, json.dumps(out.result, sort_keys=True), job,
                 src.path))
            (image_id,) = self.db.execute("SELECT id FROM images WHERE job=? AND path=?",
                                          (job, src.path)).fetchone()
            self.db.execute("DELETE FROM facts WHERE image_id=?", (image_id,))
            self.db.executemany("INSERT INTO facts VALUES (?,?,?)",
                                [(image_id, k, json.dumps(v, sort_keys=True))
                                 for k, v in sorted(out.facts.items())])

    def rows(self, job: Optional[str] = None) -> Iterator[dict[str, JSONValue]]:
        """Every image entry (``job``: of that job), by job and path, facts included."""
        sql = ("SELECT id, job, path, name, size, mtime_ns, sha256, status, kind, output,"
               " bytes_in, bytes_out, seconds, error_type, error, result FROM images")
        args: tuple[str, ...] = ()
        if job is not None:
            sql += " WHERE job=?"
            args = (job,)
        cols = ["id", "job", "path", "name", "size", "mtime_ns", "sha256", "status", "kind",
                "output", "bytes_in", "bytes_out", "seconds", "error_type", "error", "result"]
        for r in self.db.execute(sql + " ORDER BY job, path", args).fetchall():
            d: dict[str, JSONValue] = dict(zip(cols, r))
            d["result"] = json.loads(str(d["result"])) if d["result"] else None
            d["facts"] = {k: json.loads(v) for k, v in self.db.execute(
                "SELECT key, value FROM facts WHERE image_id=? ORDER BY key", (d["id"],))}
            del d["id"]
            yield d


__all__ = ["Journal", "Outcome", "SCHEMA", "SCHEMA_VERSION", "journal_path"]
