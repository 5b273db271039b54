"""``autograded/ASSIGNMENT.csv``: one row per student, where a crash can never pass for a zero.

Columns: ``student, score, max_score, status, flags``. ``score`` is the autograded points (test cells;
written answers are for a person, in formgrader) and is empty when nothing of the notebook could be
scored; ``status`` is ``graded`` or ``failed: <reason>``; ``flags`` come from ``course.grading.scan``.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path

COLUMNS = ("student", "score", "max_score", "status", "flags")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def rows(students: list[str], outcomes: dict[str, dict], scores: dict, max_score: float, test_cells: int) -> list[dict]:
    """The CSV rows: ``outcomes`` from the journal, ``scores`` from ``course.scores.assignment_scores``.

    A student none of whose ``test_cells`` has a score (nothing ran) gets an empty score, not 0.
    """
    out = []
    for student in students:
        outcome = outcomes.get(student, {})
        score = scores.get(student)
        scored = score is not None and len(score.crashed_cells) < test_cells
        out.append({
            "student": student,
            "score": _number(score.autograded if scored else None),
            "max_score": _number(max_score),
            "status": outcome.get("status", "failed: not graded"),
            "flags": outcome.get("flags", ""),
        })
    return out


def write_csv(path: Path, table: list[dict]) -> Path:
    """Write the table atomically: readers see the old file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
