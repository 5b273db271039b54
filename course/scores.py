"""Read scores out of an nbgrader gradebook, telling autograded checks from written answers.

nbgrader's ``code_score`` counts every code cell with points, including the written answers this course
keeps in code cells; here "autograded" means the test cells only (grade cells that are not answers).
"""

from __future__ import annotations

from dataclasses import dataclass

from nbgrader.api import Gradebook


@dataclass(frozen=True)
class StudentScore:
    student: str
    autograded: float          # points earned on test cells
    autograded_max: float      # points the test cells are worth
    written_max: float         # points of answers a person grades
    written: float | None      # manual points given so far (None while any is pending)
    crashed_cells: tuple[str, ...]  # test cells with no score: the notebook did not run to them


def autograded_cells(gb: Gradebook, assignment: str) -> set[str]:
    """Names of the test cells of an assignment (grade cells that are not also answer cells)."""
    names: set[str] = set()
    for notebook in gb.find_assignment(assignment).notebooks:
        answers = {cell.name for cell in notebook.solution_cells}
        names |= {cell.name for cell in notebook.grade_cells if cell.name not in answers}
    return names


def assignment_scores(db_url: str, course_id: str, assignment: str) -> dict[str, StudentScore]:
    """One :class:`StudentScore` per student who submitted ``assignment``."""
    with Gradebook(db_url, course_id=course_id) as gb:
        tests = autograded_cells(gb, assignment)
        out = {}
        for submission in gb.assignment_submissions(assignment):
            auto = auto_max = written_max = written = 0.0
            pending = False
            crashed = []
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name in tests:
                        auto_max += grade.max_score
                        if grade.auto_score is None and grade.manual_score is None:
                            crashed.append(grade.name)
                        auto += grade.score or 0.0
                    else:
                        written_max += grade.max_score
                        if grade.needs_manual_grade:
                            pending = True
                        written += grade.score or 0.0
            out[submission.student.id] = StudentScore(
                submission.student.id, auto, auto_max, written_max, None if pending else written, tuple(crashed)
            )
        return out
