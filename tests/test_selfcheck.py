"""Self-check: one command grades a learner's notebook with the hidden tests, reports, and fails loudly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from course import submissions
from course.grading.selfcheck import SelfCheckError, find_assignment, selfcheck
from tests.fake_students import SESSION, student
from tests.helpers import ROOT, release_nb, source_nb


def _write(tmp_path, name, filename):
    release, source = submissions.read(release_nb(SESSION)), submissions.read(source_nb(SESSION))
    nb = release if name == "untouched" else student(release, source, name)
    return submissions.write(nb, tmp_path / filename)


@pytest.mark.e2e
def test_a_perfect_notebook_passes_with_exit_0_and_a_feedback_page(tmp_path):
    path = _write(tmp_path / "work", "perfect", f"{SESSION}.ipynb")
    result = subprocess.run([sys.executable, "-m", "course", "selfcheck", str(path)], cwd=ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ test_traffic" in result.stdout and "✗" not in result.stdout
    assert "Autograded: 27 / 27. Every check passed." in result.stdout
    page = path.with_name(f"{SESSION}.feedback.html")
    assert page.is_file() and "__sdl_probe" not in page.read_text(encoding="utf-8")


@pytest.mark.e2e
def test_hard_coded_answers_fail_the_hidden_checks_with_exit_1(tmp_path):
    path = _write(tmp_path / "anywhere", "hardcoded", "my attempt.ipynb")  # found by its test cells
    result = subprocess.run([sys.executable, "-m", "course", "selfcheck", str(path),
                             "--feedback", str(tmp_path / "out" / "fb.html")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"({SESSION})" in out
    assert "✗ test_traffic" in out and "0 / 3" in out
    assert "messages_per_second on a new scenario (1): expected" in out
    assert "✓ test_storage" in out
    assert (tmp_path / "out" / "fb.html").is_file()
    assert "__sdl_probe" not in (tmp_path / "out" / "fb.html").read_text(encoding="utf-8")


@pytest.mark.e2e
def test_an_untouched_release_reports_every_question_and_tampering_earns_nothing(tmp_path):
    report = selfcheck(_write(tmp_path, "untouched", f"{SESSION}.ipynb"))
    assert not report.passed and report.score == 0 and report.max_score == 27
    assert [c.name for c in report.cells][:2] == ["test_assumptions", "test_traffic"]
    assert all(c.reason for c in report.cells)
    assert "`assumptions` is not defined: run the answer cell above" in report.cells[0].reason
    tampered = selfcheck(_write(tmp_path / "t", "input_transformer", f"{SESSION}.ipynb"))
    traffic = next(c for c in tampered.cells if c.name == "test_traffic")
    assert traffic.score == 0 and "got no answer back from your notebook" in traffic.reason
    assert tampered.flags  # the scan names the hook for a person


def test_the_assignment_is_found_by_name_folder_or_test_cells(tmp_path):
    assert find_assignment(release_nb(SESSION)) == SESSION
    folder = _write(tmp_path / SESSION, "perfect", "copy.ipynb")
    assert find_assignment(folder) == SESSION
    anywhere = _write(tmp_path / "x", "perfect", "Untitled.ipynb")
    assert find_assignment(anywhere) == SESSION


def test_a_notebook_of_no_session_is_refused_clearly(tmp_path):
    path = tmp_path / "notes.ipynb"
    path.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    with pytest.raises(SelfCheckError, match="matches no session"):
        find_assignment(path)
    with pytest.raises(SelfCheckError, match="no such notebook"):
        selfcheck(tmp_path / "missing.ipynb")
