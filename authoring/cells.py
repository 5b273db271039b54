"""Notebook cells with nbgrader metadata, built deterministically (stable ids, sorted keys, no outputs)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"

#: Released in place of a prose answer kept in a string (see course.nbgrader_ext.TextAnswerStub).
WRITTEN_STUB = "YOUR ANSWER HERE: a few sentences or bullet points."


def _clean(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _nbgrader(grade_id: str, *, grade: bool = False, solution: bool = False, locked: bool = False,
              points: float | None = None) -> dict:
    meta = {"grade": grade, "solution": solution, "locked": locked, "grade_id": grade_id, "schema_version": 3}
    if grade:
        meta["points"] = points
    return {"nbgrader": meta}


@dataclass
class Cell:
    """One cell of a session before it becomes an nbformat cell."""

    kind: str  # "markdown" | "code"
    source: str
    cell_id: str | None = None
    metadata: dict = field(default_factory=dict)
    #: A test cell's case sources (course.grading.cases): read by the grader, never written to the notebook.
    cases: tuple = ()
    #: What the session's data file (course/data/<id>.sample.json) needs from this cell; not in the notebook.
    data: dict = field(default_factory=dict)

    def to_nbformat(self, fallback_id: str):
        maker = new_markdown_cell if self.kind == "markdown" else new_code_cell
        cell = maker(self.source, metadata=dict(self.metadata))
        cell["id"] = self.cell_id or fallback_id
        return cell


def md(text: str, *, locked: bool = False, cell_id: str | None = None) -> Cell:
    """Prose. ``locked`` makes it read-only and checksummed (problem statements)."""
    meta = _nbgrader(cell_id, locked=True) if locked and cell_id else {}
    return Cell("markdown", _clean(text), cell_id, meta)


def code(text: str, *, cell_id: str | None = None, locked: bool = False) -> Cell:
    """A code cell the student runs as is (set-up, widgets, diagrams)."""
    meta = _nbgrader(cell_id, locked=True) if locked and cell_id else {}
    return Cell("code", _clean(text), cell_id, meta)


def answer(grade_id: str, text: str, *, stub: str | None = None) -> Cell:
    """An autograded answer: code with a ``### BEGIN/END SOLUTION`` region the release replaces with a stub.

    ``stub`` replaces the usual ``raise NotImplementedError()`` where the answer is text in a string
    (a diagram, DDL, an API listing): the release then holds a comment saying what to write.
    """
    body = _clean(text)
    if BEGIN not in body or END not in body:
        raise ValueError(f"answer {grade_id!r} needs a {BEGIN} ... {END} region")
    meta = _nbgrader(grade_id, solution=True)
    if stub:
        meta["course"] = {"stub": stub}
    return Cell("code", body, grade_id, meta)


def tests(grade_id: str, points: float, visible: str, cases=(), *, data: dict | None = None) -> Cell:
    """A locked test cell: visible checks for instant feedback in the student's kernel.

    At grading its source is not run: the grader judges ``cases`` (case sources, see
    ``course.grading.cases``) outside the kernel, and the cell's score is theirs.
    """
    if not cases:
        raise ValueError(f"test cell {grade_id!r} needs grading cases")
    return Cell("code", _clean(visible), grade_id, _nbgrader(grade_id, grade=True, locked=True, points=points),
                cases=tuple(cases), data=dict(data or {}))


def written(grade_id: str, points: float, model_answer: str) -> Cell:
    """A manually graded prose answer kept in a string, so a widget can react to it once it is written."""
    body = f'{grade_id} = """\n{BEGIN}\n{_clean(model_answer)}\n{END}\n"""'
    meta = _nbgrader(grade_id, grade=True, solution=True, points=points)
    meta["course"] = {"stub": WRITTEN_STUB}
    return Cell("code", body, grade_id, meta)


def notebook(cells: list[Cell], *, prefix: str) -> nbformat.NotebookNode:
    """Assemble cells into a notebook with stable ids (``prefix-NN`` where a cell has none)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"},
        "language_info": {"name": "python"},
    }
    seen: set[str] = set()
    for index, cell in enumerate(cells):
        node = cell.to_nbformat(f"{prefix}-{index:02d}")
        if node["id"] in seen:
            raise ValueError(f"duplicate cell id {node['id']!r}")
        seen.add(node["id"])
        nb.cells.append(node)
    nbformat.validate(nb)
    return nb
