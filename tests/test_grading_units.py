"""The grading command's parts on their own: journal, fingerprints, CSV, progress, failure words, scan hook."""

from __future__ import annotations

import io
import sys
import types

import pytest
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from course.grading import journal, progress, report, worker
from course.grading.execute import GradingExecute, failure_reason
from course.scores import StudentScore


def test_journal_keeps_the_latest_entry_per_student_and_survives_a_torn_line(tmp_path):
    log = journal.Journal(tmp_path / "a.jsonl")
    assert log.latest() == {}
    log.append({"student": "ann", "status": "failed: timed out"})
    log.append({"student": "bob", "status": "graded"})
    with open(log.path, "a") as handle:
        handle.write('{"student": "cyd", "sta')  # the command was killed while writing
    log.append({"student": "ann", "status": "graded"})
    latest = log.latest()
    assert set(latest) == {"ann", "bob"}
    assert latest["ann"]["status"] == "graded"
    assert log.path.read_text().count("\n") == 4  # the torn line stays on a line of its own


def test_fingerprint_changes_with_any_submitted_file(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    first = journal.fingerprint(tmp_path)
    assert journal.fingerprint(tmp_path) == first
    (tmp_path / "timestamp.txt").write_text("2026-01-01 10:00:00")
    second = journal.fingerprint(tmp_path)
    assert second != first
    (tmp_path / "a.ipynb").write_text('{"x": 1}')
    assert journal.fingerprint(tmp_path) not in (first, second)


def _score(student, auto, crashed=()):
    return StudentScore(student, auto, 10.0, 4.0, None, tuple(crashed))


def test_report_rows_never_show_a_crash_as_a_zero():
    outcomes = {"ann": {"status": "graded", "flags": ""}, "bob": {"status": "graded"},
                "cyd": {"status": "failed: invalid notebook"}, "dan": {"status": "failed: kernel died", "flags": "x"}}
    scores = {"ann": _score("ann", 7.5), "bob": _score("bob", 0.0), "cyd": _score("cyd", 0.0, ["t1", "t2"]),
              "dan": _score("dan", 3.0)}
    rows = {r["student"]: r for r in report.rows(["ann", "bob", "cyd", "dan", "eve"], outcomes, scores, 10.0, 2)}
    assert rows["ann"] == {"student": "ann", "score": "7.5", "max_score": "10", "status": "graded", "flags": ""}
    assert rows["bob"]["score"] == "0"  # a real zero
    assert rows["cyd"]["score"] == ""  # nothing ran: no score, and the status says why
    assert rows["dan"]["score"] == "3" and rows["dan"]["flags"] == "x"
    assert rows["eve"]["status"] == "failed: not graded" and rows["eve"]["score"] == ""


def test_report_csv_is_replaced_atomically(tmp_path):
    path = tmp_path / "out" / "a.csv"
    report.write_csv(path, [{"student": "ann", "score": "1", "max_score": "2", "status": "graded", "flags": "a, b"}])
    assert path.read_text() == 'student,score,max_score,status,flags\nann,1,2,graded,"a, b"\n'
    report.write_csv(path, [])
    assert path.read_text() == "student,score,max_score,status,flags\n"
    assert [p.name for p in path.parent.iterdir()] == ["a.csv"]  # no temporary file left


def test_progress_prints_a_line_per_student_with_an_eta_when_not_a_terminal():
    out = io.StringIO()
    bar = progress.Progress(4, skipped=1, jobs=2, stream=out)
    bar.begin()
    bar.update("ann", "graded")
    bar.update("bob", "failed: timed out")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert "2/4 students" in lines[0] and "ann: graded" in lines[0] and "ETA" in lines[0]
    assert "3/4 students  1 failed" in lines[1] and "bob: failed: timed out" in lines[1]
    assert bar.eta() is not None


def test_clock_formats():
    assert progress.clock(5) == "0:05"
    assert progress.clock(3725) == "1:02:05"


def test_failure_words():
    assert failure_reason(DeadKernelError("Kernel died"), started=True) == "kernel died"
    assert failure_reason(CellTimeoutError("Timeout waiting for IOPub output"), started=True) == "timed out"
    assert failure_reason(RuntimeError("Kernel didn't respond in 60 seconds"), started=False) == "kernel did not start"
    assert failure_reason(RuntimeError("Kernel died before replying to kernel_info"), started=False) == \
        "kernel did not start"


def test_a_kernel_whose_sandbox_cannot_start_is_reported_with_the_reason(tmp_path):
    import glob
    import os

    from nbformat.v4 import new_code_cell, new_notebook
    from traitlets.config import Config

    from course.grading.execute import RECORDS

    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    config = Config()
    config.SandboxedKernelManager.bwrap = str(fake)
    config.VerifiedExecute.course_root = str(tmp_path)  # its .grading-secret goes there
    execute = GradingExecute(config=config, kernel_name="python3", startup_timeout=30)
    RECORDS["ann/a"] = record = {}
    try:
        with pytest.raises(RuntimeError):  # nothing ran: nbgrader's own failure handling takes over
            execute.preprocess(new_notebook(cells=[new_code_cell("1")]),
                               {"nbgrader": {"course_grading": "ann/a", "assignment": "session1_chat",
                                             "notebook": "session1_chat", "student": "ann"},
                                "metadata": {"path": str(tmp_path)}})
    finally:
        RECORDS.clear()
    failure = record["failures"][0]
    assert failure["reason"] == "kernel did not start"
    assert "Permission denied" in failure["kernel_log"]
    assert glob.glob(f"/tmp/sdl-kernel-{os.getpid()}-*") == []  # its private folders are gone


def test_cells_that_did_not_run_are_marked_so_they_score_nothing():
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
    from nbgrader.utils import determine_grade

    meta = {"nbgrader": {"grade": True, "solution": False, "points": 2, "grade_id": "t", "locked": True,
                         "schema_version": 3}}
    nb = new_notebook(cells=[new_code_cell("x = 1"), new_markdown_cell("m"), new_code_cell("assert x", metadata=meta)])
    GradingExecute._mark_not_run(nb, 0, "kernel died")
    assert nb.cells[0].outputs[0]["ename"] == "GradingFailure"
    assert "while this cell was running" in nb.cells[0].outputs[0]["evalue"]
    assert "not run" in nb.cells[2].outputs[0]["evalue"]
    assert determine_grade(nb.cells[2]) == (0, 2)  # without the mark, an unrun test cell would get full marks


def test_scan_flags_come_from_the_scanner_and_never_break_grading(tmp_path, monkeypatch):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "b.ipynb").write_text("{}")
    fake = types.ModuleType("course.grading.scan")
    fake.scan_notebook = lambda path: ["patches builtins", f"reads {path.name}", "patches builtins"]
    monkeypatch.setitem(sys.modules, "course.grading.scan", fake)
    assert worker.scan_flags(tmp_path) == "patches builtins; reads a.ipynb; reads b.ipynb"

    def broken(path):
        raise RuntimeError("scanner bug")

    fake.scan_notebook = broken
    assert worker.scan_flags(tmp_path) == ""


def test_the_grading_pipeline_is_the_course_one_with_execute_swapped(tmp_path):
    from nbgrader.preprocessors import Execute

    from course.demo import make_course

    course = make_course(tmp_path / "course")
    config = worker.grading_config(course, f"sqlite:///{course / 'gradebook.db'}", sandbox=True)
    pipeline = config.Autograde.autograde_preprocessors
    assert GradingExecute in pipeline and Execute not in pipeline
    assert config.GradingExecute.sandbox is True


@pytest.mark.parametrize("argv", [["grade"], ["grade", "session1_chat", "--jobs", "0"]])
def test_grade_command_usage_errors(argv, capsys):
    from course.cli import main

    if argv == ["grade"]:
        with pytest.raises(SystemExit):
            main(argv)
    else:
        assert main(argv) == 2
        assert "--jobs must be at least 1" in capsys.readouterr().err
