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
from pathlib import Path

from .. import jsonl


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
        """The last complete entry per student (a line torn by a kill is skipped: that student is graded again)."""
        entries, _ = jsonl.read(self.path)
        return {entry["student"]: entry for entry in entries if "student" in entry}

    def append(self, entry: dict) -> None:
        """Add one student's entry durably (written, flushed and fsync'ed before returning)."""
        jsonl.append(self.path, entry, durable=True)
