"""``autograded/ASSIGNMENT.csv``: one row per student, where a crash can never pass for a zero.

Columns: ``student, score, max_score, status, flags``. ``score`` is the autograded points (test cells;
written answers are for a person, in formgrader) and is empty when nothing of the notebook could be
scored; ``status`` is ``graded`` or ``failed: <reason>``; ``flags`` come from ``course.grading.scan``.

Every cell is safe to open in a spreadsheet: a student's folder name such as ``=HYPERLINK(...)`` or
``+2+5`` would otherwise start a formula. :func:`no_formula` prefixes such a cell with a single quote, as
OWASP recommends (a cell that is a plain number is left alone; applying it twice changes nothing);
:func:`from_csv` undoes it when the file is read back. ``flags`` and ``status`` quote the student's code
(names, grade ids), so they go through :func:`safe_cell`: a short, safe character set, nothing verbatim.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from pathlib import Path

COLUMNS = ("student", "score", "max_score", "status", "flags")

#: What a spreadsheet may read as the start of a formula (OWASP's list), and the quote that defuses it.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: Characters a free-text cell (flags, status) keeps; any other becomes "?". No control characters,
#: no ``<>&"`` or backquotes, nothing outside ASCII (no bidi overrides or look-alike letters).
SAFE_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:;()[]{}'=+-*/!?#%|~^@$")
#: The longest free-text cell: longer text is cut and ends with "...".
MAX_CELL = 1000
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def no_formula(value: object) -> str:
    """``value`` as a CSV cell no spreadsheet runs: one starting with ``= + - @``, a tab or CR gets a ``'``.

    Plain numbers (``-1.5``) stay numbers. Idempotent: a cell that starts with ``'`` is left as it is.
    """
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def from_csv(cell: str) -> str:
    """The value :func:`no_formula` was given, from a CSV cell read back (drops the quote it added).

    (A value that itself began with ``'`` and a formula character, such as ``'=x``, reads back as ``=x``.)
    """
    return cell[1:] if cell.startswith("'") and cell[1:2] and cell[1:].startswith(FORMULA_STARTS) else cell


def safe_cell(text: object, max_length: int = MAX_CELL) -> str:
    """Text from a student (flags quoting their code, grade ids, folder names) made safe for any CSV cell.

    Keeps :data:`SAFE_CHARACTERS` (others become ``?``; runs of white space one space), at most
    ``max_length`` characters, and never starts a formula (:func:`no_formula`).
    """
    words = " ".join(("" if text is None else str(text)).split())
    cleaned = "".join(ch if ch in SAFE_CHARACTERS else "?" for ch in words)
    if len(cleaned) > max_length:
        cleaned = cleaned[: max(0, max_length - 3)].rstrip() + "..."
    return no_formula(cleaned)


def csv_line(cells: list[object]) -> str:
    """One CSV row ending in a newline, each cell through :func:`no_formula`, quoted where needed.

    A cell holding a carriage return is quoted too (``csv`` quotes only the characters of its line
    terminator, and a bare CR would start a new row for most readers).
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([no_formula(cell) for cell in cells])
    return buffer.getvalue()[:-2] + "\n"


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
            "status": safe_cell(outcome.get("status", "failed: not graded")),
            "flags": safe_cell(outcome.get("flags", "")),
        })
    return out


def write_csv(path: Path, table: list[dict]) -> Path:
    """Write the table atomically: readers see the old file or the new one, never half of one.

    Every cell goes through :func:`no_formula` (the student's id too).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    buffer.write(csv_line(list(COLUMNS)))
    for row in table:
        extra = set(row) - set(COLUMNS)
        if extra:
            raise ValueError(f"not a column of the report: {sorted(extra)}")
        buffer.write(csv_line([row.get(column, "") for column in COLUMNS]))
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
