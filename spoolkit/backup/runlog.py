"""The run log of a DUMP / LOAD / SCAN / VERIFY, in the spirit of SPXTAPE's:
one line per file (owner, spool ID, type, class, records, pages, result),
then totals (files, pages, bytes, elapsed, rate); and a JSON summary."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Optional, TextIO, Union

from ..output import write_file
from .blocks import PAGE_SIZE, CatalogEntry
from .catalog import Run

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class LogLine:
    owner: str
    spoolid: int
    kind: str
    klass: str
    records: int
    pages: int
    result: str           # DUMPED, LOADED, SKIPPED, REFERENCED, SCANNED, VERIFIED, ERROR
    message: str = ""
    new_spoolid: Optional[int] = None

    def text(self) -> str:
        spid = "%04d" % self.spoolid
        if self.new_spoolid is not None and self.new_spoolid != self.spoolid:
            spid += "->%04d" % self.new_spoolid
        line = "%-8s %-10s %-5s %-1s %9d %7d  %s" % (
            self.owner, spid, self.kind, self.klass, self.records, self.pages, self.result)
        return line + (" " + self.message if self.message else "")

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = dict(self.__dict__)
        d["class"] = d.pop("klass")
        return d


@dataclass
class RunLog:
    """Collects what a run did; ``text()`` and ``to_dict()`` render it."""

    command: str                      # DUMP, LOAD, SCAN, VERIFY, WATCH
    source: str = ""
    target: str = ""
    lines: list[LogLine] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    elapsed: float = 0.0
    pages: int = 0
    bytes: int = 0
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    def add(self, entry: CatalogEntry, result: str, message: str = "", *, count: bool = True,
            new_spoolid: Optional[int] = None) -> LogLine:
        """Log one file."""
        line = LogLine(entry.owner, entry.spoolid, entry.kind, entry.klass, entry.records,
                       entry.pages, result, message, new_spoolid)
        self.lines.append(line)
        if count and result not in ("ERROR", "SKIPPED", "REFERENCED"):
            self.pages += entry.pages
            self.bytes += entry.pages * PAGE_SIZE
        return line

    def finish(self) -> RunLog:
        self.elapsed = time.perf_counter() - self._t0
        return self

    @property
    def files(self) -> int:
        return sum(1 for x in self.lines if x.result not in ("ERROR", "SKIPPED", "REFERENCED"))

    @property
    def errors(self) -> list[LogLine]:
        return [x for x in self.lines if x.result == "ERROR"]

    @property
    def rate(self) -> float:
        """Bytes per second."""
        return self.bytes / self.elapsed if self.elapsed > 0 else 0.0

    def totals(self) -> str:
        return ("Files: %d  Pages: %d  Bytes: %d  Errors: %d  Elapsed: %.3f s  Rate: %.1f MB/s"
                % (self.files, self.pages, self.bytes, len(self.errors), self.elapsed,
                   self.rate / 1e6))

    def text(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.started))
        head = f"spoolkit {self.command} {self.source}"
        if self.target:
            head += f" to {self.target}"
        out = [f"{head}  {when}",
               "%-8s %-10s %-5s %-1s %9s %7s  %s" % ("OWNER", "SPOOLID", "TYPE", "C",
                                                    "RECORDS", "PAGES", "RESULT")]
        out += [x.text() for x in self.lines]
        out.append(self.totals())
        return "\n".join(out) + "\n"

    def to_dict(self) -> dict[str, object]:
        return {
            "command": self.command, "source": self.source, "target": self.target,
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "files": self.files, "pages": self.pages, "bytes": self.bytes,
            "errors": len(self.errors), "elapsed": round(self.elapsed, 6),
            "rate": round(self.rate), "lines": [x.to_dict() for x in self.lines],
        }

    def write(self, path: Optional[str], json_path: Optional[str] = None) -> None:
        """Append the text log to ``path`` (and the JSON summary to ``json_path``)."""
        if path:
            with open(path, "a", encoding="utf-8") as f:
                f.write(self.text())
        if json_path:
            self.write_json(json_path)

    def write_json(self, path: str) -> None:
        """Write the JSON summary to ``path``: a report of this run, so an
        older one there is replaced, atomically (never half-written)."""
        write_file(path, json.dumps(self.to_dict(), indent=2).encode("utf-8"),
                   overwrite=True)

    def emit_to(self, out: TextIO) -> None:
        out.write(self.text())


def write_logs(runlog: RunLog, log: Optional[PathLike], json_log: Optional[PathLike]) -> None:
    """Append the text log to ``log`` and write the JSON summary to ``json_log``."""
    runlog.write(os.fspath(log) if log else None, os.fspath(json_log) if json_log else None)


def problem_line(run: Run, result: str = "ERROR") -> LogLine:
    """The line for a run that is not whole (cut short, or sealed)."""
    return LogLine("*RUN*", 0, "-", "-", 0, 0, result,
                   f"run {run.header.run_id:x} ({run.header.source}): {run.problem}")


def damage_lines(run: Run) -> list[LogLine]:
    """One ERROR line per block a reader of ``run`` had to pass over."""
    return [LogLine("*BLOCK*", 0, "-", "-", 0, 0, "ERROR",
                    f"run {run.header.run_id:x}: {d.text()}") for d in run.damage]


__all__ = ["LogLine", "RunLog", "damage_lines", "problem_line", "write_logs"]
