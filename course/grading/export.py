"""``nbgrader export`` that writes a CSV a spreadsheet can open safely.

nbgrader's ``CsvExportPlugin`` joins the values with commas as they are: a student id such as ``=2+5``
(the name of a folder in ``submitted/``, or of a submission in the exchange) starts a formula in Excel or
LibreOffice, and one with a comma shifts every column after it. :class:`SafeCsvExportPlugin` writes the
same columns and rows through :func:`course.grading.report.csv_line` (quoted where needed, a carriage
return included), every cell through :func:`course.grading.report.no_formula` (OWASP: a cell starting
with ``= + - @``, a tab or CR gets a leading ``'``; plain numbers stay numbers). ``nbgrader_config.py``
makes it the default::

    c.ExportApp.plugin_class = "course.grading.export.SafeCsvExportPlugin"
"""

from __future__ import annotations

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins.export import CsvExportPlugin

from .report import csv_line

__all__ = ["SafeCsvExportPlugin", "KEYS"]

#: nbgrader's columns, in nbgrader's order.
KEYS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email", "raw_score",
        "late_submission_penalty", "score", "max_score")


class SafeCsvExportPlugin(CsvExportPlugin):
    """nbgrader's CSV export (same columns, rows and options), safe to open in a spreadsheet."""

    def rows(self, gradebook: Gradebook):
        """One dict per (assignment, student), exactly as nbgrader's ``CsvExportPlugin`` computes them."""
        assignments = [str(a) for a in self.assignment]
        students = [str(s) for s in self.student]
        for assignment in gradebook.assignments:
            if assignments and assignment.name not in assignments:
                continue
            for student in gradebook.students:
                if students and student.id not in students:
                    continue
                row = {"assignment": assignment.name, "duedate": assignment.duedate, "student_id": student.id,
                       "last_name": student.last_name, "first_name": student.first_name, "email": student.email,
                       "max_score": assignment.max_score}
                try:
                    submission = gradebook.find_submission(assignment.name, student.id)
                except MissingEntry:  # nothing submitted: a score of zero
                    row.update(timestamp="", raw_score=0.0, late_submission_penalty=0.0, score=0.0)
                else:
                    penalty = submission.late_submission_penalty
                    row.update(timestamp=submission.timestamp, raw_score=submission.score,
                               late_submission_penalty=penalty, score=max(0.0, submission.score - penalty))
                yield {key: "" if row[key] is None else str(row[key]) for key in KEYS}

    def export(self, gradebook: Gradebook) -> None:
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        if self.assignment:
            self.log.info("Exporting only assignments: %s", [str(a) for a in self.assignment])
        if self.student:
            self.log.info("Exporting only students: %s", [str(s) for s in self.student])
        with open(dest, "w", newline="", encoding="utf-8") as handle:
            handle.write(csv_line(list(KEYS)))
            for row in self.rows(gradebook):
                handle.write(csv_line([row[key] for key in KEYS]))
