"""Make student submissions from the release and source notebooks: the demo's and the tests' fake class.

A submission is the released notebook with some answers filled in, exactly what a student hands in.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from pathlib import Path

import nbformat

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def read(path: str | Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


def write(nb: nbformat.NotebookNode, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def answer_ids(nb: nbformat.NotebookNode) -> list[str]:
    """The grade ids of every cell a student writes in (autograded and manually graded), in order."""
    return [grade_id(c) for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def strip_markers(source: str) -> str:
    return "\n".join(line for line in source.split("\n") if line.strip() not in SOLUTION_MARKERS)


def fill(release: nbformat.NotebookNode, source: nbformat.NotebookNode,
         ids: Iterable[str] | None = None) -> nbformat.NotebookNode:
    """The release notebook with the answers ``ids`` (default: all) taken from the instructor's solution."""
    wanted = set(answer_ids(release) if ids is None else ids)
    solutions = {grade_id(c): strip_markers(c.source) for c in source.cells if grade_id(c)}
    out = copy.deepcopy(release)
    for cell in out.cells:
        gid = grade_id(cell)
        if gid in wanted and cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = solutions[gid]
    return out


def replace_answer(nb: nbformat.NotebookNode, gid: str, text: str) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose cell ``gid`` holds ``text``."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if grade_id(cell) == gid:
            cell.source = text
            return out
    raise KeyError(gid)
