"""Class analytics on a real graded fake class: the tables, the figures, the command and the notebook."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
from matplotlib.figure import Figure

from course import submissions
from course.demo import api_for, make_course
from course.grading import analytics
from tests.fake_students import SESSION, student
from tests.helpers import ROOT

pytestmark = pytest.mark.e2e

STUDENTS = ["perfect", "perfect2", "wrong", "hardcoded", "untouched", "patch_everything"]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course_dir = make_course(tmp_path_factory.mktemp("analytics"))
    api = api_for(course_dir)
    assert api.generate_assignment(SESSION, force=True)["success"]
    release = submissions.read(course_dir / "release" / SESSION / f"{SESSION}.ipynb")
    source = submissions.read(course_dir / "source" / SESSION / f"{SESSION}.ipynb")
    for name in STUDENTS:
        nb = release if name == "untouched" else student(release, source, "perfect" if name == "perfect2" else name)
        submissions.write(nb, course_dir / "submitted" / name / SESSION / f"{SESSION}.ipynb")
    assert api.autograde(SESSION, "*", force=True)["success"]
    return course_dir


@pytest.fixture(scope="module")
def data(course):
    return analytics.load(SESSION, course)


def test_score_distribution(data):
    table = analytics.score_distribution(data).set_index("student")
    assert set(table.index) == set(STUDENTS)
    assert table.loc["perfect", "percent"] == 100 and table.loc["perfect", "autograded"] == 27
    assert table.loc["untouched", "autograded"] == 0
    assert 0 < table.loc["wrong", "percent"] < 100
    assert table.loc["hardcoded", "autograded"] == table.loc["wrong", "autograded"]  # traffic lost, as for wrong
    assert (table["written_max"] == 8).all()
    assert table.drop(index="untouched")["written"].isna().all()  # answers written: a person still has to grade
    assert table.loc["untouched", "written"] == 0  # nothing written: nbgrader scores it 0 itself
    assert table.loc["patch_everything", "flags"] >= 1 and table.loc["perfect", "flags"] == 0
    assert list(analytics.score_distribution(data)["percent"]) == sorted(table["percent"], reverse=True)


def test_pass_rates_in_notebook_order(data):
    rates = analytics.pass_rates(data).set_index("cell")
    assert list(rates.index)[:3] == ["test_assumptions", "test_traffic", "test_storage"]
    assert rates.loc["test_traffic", "students"] == 6
    assert rates.loc["test_traffic", "passed"] == 2  # perfect, perfect2; wrong, hardcoded, patch_everything and untouched fail
    assert rates.loc["test_traffic", "pass_rate"] == pytest.approx(2 / 6, abs=1e-3)
    assert rates.loc["test_storage", "passed"] == 5  # only the untouched notebook fails storage


def test_hardest_checks(course):
    hardest = analytics.hardest_checks(course, SESSION, top=None)
    assert list(hardest["students"]) == sorted(hardest["students"], reverse=True)
    hidden = hardest[hardest["hidden"] & (hardest["cell"] == "test_traffic")]
    assert "messages_per_second" in set(hidden["check"])  # the hard-coded student: right on the sample only
    assert "new scenario" in hidden[hidden["check"] == "messages_per_second"].iloc[0]["example"]
    visible = hardest[~hardest["hidden"] & (hardest["cell"] == "test_traffic")]
    row = visible[visible["check"] == "messages_per_second"].iloc[0]
    assert row["students"] == 3 and "expected 57.9 K msg/s" in row["example"]  # wrong, patch_everything, untouched


def test_flagged_submissions_from_the_scan_then_from_the_grading_report(course):
    flagged = analytics.flagged_submissions(course, SESSION)
    assert "patch_everything" in set(flagged["student"])
    row = flagged.set_index("student").loc["patch_everything"]
    assert "builtins-patch" in row["rules"] and "builtins.abs" in row["details"]
    assert "hardcoded" in set(flagged["student"])
    assert not {"perfect", "wrong", "untouched"} & set(flagged["student"])
    report = course / "autograded" / f"{SESSION}.csv"
    with report.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["student", "score", "max_score", "status", "flags"])
        writer.writeheader()
        writer.writerow({"student": "wrong", "score": 19, "max_score": 24, "status": "graded",
                         "flags": "exit: cell 3 line 1: sys.exit(...); signal: cell 3 line 2: imports signal"})
        writer.writerow({"student": "perfect", "score": 24, "max_score": 24, "status": "graded", "flags": ""})
    try:
        from_csv = analytics.flagged_submissions(course, SESSION)
        assert list(from_csv["student"]) == ["wrong"]
        assert from_csv.iloc[0]["flags"] == 2 and from_csv.iloc[0]["rules"] == "exit, signal"
    finally:
        report.unlink()


def test_figures(data):
    distribution, rates = analytics.score_distribution(data), analytics.pass_rates(data)
    histogram, chart = analytics.score_histogram(distribution), analytics.pass_rate_chart(rates)
    assert isinstance(histogram, Figure) and isinstance(chart, Figure)
    assert sum(p.get_height() for p in histogram.axes[0].patches) == len(STUDENTS)
    assert len(chart.axes[0].patches) == len(rates)


def test_command_prints_the_four_tables(course):
    result = subprocess.run([sys.executable, "-m", "course", "analytics", SESSION, "--course-dir", str(course)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    for heading in ("Score distribution (6 students)", "Pass rate per test cell", "Hardest checks",
                    "Flagged submissions"):
        assert heading in result.stdout
    assert "patch_everything" in result.stdout


def test_the_instructor_notebook_runs_and_is_stored_without_outputs(course):
    import nbformat
    from nbclient import NotebookClient

    path = ROOT / "instructor" / "class_analytics.ipynb"
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in nb.cells if c.cell_type == "code")
    env = {"COURSE_DIR": str(course), "COURSE_ASSIGNMENT": SESSION}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT / "instructor")}}).execute()
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum(1 for o in outputs if "image/png" in o.get("data", {})) == 2
    assert any("patch_everything" in str(o.get("data", {})) for o in outputs)
