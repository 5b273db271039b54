"""The real nbgrader cycle with a fake class: release → submit → autograde → feedback → export.

Each fake student proves one promise: a perfect answer earns every autograded point, an untouched
release earns none, hard-coded sample numbers fail the hidden tests, and edited or deleted test cells
earn nothing.
"""

from __future__ import annotations

import csv
import re

import pytest
from nbgrader.api import Gradebook

from authoring.sessions import SESSIONS
from course import submissions
from course.demo import api_for, make_course
from course.scores import assignment_scores

pytestmark = pytest.mark.e2e

def hardcoded(release, source, spec):
    """The perfect answers, except every estimation function returns the sample figure typed in."""
    nb = submissions.fill(release, source)
    groups = {}
    for name, values in spec.EXPECTED.items():
        groups.setdefault(_group_of(source, name), []).append((name, values["sample"]))
    for gid, items in groups.items():
        text = "\n\n".join(f"def {name}(a):\n    return q({value!r})" for name, value in items)
        nb = submissions.replace_answer(nb, gid, text)
    return nb


def _group_of(source, function_name):
    for cell in source.cells:
        if f"def {function_name}(" in cell.source:
            return submissions.grade_id(cell)
    raise KeyError(function_name)


def wrong_answers(release, source, spec):
    """The perfect answers, except the first estimation group returns ten times the sample figures."""
    nb = submissions.fill(release, source)
    name = next(iter(spec.EXPECTED))
    gid = _group_of(source, name)
    names = [n for n in spec.EXPECTED if _group_of(source, n) == gid]
    text = "\n\n".join(f"def {n}(a):\n    return q({spec.EXPECTED[n]['sample']!r}) * 10" for n in names)
    return submissions.replace_answer(nb, gid, text), f"test_{gid}"


def edited_tests(release, source, spec):
    nb, _ = wrong_answers(release, source, spec)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code" and "test_" in (submissions.grade_id(cell) or ""):
            cell.source = "pass"
            cell.metadata["nbgrader"]["points"] = 100
    return nb


def deleted_tests(release, source, spec):
    nb, _ = wrong_answers(release, source, spec)
    nb.cells = [c for c in nb.cells if not (submissions.grade_id(c) or "").startswith("test_")]
    return nb


@pytest.fixture(scope="module", params=list(SESSIONS))
def graded(request, tmp_path_factory):
    SESSION = request.param
    course_dir = make_course(tmp_path_factory.mktemp("class"))
    api = api_for(course_dir)
    assert api.generate_assignment(SESSION, force=True)["success"]
    release = submissions.read(course_dir / "release" / SESSION / f"{SESSION}.ipynb")
    source = submissions.read(course_dir / "source" / SESSION / f"{SESSION}.ipynb")
    spec = SESSIONS[SESSION]
    class_ = {
        "perfect": submissions.fill(release, source),
        "untouched": release,
        "hardcoded": hardcoded(release, source, spec),
        "wrong": wrong_answers(release, source, spec)[0],
        "edited_tests": edited_tests(release, source, spec),
        "deleted_tests": deleted_tests(release, source, spec),
    }
    for student, nb in class_.items():
        submissions.write(nb, course_dir / "submitted" / student / SESSION / f"{SESSION}.ipynb")
    result = api.autograde(SESSION, "*", force=True)
    assert result["success"], result.get("error")
    assert api.generate_feedback(SESSION, "*", force=True)["success"]
    summary = assignment_scores(api.coursedir.db_url, api.coursedir.course_id, SESSION)
    max_code = summary["perfect"].autograded_max
    scores = {name: s.autograded for name, s in summary.items()}
    with Gradebook(api.coursedir.db_url, course_id=api.coursedir.course_id) as gb:
        per_cell = {
            s.student.id: {g.name: (g.auto_score, g.max_score) for nb in s.notebooks for g in nb.grades}
            for s in gb.assignment_submissions(SESSION)
        }
    estimation_tests = sorted({f"test_{_group_of(source, n)}" for n in spec.EXPECTED})
    written = [submissions.grade_id(c) for c in source.cells
               if c.metadata.get("nbgrader", {}).get("grade") and c.metadata["nbgrader"].get("solution")]
    return {"session": SESSION, "dir": course_dir, "api": api, "max": max_code, "scores": scores,
            "cells": per_cell, "estimation_tests": estimation_tests, "written": written,
            "first_group": wrong_answers(release, source, spec)[1]}


def test_autograded_points_are_what_the_notebook_says(graded):
    session = graded["session"]
    source = submissions.read(graded["dir"] / "source" / session / f"{session}.ipynb")
    points = sum(c.metadata["nbgrader"]["points"] for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))
    assert graded["max"] == points > 0


def test_perfect_student_gets_full_autograded_marks(graded):
    assert graded["scores"]["perfect"] == graded["max"]


def test_untouched_release_gets_nothing(graded):
    assert graded["scores"]["untouched"] == 0
    assert graded["written"], "every session has written deep-dive answers"
    for name in graded["written"]:
        assert graded["cells"]["untouched"][name][0] == 0, name


def test_hardcoded_sample_numbers_fail_the_hidden_tests(graded):
    """Estimates that return the sample's figures lose every estimation check, and the curveball's too:
    the grader re-runs them on the changed assumptions of other scenarios."""
    cells = graded["cells"]["hardcoded"]
    failing = [*graded["estimation_tests"], "test_curveball"]
    for group in failing:
        assert cells[group][0] == 0, group
    lost = sum(cells[g][1] for g in failing)
    assert lost > 0
    assert graded["scores"]["hardcoded"] == graded["max"] - lost


@pytest.mark.parametrize("student", ["edited_tests", "deleted_tests"])
def test_tampered_tests_earn_nothing_for_wrong_answers(graded, student):
    """Same wrong answers as the honest 'wrong' student, test cells edited or deleted: no extra point."""
    cells = graded["cells"][student]
    assert cells[graded["first_group"]][0] == 0
    assert graded["scores"]["wrong"] < graded["max"]
    assert graded["scores"][student] == graded["scores"]["wrong"]


def test_feedback_is_written_without_hidden_tests(graded):
    session = graded["session"]
    html = (graded["dir"] / "feedback" / "perfect" / session / f"{session}.html").read_text()
    assert "Session " in html
    assert "BEGIN HIDDEN TESTS" not in html


def test_export_writes_one_row_per_student(graded, tmp_path):
    from nbgrader.apps import NbGraderAPI  # noqa: F401  (the API above already configured nbgrader)
    import subprocess
    import sys

    out = tmp_path / "grades.csv"
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", f"--to={out}",
         f"--CourseDirectory.db_url={graded['api'].coursedir.db_url}", f"--assignment={graded['session']}"],
        cwd=graded["dir"], capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"perfect", "untouched", "hardcoded", "wrong", "edited_tests", "deleted_tests"}
    assert float(rows["untouched"]["score"]) == 0
    # nbgrader's export sums every cell; written answers are pending a person, so they add nothing yet.
    assert float(rows["perfect"]["score"]) == graded["max"]
    written_max = sum(graded["cells"]["perfect"][n][1] for n in graded["written"])
    assert float(rows["perfect"]["max_score"]) == graded["max"] + written_max
    assert re.fullmatch(r"\d+(\.\d+)?", rows["perfect"]["max_score"])
