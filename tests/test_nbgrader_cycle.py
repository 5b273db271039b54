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

SESSION = "session1_chat"


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


def wrong_answers(nb):
    """Every estimation function off by a factor of ten."""
    for cell in nb.cells:
        if "def messages_per_second(" in cell.source:
            cell.source = cell.source.replace('.to("msg/s")', '.to("msg/s") * 10')
    return nb


def edited_tests(release, source):
    nb = wrong_answers(submissions.fill(release, source))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code" and "test_" in (submissions.grade_id(cell) or ""):
            cell.source = "pass"
            cell.metadata["nbgrader"]["points"] = 100
    return nb


def deleted_tests(release, source):
    nb = wrong_answers(submissions.fill(release, source))
    nb.cells = [c for c in nb.cells if not (submissions.grade_id(c) or "").startswith("test_")]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
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
        "edited_tests": edited_tests(release, source),
        "deleted_tests": deleted_tests(release, source),
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
    return {"dir": course_dir, "api": api, "max": max_code, "scores": scores, "cells": per_cell}


def test_autograded_points_are_what_the_notebook_says(graded):
    source = submissions.read(graded["dir"] / "source" / SESSION / f"{SESSION}.ipynb")
    points = sum(c.metadata["nbgrader"]["points"] for c in source.cells
                 if c.metadata.get("nbgrader", {}).get("grade") and not c.metadata["nbgrader"].get("solution"))
    assert graded["max"] == points == 24


def test_perfect_student_gets_full_autograded_marks(graded):
    assert graded["scores"]["perfect"] == graded["max"]


def test_untouched_release_gets_nothing(graded):
    assert graded["scores"]["untouched"] == 0
    written = {name: score for name, (score, _) in graded["cells"]["untouched"].items()
               if name in ("offline_delivery", "group_chat", "message_ordering")}
    assert written == {"offline_delivery": 0, "group_chat": 0, "message_ordering": 0}


def test_hardcoded_sample_numbers_fail_the_hidden_tests(graded):
    cells = graded["cells"]["hardcoded"]
    for group in ("test_traffic", "test_storage", "test_bandwidth", "test_connections"):
        assert cells[group][0] == 0, group
    assert graded["scores"]["hardcoded"] == graded["max"] - sum(cells[g][1] for g in
                                                              ("test_traffic", "test_storage", "test_bandwidth", "test_connections"))


@pytest.mark.parametrize("student", ["edited_tests", "deleted_tests"])
def test_tampered_tests_earn_nothing_for_wrong_answers(graded, student):
    cells = graded["cells"][student]
    assert cells["test_traffic"] == (0, 3)
    assert cells["test_bandwidth"][0] == 0
    assert graded["scores"][student] < graded["max"]


def test_feedback_is_written_without_hidden_tests(graded):
    html = (graded["dir"] / "feedback" / "perfect" / SESSION / f"{SESSION}.html").read_text()
    assert "Session 1" in html
    assert "BEGIN HIDDEN TESTS" not in html


def test_export_writes_one_row_per_student(graded, tmp_path):
    from nbgrader.apps import NbGraderAPI  # noqa: F401  (the API above already configured nbgrader)
    import subprocess
    import sys

    out = tmp_path / "grades.csv"
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", f"--to={out}",
         f"--CourseDirectory.db_url={graded['api'].coursedir.db_url}"],
        cwd=graded["dir"], capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    assert set(rows) == {"perfect", "untouched", "hardcoded", "edited_tests", "deleted_tests"}
    assert float(rows["untouched"]["score"]) == 0
    # nbgrader's export sums every cell; written answers are pending a person, so they add nothing yet.
    assert float(rows["perfect"]["score"]) == graded["max"]
    assert float(rows["perfect"]["max_score"]) == graded["max"] + 6
    assert re.fullmatch(r"\d+(\.\d+)?", rows["perfect"]["max_score"])
