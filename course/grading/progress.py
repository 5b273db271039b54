"""The grading command's progress bar: students done, failures, elapsed time and an ETA.

On a terminal it redraws one line; in a log (CI, ``nohup``) it prints one line per student instead.
The ETA is the remaining students times the average time per student so far in this run.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Progress over ``total`` students, ``skipped`` of which were already graded by an earlier run."""

    def __init__(self, total: int, *, skipped: int = 0, jobs: int = 1, stream: TextIO | None = None,
                 width: int = 30) -> None:
        self.total, self.skipped, self.jobs, self.width = total, skipped, jobs, width
        self.stream = stream or sys.stderr
        self.live = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = self.failed = 0
        self.start = time.monotonic()

    @property
    def todo(self) -> int:
        return self.total - self.skipped

    def eta(self) -> float | None:
        """Seconds left, from this run's pace; None before the first student finishes."""
        if not self.done:
            return None
        return (time.monotonic() - self.start) / self.done * (self.todo - self.done)

    def line(self) -> str:
        finished = self.skipped + self.done
        filled = int(self.width * finished / self.total) if self.total else self.width
        eta = self.eta()
        return (f"[{'#' * filled}{'.' * (self.width - filled)}] {finished}/{self.total} students"
                f"  {self.failed} failed  {clock(time.monotonic() - self.start)} elapsed"
                f"  ETA {'--:--' if eta is None else clock(eta)}  ({self.jobs} jobs)")

    def begin(self) -> None:
        if self.live:
            self.stream.write("\r" + self.line())
            self.stream.flush()

    def update(self, student: str, status: str) -> None:
        self.done += 1
        self.failed += status != "graded"
        if self.live:
            self.stream.write("\r" + self.line())
            if status != "graded":
                self.stream.write(f"\n  {student}: {status}\n")
        else:
            self.stream.write(f"{self.line()}  {student}: {status}\n")
        self.stream.flush()

    def note(self, text: str) -> None:
        """A line about the run itself (a student graded again, a worker that died)."""
        if self.live:
            self.stream.write(f"\n  {text}\n\r{self.line()}")
        else:
            self.stream.write(f"  {text}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
