"""Which students are graded: an append-only journal that makes re-running the grading command safe.

``autograded/.grading/ASSIGNMENT.jsonl`` gets one line per graded student, appended and fsync'ed the
moment nbgrader has finished with them (gradebook written, feedback generated). A student counts as done
when their latest line carries the fingerprint of what is in ``submitted/`` now; the runner also checks
that the gradebook still holds their scores. Killing the command loses at most the students in flight:
their line was never written, so the next run grades them again (nbgrader overwrites their partial
gradebook rows and autograded copy; nothing is duplicated). A torn last line is ignored.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def fingerprint(folder: Path) -> str:
    """A hash of every file a student submitted for an assignment (names and contents, ``timestamp.txt`` too)."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class Journal:
    """The grading journal of one assignment in one course folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def for_assignment(cls, autograded_dir: Path, assignment: str) -> "Journal":
        return cls(Path(autograded_dir) / ".grading" / f"{assignment}.jsonl")

    def latest(self) -> dict[str, dict]:
        """The last complete entry per student."""
        entries: dict[str, dict] = {}
        try:
            lines = self.path.read_text().splitlines()
        except FileNotFoundError:
            return entries
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a kill: that student is graded again
            if isinstance(entry, dict) and "student" in entry:
                entries[entry["student"]] = entry
        return entries

    def append(self, entry: dict) -> None:
        """Add one student's entry durably (written, flushed and fsync'ed before returning)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(entry, sort_keys=True) + "\n"
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size and not self._ends_with_newline(fd):
                line = "\n" + line  # a torn line before us stays on its own line
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    @staticmethod
    def _ends_with_newline(fd: int) -> bool:
        size = os.fstat(fd).st_size
        return os.pread(fd, 1, size - 1) == b"\n"
