"""Reporting many per-file problems without flooding: the first few as they happen, then one
line with the count and where the full list was written.

A folder of 50,000 unreadable files would otherwise print 50,000 lines and bury everything
else. Used by the command line (segment, eval, train) for unreadable images and for folders
the listing left out; usable by anything that has a `emit(line)` callable.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

SHOW = 5  # problems shown one per line before the rest are only counted


class ProblemReport:
    """`add()` each problem; `finish()` once at the end.

    The first `show` problems are emitted at once (prefixed with `prefix`); later ones are
    only kept. `finish()` then emits one line: how many more, how many in all, and the file
    holding every problem (written to `list_path`, by default a new file in the temp folder).
    """

    def __init__(self, emit: Callable[[str], None], *, what: str = "problems",
                 prefix: str = "", show: int = SHOW, list_path: Path | None = None,
                 name: str = "segstudio-problems") -> None:
        self.emit = emit
        self.what = what
        self.prefix = prefix
        self.show = show
        self.list_path = list_path
        self.name = name
        self.problems: list[str] = []

    @property
    def count(self) -> int:
        return len(self.problems)

    def add(self, problem: object) -> None:
        line = " ".join(str(problem).split("\n"))
        self.problems.append(line)
        if self.count <= self.show:
            self.emit(self.prefix + line)

    def extend(self, problems: Iterable[object]) -> None:
        for problem in problems:
            self.add(problem)

    def finish(self) -> Path | None:
        """Emit the summary line when problems were held back; returns the full list's path
        (None when every problem was shown, or when the list could not be written)."""
        hidden = self.count - self.show
        if hidden <= 0:
            return None
        path, error = self._write()
        where = (f"the full list is in {path}" if path
                 else f"could not write the full list ({error})")
        self.emit(f"{self.prefix}{hidden} more {self.what} ({self.count} in all); {where}")
        return path

    def _write(self) -> tuple[Path | None, str]:
        text = "\n".join(self.problems) + "\n"
        try:
            if self.list_path is not None:
                path = Path(self.list_path)
                path.write_text(text, encoding="utf-8")
                return path, ""
            stamp = time.strftime("%Y%m%d-%H%M%S")
            fd, name = tempfile.mkstemp(prefix=f"{self.name}-{stamp}-", suffix=".txt")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            return Path(name), ""
        except OSError as e:
            return None, e.strerror or str(e)


def report_all(problems: Iterable[object], emit: Callable[[str], None], **kwargs) -> Path | None:
    """Report a finished collection of problems at once (see ProblemReport)."""
    report = ProblemReport(emit, **kwargs)
    report.extend(problems)
    return report.finish()
