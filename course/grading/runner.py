"""``python -m course grade ASSIGNMENT``: grade everything in ``submitted/`` on every core, safely.

1. Checks the sandbox (refuses, with the fix, where bubblewrap cannot run, unless ``--no-sandbox``).
2. Finds every ``submitted/<student>/ASSIGNMENT/`` and skips the students the journal says are graded
   with the same submission and whose scores the gradebook still holds (``--force`` grades all again).
3. Fans the rest out to ``--jobs`` long-lived worker processes (default: one per core), each grading one
   student at a time through nbgrader (``course.grading.worker``) into the one gradebook (SQLite with a
   60 s busy timeout, or PostgreSQL through ``COURSE_DB_URL``), with a progress bar and ETA.
4. Failures that may not be the student's are tried again, alone (one worker, no neighbours), after the
   others: a worker process that died (the pool is rebuilt for the rest; the students it was grading are
   the suspects), a kernel that died, and, where kernels share the CPU (no cpu cgroup), a timeout. Only
   a second failure alone is the student's: ``failed: grading process died``, ``failed: kernel died``, ...
5. Writes ``autograded/ASSIGNMENT.csv`` atomically from the journal and the gradebook.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import journal as journal_mod
from . import report, sandbox, worker
from .progress import Progress


# Failures caused by the submission itself: grading it again gives the same result, so a re-run skips them.
# Anything else (a database error, a kernel that could not start, "failed: grader crashed") is tried again.
SUBMISSION_FAULTS = ("failed: invalid notebook", "failed: kernel died", "failed: timed out",
                     "failed: no notebook submitted", "failed: memory limit", "failed: output limit",
                     "failed: time budget", "failed: process limit", "failed: disk limit",
                     "failed: grading process died")
# Failures graded once more, alone, before they count: a neighbour (or the machine) may have caused them.
RETRY_ALONE = ("failed: kernel died",)
# ... and, where kernels share the CPU (no cpu cgroup), a timeout: a busy neighbour may have caused it.
RETRY_ALONE_UNISOLATED = ("failed: timed out", "failed: time budget")
WORKER_DIED = "failed: grading process died"   # its worker died in the pool, then again with it alone
WORKER_LOST = "failed: grader crashed"         # workers kept dying with nobody to blame: the grader's fault
MAX_FRUITLESS_BREAKS = 3                       # pool breaks in a row with no student in flight, then give up


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
    if use_sandbox:
        line, warnings = sandbox.describe_limits(sandbox.SandboxedKernelManager(config=config).limits)
        stream.write(line + "\n" + "".join(f"WARNING: {w}\n" for w in warnings))
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
    in_flight = Path(tempfile.mkdtemp(prefix=f"sdl-inflight-{os.getpid()}-"))
    recorded: set[str] = set()

    def record(student: str, outcome: dict) -> None:
        journal.append({**outcome, "assignment": assignment, "fingerprint": fingerprints[student]})
        recorded.add(student)
        run.graded_now.append(student)
        progress.update(student, outcome["status"])

    def pool(workers: int) -> ProcessPoolExecutor:
        for marker in in_flight.iterdir():
            marker.unlink(missing_ok=True)
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=worker.init,
                                   initargs=(str(course_dir), db_url, use_sandbox, str(in_flight)))

    retry = RETRY_ALONE if use_sandbox and "cpu" in sandbox.cgroup_support() else RETRY_ALONE + RETRY_ALONE_UNISOLATED
    progress.begin()
    try:
        queue, alone, fruitless = list(todo), {}, 0  # alone: student -> why they are graded again
        while queue:
            suspects = _pool_round(pool(min(jobs, len(queue))), assignment, queue, in_flight, record, alone, retry)
            if suspects is None:
                break
            for student in suspects:
                alone.setdefault(student, "its grading process died")
            queue = [s for s in queue if s not in recorded and s not in alone]
            fruitless = 0 if suspects else fruitless + 1
            progress.note("a grading process died" + (f" while grading {', '.join(suspects)}: they are graded "
                                                      "again later, alone" if suspects else "")
                          + (f"; the pool is rebuilt for the other {len(queue)}" if queue else ""))
            if fruitless >= MAX_FRUITLESS_BREAKS:
                for student in queue:
                    record(student, worker.Outcome(student, WORKER_LOST, "grading processes kept dying before "
                                                   "grading anyone; run the command again").to_json())
                queue = []
        for student, why in alone.items():
            progress.note(f"grading {student} again, alone ({why})")
            outcome = _grade_alone(pool(1), assignment, student)
            if outcome is None:
                outcome = worker.Outcome(student, WORKER_DIED, f"{why}, then its grading process died again with "
                                         "it graded alone").to_json()
            record(student, {**outcome, "graded_alone": why})
    finally:
        shutil.rmtree(in_flight, ignore_errors=True)
    progress.finish()


def _pool_round(executor: ProcessPoolExecutor, assignment: str, queue: list[str], in_flight: Path,
                record: Callable[[str, dict], None], alone: dict[str, str], retry: tuple[str, ...]) -> list[str] | None:
    """Grade ``queue`` on ``executor``: None when all came back, else the students in flight when it broke."""
    with executor:
        futures = {executor.submit(worker.grade, assignment, student): student for student in queue}
        seen: set[str] = set()
        try:
            for future in as_completed(futures):
                student = futures[future]
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    suspects = worker.in_flight(in_flight)
                    for other, name in futures.items():  # finished before the break: keep them
                        if name not in seen and name not in suspects and other.done() and not other.cancelled() \
                                and other.exception() is None:
                            _keep(name, other.result(), record, alone, retry)
                    return suspects
                seen.add(student)
                _keep(student, outcome, record, alone, retry)
        except BaseException:  # Ctrl-C: what finished is in the journal; the rest is graded by the next run
            executor.shutdown(wait=False, cancel_futures=True)
            raise
    return None


def _keep(student: str, outcome: dict, record: Callable[[str, dict], None], alone: dict[str, str],
          retry: tuple[str, ...]) -> None:
    if student in alone:
        return
    if outcome["status"] in retry:
        alone[student] = f"{outcome['status'][len('failed: '):]} beside other students"
    else:
        record(student, outcome)


def _grade_alone(executor: ProcessPoolExecutor, assignment: str, student: str) -> dict | None:
    """Grade one student on a pool of one; None if that worker died too."""
    with executor:
        try:
            return executor.submit(worker.grade, assignment, student).result()
        except BrokenProcessPool:
            return None
        except BaseException:
            executor.shutdown(wait=False, cancel_futures=True)
            raise


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
