"""Feedback never shows how the grader works inside, yet says which question failed and why, in plain words.

A small fake class goes through a real autograde and ``generate_feedback``; the HTML pages are searched
for the grader's probe, anything the kernel printed while it was probed, and any traceback of a test cell.
"""

from __future__ import annotations

import html
import re

import pytest

from course import submissions
from course.demo import api_for, make_course
from course.nbgrader_ext import is_test_cell
from tests.fake_students import SESSION, student

pytestmark = pytest.mark.e2e

STUDENTS = ["perfect", "wrong", "hardcoded", "untouched", "input_transformer", "rigged_objects", "leak_and_frames"]


@pytest.fixture(scope="module")
def feedback(tmp_path_factory):
    course_dir = make_course(tmp_path_factory.mktemp("feedback"))
    api = api_for(course_dir)
    assert api.generate_assignment(SESSION, force=True)["success"]
    release = submissions.read(course_dir / "release" / SESSION / f"{SESSION}.ipynb")
    source = submissions.read(course_dir / "source" / SESSION / f"{SESSION}.ipynb")
    for name in STUDENTS:
        nb = release if name == "untouched" else student(release, source, name)
        submissions.write(nb, course_dir / "submitted" / name / SESSION / f"{SESSION}.ipynb")
    assert api.autograde(SESSION, "*", force=True)["success"]
    assert api.generate_feedback(SESSION, "*", force=True)["success"]
    pages = {name: (course_dir / "feedback" / name / SESSION / f"{SESSION}.html").read_text(encoding="utf-8")
             for name in STUDENTS}
    return {"pages": pages, "source": source, "release": release}


def _text(page: str) -> str:
    """The page as a reader sees it: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page))


@pytest.mark.parametrize("name", STUDENTS)
def test_no_grader_internals_and_no_traceback_in_the_feedback(feedback, name):
    page = feedback["pages"][name]
    text = _text(page)
    for marker in ("__sdl_probe", "grader probe", "course.grading", "application/vnd.sysdesign-lab",
                   "LEAK: Assumptions", "LEAK-FRAME: ["):  # what the leaky student prints, not its code
        assert marker not in text and marker not in page, marker
    for grade_id, chunk in _test_cells(page, feedback["source"]).items():  # a check's failure is a card
        assert "File " not in _text(chunk) and "Traceback" not in _text(chunk), grade_id


def _test_cells(page: str, source) -> dict[str, str]:
    """Each test cell's part of the page: from its ``id="cell-id=<grade id>"`` to the next cell."""
    out = {}
    for cell in source.cells:
        if is_test_cell(cell):
            grade_id = submissions.grade_id(cell)
            start = page.index(f'id="cell-id={grade_id}"')
            end = page.find('<div class="cell ', start)
            out[grade_id] = page[start:end if end > 0 else None]
    return out


def test_a_failure_on_new_inputs_says_which_question_and_why(feedback):
    chunk = _text(_test_cells(feedback["pages"]["hardcoded"], feedback["source"])["test_traffic"])
    assert "Grade cell: test_traffic" in chunk and "Score: 0.0 / 3.0" in chunk
    assert "0 of 4 answers right" in chunk
    assert re.search(r"messages_per_second on a new scenario \(\d\): expected [\d.,]+ [KMG]? ?msg/s \(±2%\), got "
                     r"57\.9 K msg/s, [\d.]+× too (high|low)", chunk), chunk


def test_a_wrong_figure_names_the_likely_mistake(feedback):
    chunk = _text(_test_cells(feedback["pages"]["wrong"], feedback["source"])["test_traffic"])
    assert "messages_per_second on the sample scenario: expected 57.9 K msg/s (±2%), got 579 K msg/s, 10× too high." in chunk


def test_a_perfect_notebook_shows_only_passes(feedback):
    text = _text(feedback["pages"]["perfect"])
    assert "CheckFailed" not in text and "✗" not in text
    assert "✓ all 4 answers are right." in text


def test_cheating_is_explained_as_what_the_grader_got(feedback):
    chunk = _text(_test_cells(feedback["pages"]["rigged_objects"], feedback["source"])["test_traffic"])
    assert "expected a number with units" in chunk
    chunk = _text(_test_cells(feedback["pages"]["input_transformer"], feedback["source"])["test_traffic"])
    assert "got no answer back from your notebook" in chunk


def test_an_unanswered_question_says_so(feedback):
    text = _text(feedback["pages"]["untouched"])
    assert "still the `raise NotImplementedError()` stub" in text
    assert "`assumptions` is not defined: run the answer cell above" in text
