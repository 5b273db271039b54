"""Feedback never shows the hidden tests, yet says which question failed and why, in plain words.

A small fake class goes through a real autograde and ``generate_feedback``; the HTML pages are searched
for the hidden tests' source, the hidden scenarios' inputs and any traceback of a test cell.
"""

from __future__ import annotations

import html
import re

import pytest

from authoring.sessions import SESSIONS
from course import submissions
from course.demo import api_for, make_course
from course.grading.scan import strip_hidden
from course.nbgrader_ext import INTEGRITY_ENAME, is_test_cell
from tests.fake_students import SESSION, student

pytestmark = pytest.mark.e2e

STUDENTS = ["perfect", "wrong", "hardcoded", "untouched", "f3_input_transformer", "rigged_eq"]


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


def _hidden_blocks(source) -> list[str]:
    blocks = []
    for cell in source.cells:
        if is_test_cell(cell) and "### BEGIN HIDDEN TESTS" in cell.source:
            blocks.append(cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].split("### END HIDDEN TESTS", 1)[0])
    return blocks


def _secret_literals(source, release) -> set[str]:
    """The hidden scenarios' inputs, and every hidden line of code, that the notebook does not show anyway."""
    shown = "\n".join(cell.source for cell in release.cells)  # and what the reference answers contain:
    shown += "\n".join(strip_hidden(cell.source) for cell in source.cells)
    secrets = {value for scenario in SESSIONS[SESSION].HIDDEN.values() for value in scenario.values()
               if " " in value}  # "20 M user", "300 K conn/server": bare numbers such as 2.5 are everywhere
    secrets |= {line.strip() for block in _hidden_blocks(source) for line in block.splitlines() if len(line.strip()) > 12}
    return {s for s in secrets if s not in shown}


@pytest.mark.parametrize("name", STUDENTS)
def test_no_hidden_test_source_in_the_feedback(feedback, name):
    page = feedback["pages"][name]
    text = _text(page)
    for marker in ("BEGIN HIDDEN", "END HIDDEN", "_check(", "_expect_equal(", "_assert_architecture(",
                   "course.grading", "<check cell", "application/vnd.course", "__import__("):
        assert marker not in text and marker not in page, marker


@pytest.mark.parametrize("name", STUDENTS)
def test_no_hidden_scenario_input_and_no_test_traceback_in_the_feedback(feedback, name):
    text = _text(feedback["pages"][name])
    leaked = sorted(s for s in _secret_literals(feedback["source"], feedback["release"]) if s in text)
    assert not leaked, leaked
    # A test cell's error is one line, "CheckFailed: ..."; no frame of the checks is quoted.
    for grade_id, chunk in _test_cells(feedback["pages"][name], feedback["source"]).items():
        assert "Traceback" not in chunk and "File " not in _text(chunk), grade_id


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


def test_a_hidden_failure_says_which_question_and_why(feedback):
    text = _text(feedback["pages"]["hardcoded"])
    assert "CheckFailed: hidden check: messages_per_second (scenario 'small'): expected" in text
    assert "6.25× too high" in text  # the reason in plain words: how far off, and which way
    chunk = _text(_test_cells(feedback["pages"]["hardcoded"], feedback["source"])["test_traffic"])
    assert "Grade cell: test_traffic" in chunk and "Score: 0.0 / 3.0" in chunk


def test_a_visible_failure_names_the_likely_mistake(feedback):
    text = _text(feedback["pages"]["wrong"])
    assert "CheckFailed: messages_per_second: expected 57.9 K msg/s (±2%), got 579 K msg/s, 10× too high." in text


def test_a_perfect_notebook_shows_only_passes(feedback):
    text = _text(feedback["pages"]["perfect"])
    assert "CheckFailed" not in text and INTEGRITY_ENAME not in text
    assert "Public checks passed for traffic" in text


def test_tampering_is_explained_not_hidden(feedback):
    assert f"{INTEGRITY_ENAME}: this check cell did not run to the end under the grader's supervision" in \
        _text(feedback["pages"]["f3_input_transformer"])
    assert "messages_per_second: expected a quantity such as" in _text(feedback["pages"]["rigged_eq"])


def test_an_unanswered_question_says_so(feedback):
    text = _text(feedback["pages"]["untouched"])
    assert "NameError: name 'assumptions' is not defined" in text or "NotImplementedError" in text
