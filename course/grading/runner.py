"""``python -m course grade ASSIGNMENT``: grade everything in ``submitted/`` on every core, safely.

1. Checks the sandbox (refuses, with the fix, where bubblewrap cannot run, unless ``--no-sandbox``).
2. Finds every ``submitted/<student>/ASSIGNMENT/`` and skips the students the journal says are graded
   with the same submission and whose scores the gradebook still holds (``--force`` grades all again).
3. Fans the rest out to ``--jobs`` long-lived worker processes (default: one per core), each grading one
   student at a time through nbgrader (``course.grading.worker``) into the one gradebook (SQLite with a
   60 s busy timeout, or PostgreSQL through ``COURSE_DB_URL``), with a progress bar and ETA.
4. Writes ``autograded/ASSIGNMENT.csv`` atomically from the journal and the gradebook.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import journal as journal_mod
from . import report, sandbox, worker
from .progress import Progress


# Failures caused by the submission itself: grading it again gives the same result, so a re-run skips them.
SUBMISSION_FAULTS = ("failed: invalid notebook", "failed: kernel died", "failed: timed out",
                     "failed: no notebook submitted")


class GradingError(RuntimeError):
    """The grading command cannot start (no sandbox, no such assignment, nothing submitted)."""


@dataclass
class GradeRun:
    """What one run of the command did."""

    assignment: str
    csv: Path
    rows: list[dict]
    graded_now: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    outcomes: dict[str, dict] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict]:
        return [row for row in self.rows if row["status"] != "graded"]


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def configured_db_url(course_dir: Path) -> str:
    """The gradebook the course's ``nbgrader_config.py`` names (``COURSE_DB_URL`` or its SQLite file)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    url = config.CourseDirectory.get("db_url") if "CourseDirectory" in config else None
    return str(url) if url else f"sqlite:///{course_dir / 'gradebook.db'}?timeout=60"


def submitted_students(course_dir: Path, assignment: str, submitted: str = "submitted") -> list[str]:
    """Every student with a ``submitted/<student>/<assignment>/`` folder, sorted."""
    root = course_dir / submitted
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / assignment).is_dir() and not p.name.startswith("."))


def grade(assignment: str, *, course_dir: str | Path = ".", jobs: int | None = None, force: bool = False,
          use_sandbox: bool = True, db_url: str | None = None, stream: TextIO | None = None) -> GradeRun:
    """Grade every submission of ``assignment``; see the module docstring. Returns what was done."""
    stream = stream or sys.stderr
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise GradingError(f"{course_dir} is not a course folder (no nbgrader_config.py); run from the course root")
    db_url = db_url or configured_db_url(course_dir)
    jobs = max(1, jobs or default_jobs())
    if use_sandbox:
        try:
            sandbox.check()
        except sandbox.SandboxUnavailable as exc:
            raise GradingError(str(exc)) from None
        sandbox.prepare()  # before the workers fork, so they share it
    else:
        stream.write("WARNING: grading WITHOUT a sandbox (--no-sandbox): student code runs as you, and can read "
                     "source/ (solutions, hidden tests), rewrite the gradebook and read classmates' work.\n")

    config = worker.grading_config(course_dir, db_url, sandbox=use_sandbox)
    course_id = config.CourseDirectory.course_id
    autograded_dir = course_dir / config.CourseDirectory.get("autograded_directory", "autograded")
    submitted_dir = config.CourseDirectory.get("submitted_directory", "submitted")
    students = submitted_students(course_dir, assignment, submitted_dir)
    if not students:
        raise GradingError(f"nothing to grade: no {submitted_dir}/<student>/{assignment}/ folders in {course_dir} "
                           f"(run `nbgrader collect {assignment}` first)")
    _ensure_assignment(course_dir, db_url, config, assignment)
    journal = journal_mod.Journal.for_assignment(autograded_dir, assignment)
    fingerprints = {s: journal_mod.fingerprint(course_dir / submitted_dir / s / assignment) for s in students}
    done = set() if force else _done(students, journal.latest(), fingerprints, db_url, course_id, assignment,
                                    autograded_dir)
    todo = [s for s in students if s not in done]

    run = GradeRun(assignment, autograded_dir / f"{assignment}.csv", [], skipped=sorted(done))
    progress = Progress(len(students), skipped=len(done), jobs=min(jobs, max(1, len(todo))), stream=stream)
    if done:
        stream.write(f"{len(done)} of {len(students)} students already graded (same submission); "
                     "--force grades them again\n")
    if todo:
        _fan_out(assignment, todo, course_dir, db_url, use_sandbox, min(jobs, len(todo)), journal, fingerprints,
                 progress, run)
    entries = journal.latest()
    run.outcomes = {student: entries[student] for student in students if student in entries}
    run.rows = _table(students, journal, db_url, course_id, assignment)
    report.write_csv(run.csv, run.rows)
    return run


def _fan_out(assignment, todo, course_dir, db_url, use_sandbox, jobs, journal, fingerprints, progress, run) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    context = multiprocessing.get_context("fork")  # workers inherit the loaded nbgrader: no import per worker
    progress.begin()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=worker.init,
                             initargs=(str(course_dir), db_url, use_sandbox)) as pool:
        futures = {pool.submit(worker.grade, assignment, student): student for student in todo}
        try:
            for future in as_completed(futures):
                student = futures[future]
                outcome = future.result()
                journal.append({**outcome, "assignment": assignment, "fingerprint": fingerprints[student]})
                run.graded_now.append(student)
                progress.update(student, outcome["status"])
        except BrokenProcessPool:
            progress.finish()
            raise GradingError("a grading process died (out of memory?); the students graded so far are kept: "
                               "run the command again to grade the rest") from None
        except BaseException:  # Ctrl-C: what finished is in the journal; the rest is graded by the next run
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    progress.finish()


def _done(students, entries, fingerprints, db_url, course_id, assignment, autograded_dir) -> set[str]:
    """Students graded by an earlier run with the same submission, whose results are all still there."""
    from ..scores import assignment_scores

    scores = assignment_scores(db_url, course_id, assignment)
    done = set()
    for student in students:
        entry = entries.get(student)
        if not entry or entry.get("fingerprint") != fingerprints[student]:
            continue
        if entry.get("status") != "graded" and entry.get("status") not in SUBMISSION_FAULTS:
            continue  # the grader's own trouble (a database error, a kernel that could not start): try again
        if entry.get("status") == "graded":
            if student not in scores or scores[student].crashed_cells:
                continue  # the gradebook lost them (replaced, restored from a backup): grade again
            if not (autograded_dir / student / assignment).is_dir():
                continue
        done.add(student)
    return done


def _table(students, journal, db_url, course_id, assignment) -> list[dict]:
    from nbgrader.api import Gradebook

    from ..scores import assignment_scores, autograded_cells

    with Gradebook(db_url, course_id=course_id) as gb:
        tests = autograded_cells(gb, assignment)
        max_score = sum(cell.max_score for nb in gb.find_assignment(assignment).notebooks
                        for cell in nb.grade_cells if cell.name in tests)
    return report.rows(students, journal.latest(), assignment_scores(db_url, course_id, assignment), max_score,
                       len(tests))


def _ensure_assignment(course_dir: Path, db_url: str, config, assignment: str) -> None:
    """Make sure the gradebook knows the assignment (its cells and checksums come from ``source/``).

    An instructor normally ran ``nbgrader generate_assignment`` at release; if this gradebook has never
    seen the assignment, it is registered the same way, with the release output sent to a scratch folder
    so the committed ``release/`` is left alone.
    """
    from nbgrader.api import Gradebook, MissingEntry
    from nbgrader.apps import NbGraderAPI

    with Gradebook(db_url, course_id=config.CourseDirectory.course_id) as gb:
        try:
            gb.find_assignment(assignment)
            return
        except MissingEntry:
            pass
    source = course_dir / config.CourseDirectory.get("source_directory", "source") / assignment
    if not source.is_dir():
        raise GradingError(f"no assignment {assignment!r}: {source} does not exist")
    scratch = Path(tempfile.mkdtemp(prefix="sdl-register-"))
    try:
        config.CourseDirectory.release_directory = str(scratch)
        result = NbGraderAPI(config=config).generate_assignment(assignment, force=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not result.get("success"):
        raise GradingError(f"could not register {assignment} in the gradebook:\n{result.get('error') or result.get('log')}")
