"""``python -m course grade``: a whole class graded in parallel through nbgrader, crashes reported as crashes.

A fake class of Session 1 where every student misbehaves differently is graded by the real command
(sandboxed, two jobs). Each test proves one promise of the CSV and the gradebook: well-behaved students
get exactly what serial nbgrader gives them, a crash is a ``failed: <reason>`` and never a silent 0,
what ran before the crash is still scored, and a run killed midway then re-run grades everyone exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from nbgrader.api import Gradebook

from course import submissions
from course.scores import assignment_scores

from .grading_class import (
    SESSION, append_to_answer, autograded_answer_ids, autograded_nb, copy_class, grade, journal, middle_answer,
    new_class, points_before, processes_mentioning, processes_working_in, read_csv, require, sandbox_available,
    submit,
)

pytestmark = pytest.mark.e2e

SIGINT_LOOP = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"


def _serial_nbgrader_scores(course_dir, students) -> dict[str, float]:
    """Scores from plain serial ``nbgrader autograde`` (its API, unsandboxed) on a copy of the class."""
    from course.demo import api_for

    api = api_for(course_dir)
    result = api.autograde(SESSION, "*", force=True)
    assert result["success"], result.get("error")
    scores = assignment_scores(api.coursedir.db_url, api.coursedir.course_id, SESSION)
    return {s: scores[s].autograded for s in students}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    ok, why = sandbox_available()
    require(ok, why)
    cls = new_class(tmp_path_factory.mktemp("class") / "course")
    course, release, source = cls["dir"], cls["release"], cls["source"]
    perfect = submissions.fill(release, source)
    middle = middle_answer(cls)
    last = autograded_answer_ids(cls)[-1]
    students = {
        "perfect": perfect,
        "untouched": release,
        "partial": submissions.fill(release, source, cls["ids"][: len(cls["ids"]) // 2]),
        "invalid_json": '{"cells": [',
        "not_a_notebook": '{"hello": "world"}',
        "kernel_death": append_to_answer(perfect, middle, "import os\nos._exit(0)"),
        "sigint_loop": append_to_answer(perfect, middle, SIGINT_LOOP),
        "slow_loop": append_to_answer(perfect, middle, "while True:\n    pass"),
        "sys_exit": append_to_answer(perfect, last, "import sys\nsys.exit()"),
    }
    for student, nb in students.items():
        submit(course, student, nb)
    stray = course / "submitted" / "no_notebook" / SESSION / "notes.txt"
    stray.parent.mkdir(parents=True)
    stray.write_text("I forgot to attach the notebook")
    reference = copy_class(course, tmp_path_factory.mktemp("serial") / "course",
                           ["perfect", "untouched", "partial", "sys_exit"])

    run = grade(course, "--jobs", "2")
    rows = read_csv(course)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="sysdesign-lab") as gb:
        per_cell = {s.student.id: {g.name: g.auto_score for nb in s.notebooks for g in nb.grades}
                    for s in gb.assignment_submissions(SESSION)}
    return {"cls": cls, "dir": course, "run": run, "rows": rows, "cells": per_cell, "middle": middle,
            "max": float(rows["perfect"]["max_score"]), "leftovers": processes_mentioning(str(course)),
            "reference": reference}


def test_the_command_reports_failures_with_exit_code_1(graded):
    run = graded["run"]
    assert run.returncode == 1, run.stderr
    assert "students:" in run.stdout and "failed" in run.stdout
    assert "kernel_death: failed: kernel died" in run.stdout


def test_csv_has_one_row_per_student_and_the_columns(graded):
    header = (graded["dir"] / "autograded" / f"{SESSION}.csv").read_text().splitlines()[0]
    assert header == "student,score,max_score,status,flags"
    assert set(graded["rows"]) == {"perfect", "untouched", "partial", "invalid_json", "not_a_notebook",
                                   "kernel_death", "sigint_loop", "slow_loop", "sys_exit", "no_notebook"}
    assert graded["max"] > 0
    assert {row["max_score"] for row in graded["rows"].values()} == {graded["rows"]["perfect"]["max_score"]}


def test_well_behaved_students_are_graded(graded):
    rows = graded["rows"]
    assert rows["perfect"]["status"] == "graded" and float(rows["perfect"]["score"]) == graded["max"]
    # An untouched release is a real zero: graded, score 0 (not empty).
    assert rows["untouched"]["status"] == "graded" and rows["untouched"]["score"] == "0"
    assert rows["partial"]["status"] == "graded" and 0 < float(rows["partial"]["score"]) < graded["max"]
    # IPython catches SystemExit: the kernel lives on and every check still runs.
    assert rows["sys_exit"]["status"] == "graded" and float(rows["sys_exit"]["score"]) == graded["max"]


def test_scores_equal_serial_nbgrader_student_by_student(graded):
    serial = _serial_nbgrader_scores(graded["reference"], ["perfect", "untouched", "partial", "sys_exit"])
    ours = {s: float(graded["rows"][s]["score"]) for s in serial}
    assert ours == serial


@pytest.mark.parametrize("student", ["invalid_json", "not_a_notebook"])
def test_a_broken_notebook_is_an_invalid_notebook_not_a_zero(graded, student):
    row = graded["rows"][student]
    assert row["status"] == "failed: invalid notebook"
    assert row["score"] == ""  # nothing could run: no score at all, never a 0 that looks earned


def test_a_folder_without_the_notebook_is_reported(graded):
    assert graded["rows"]["no_notebook"]["status"] == "failed: no notebook submitted"
    assert graded["rows"]["no_notebook"]["score"] == ""


def test_a_kernel_death_is_reported_and_what_ran_is_scored(graded):
    row = graded["rows"]["kernel_death"]
    assert row["status"] == "failed: kernel died"
    before = points_before(graded["cls"], graded["middle"])
    assert before > 0
    assert float(row["score"]) == before  # the checks before the crash passed, none after it counts
    nb = autograded_nb(graded["dir"], "kernel_death")
    after = False
    for cell in nb.cells:
        if submissions.grade_id(cell) == graded["middle"]:
            after = True
        meta = cell.metadata.get("nbgrader", {})
        if after and meta.get("grade") and not meta.get("solution"):
            names = [o.get("ename") for o in cell.outputs if o.get("output_type") == "error"]
            assert "GradingFailure" in names, submissions.grade_id(cell)
            assert graded["cells"]["kernel_death"][meta["grade_id"]] == 0  # scored 0, not left empty


def test_a_loop_that_ignores_the_interrupt_times_out_and_what_ran_is_scored(graded):
    row = graded["rows"]["sigint_loop"]
    assert row["status"] == "failed: timed out"
    assert float(row["score"]) == points_before(graded["cls"], graded["middle"])


def test_an_interrupted_loop_is_reported_and_the_rest_still_runs(graded):
    row = graded["rows"]["slow_loop"]
    assert row["status"] == "failed: timed out"
    assert float(row["score"]) == graded["max"]  # the answer was complete before the loop; later checks ran


def test_feedback_is_written_for_every_scored_student(graded):
    feedback = graded["dir"] / "feedback"
    for student in ("perfect", "untouched", "kernel_death", "sigint_loop"):
        html = (feedback / student / SESSION / f"{SESSION}.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in html
    assert not (feedback / "invalid_json").exists()


def test_students_were_graded_in_parallel_worker_processes(graded):
    # kernel_death's kernel died beside a neighbour: it was graded again later, alone, by a process of its own
    workers = {entry["worker"] for entry in journal(graded["dir"]) if entry["student"] != "kernel_death"}
    assert len(workers) == 2
    alone = [entry["worker"] for entry in journal(graded["dir"]) if entry["student"] == "kernel_death"]
    assert len(alone) == 1 and alone[0] not in workers


def test_no_kernel_is_left_running(graded):
    assert graded["leftovers"] == []


def test_no_sandbox_folder_is_left_behind_even_for_kernels_that_died(graded):
    import tempfile
    from pathlib import Path

    workers = {entry["worker"] for entry in journal(graded["dir"])}
    left = [p for w in workers for p in Path(tempfile.gettempdir()).glob(f"sdl-kernel-{w}-*")]
    assert left == []


def test_a_second_run_grades_nobody_again(graded):
    before = journal(graded["dir"])
    csv_before = (graded["dir"] / "autograded" / f"{SESSION}.csv").read_text()
    run = grade(graded["dir"], "--jobs", "2")
    assert "0 graded in this run, 10 already done" in run.stdout, run.stdout + run.stderr
    assert journal(graded["dir"]) == before
    assert (graded["dir"] / "autograded" / f"{SESSION}.csv").read_text() == csv_before


# --- crash safety ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def killed_and_rerun(tmp_path_factory):
    """A class of 8 graded by the command, killed midway (SIGKILL to the command alone, not its process
    group: its grading processes and their kernels must die with it), then run again."""
    ok, why = sandbox_available()
    require(ok, why)
    cls = new_class(tmp_path_factory.mktemp("crash") / "course")
    course, release, source = cls["dir"], cls["release"], cls["source"]
    ids = cls["ids"]
    class_ = {f"s{i}": submissions.fill(release, source, ids[: (i * len(ids)) // 7]) for i in range(8)}
    class_["s3"] = append_to_answer(submissions.fill(release, source), middle_answer(cls), "import os\nos._exit(1)")
    for student, nb in class_.items():
        submit(course, student, nb)
    reference = copy_class(course, tmp_path_factory.mktemp("crash-ref") / "course", [s for s in class_ if s != "s3"])

    env = {k: v for k, v in os.environ.items() if k != "COURSE_DB_URL"}
    proc = subprocess.Popen([sys.executable, "-m", "course", "grade", SESSION, "--jobs", "2"], cwd=course, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 900
    while len(journal(course)) < 2 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    at_kill = journal(course)
    # The grading processes die with the command (PR_SET_PDEATHSIG), their kernels with them (--die-with-parent).
    # Left alone, a grading process would live on for the rest of its student (seconds): 2 s is ample for a
    # SIGKILL to be delivered and short of that.
    deadline = time.monotonic() + 2
    while (leftovers := processes_working_in(course) + processes_mentioning(str(course))) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    rerun = grade(course, "--jobs", "2")
    return {"dir": course, "students": sorted(class_), "at_kill": at_kill, "leftovers": leftovers, "rerun": rerun,
            "reference": reference, "cls": cls}


def test_the_kill_came_midway(killed_and_rerun):
    assert 2 <= len(killed_and_rerun["at_kill"]) < len(killed_and_rerun["students"])


def test_killing_the_grader_leaves_no_kernel_running(killed_and_rerun):
    assert killed_and_rerun["leftovers"] == []


def test_after_the_rerun_every_student_was_graded_exactly_once(killed_and_rerun):
    rerun = killed_and_rerun["rerun"]
    assert rerun.returncode == 1, rerun.stderr  # s3's kernel dies on purpose
    graded = [entry["student"] for entry in journal(killed_and_rerun["dir"])]
    assert sorted(graded) == killed_and_rerun["students"]  # each once: none twice, none missing
    done_first = {entry["student"] for entry in killed_and_rerun["at_kill"]}
    assert f"{len(done_first)} already done" in rerun.stdout


def test_the_gradebook_has_one_submission_and_one_grade_per_cell_for_each_student(killed_and_rerun):
    course = killed_and_rerun["dir"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_id="sysdesign-lab") as gb:
        cells = [c.name for nb in gb.find_assignment(SESSION).notebooks for c in nb.grade_cells]
        submissions_ = gb.assignment_submissions(SESSION)
        assert sorted(s.student.id for s in submissions_) == killed_and_rerun["students"]
        for sub in submissions_:
            names = [g.name for nb in sub.notebooks for g in nb.grades]
            assert sorted(names) == sorted(cells), sub.student.id
        assert sorted(s.id for s in gb.students) == killed_and_rerun["students"]
        from nbgrader.api import Grade

        assert gb.db.query(Grade).count() == len(cells) * len(killed_and_rerun["students"])


def test_scores_after_the_crash_equal_serial_nbgrader(killed_and_rerun):
    rows = read_csv(killed_and_rerun["dir"])
    students = [s for s in killed_and_rerun["students"] if s != "s3"]
    serial = _serial_nbgrader_scores(killed_and_rerun["reference"], students)
    assert {s: float(rows[s]["score"]) for s in students} == serial
    assert rows["s3"]["status"] == "failed: kernel died"
    assert all(rows[s]["status"] == "graded" for s in students)
    for student in killed_and_rerun["students"]:
        assert (killed_and_rerun["dir"] / "feedback" / student / SESSION / f"{SESSION}.html").exists()


def test_a_changed_submission_is_graded_again_and_only_it(killed_and_rerun):
    course, cls = killed_and_rerun["dir"], killed_and_rerun["cls"]
    submit(course, "s0", submissions.fill(cls["release"], cls["source"]))  # s0 hands in the full solution
    run = grade(course, "--jobs", "2")
    assert "1 graded in this run" in run.stdout, run.stdout + run.stderr
    rows = read_csv(course)
    assert rows["s0"]["status"] == "graded" and rows["s0"]["score"] == rows["s0"]["max_score"]
    entries = [entry["student"] for entry in journal(course)]
    assert entries.count("s0") == 2 and len(entries) == len(killed_and_rerun["students"]) + 1
