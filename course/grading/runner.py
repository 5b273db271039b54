"""``python -m course grade ASSIGNMENT``: grade everything in ``submitted/`` on every core, safely.

1. Checks the sandbox (refuses, with the fix, where bubblewrap cannot run, unless ``--no-sandbox``).
2. Finds every ``submitted/<student>/ASSIGNMENT/`` and skips the students the journal says are graded
   with the same submission and whose scores the gradebook still holds (``--force`` grades all again).
3. Fans the rest out to an engine (``course.grading.engines``) that grades each student with
   ``course.grading.worker`` (nbgrader, loaded once per grading process) into the one gradebook (SQLite
   with a 60 s busy timeout, or PostgreSQL through ``COURSE_DB_URL``): by default ``--jobs`` long-lived
   local processes (one per core); with ``--scheduler`` (or ``COURSE_DASK_SCHEDULER``), one task per
   student on a Dask cluster (``course.grading.dask_engine``: each Dask worker checks its own sandbox).
   Either way this process records each outcome in the journal the moment it completes, with a progress
   bar and ETA.
4. Failures that may not be the student's are tried again, alone (one grading process, no neighbours),
   after the others: a grading process that died (locally the pool is rebuilt for the rest and the
   students it was grading are the suspects; on Dask the scheduler hands the task to another worker
   first), a kernel that died, and, where kernels share the CPU (no cpu cgroup), a timeout. Only a second
   failure is the student's: ``failed: grading process died``, ``failed: kernel died``, ...
5. Writes ``autograded/ASSIGNMENT.csv`` atomically from the journal and the gradebook.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from . import journal as journal_mod
from . import report, sandbox, verify, worker
from .engines import RETRY_ALONE, RETRY_ALONE_UNISOLATED, Engine, LocalEngine  # noqa: F401 - re-exported
from .progress import Progress

if TYPE_CHECKING:
    from distributed import Client


# Failures caused by the submission itself: grading it again gives the same result, so a re-run skips them.
# Anything else (a database error, a kernel that could not start, "failed: grader crashed") is tried again.
SUBMISSION_FAULTS = ("failed: invalid notebook", "failed: kernel died", "failed: timed out",
                     "failed: no notebook submitted", "failed: memory limit", "failed: output limit",
                     "failed: time budget", "failed: process limit", "failed: disk limit",
                     "failed: grading process died")
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
          use_sandbox: bool = True, db_url: str | None = None, stream: TextIO | None = None,
          scheduler: str | Client | None = None) -> GradeRun:
    """Grade every submission of ``assignment``; see the module docstring. Returns what was done.

    ``scheduler``: a Dask scheduler's address (``tcp://HOST:PORT``), its scheduler file or a connected
    ``distributed.Client`` (a Dask Gateway cluster's, say), to grade each student as a task on that cluster
    (``course.grading.dask_engine``; ``jobs`` is then the cluster's to decide); by default, local processes,
    ``jobs`` of them (one per core).
    """
    stream = stream or sys.stderr
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise GradingError(f"{course_dir} is not a course folder (no nbgrader_config.py); run from the course root")
    db_url = db_url or configured_db_url(course_dir)
    jobs = max(1, jobs or default_jobs())
    scheduler = scheduler if scheduler != "" else None
    if use_sandbox and scheduler is None:
        try:
            sandbox.check()
        except sandbox.SandboxUnavailable as exc:
            raise GradingError(str(exc)) from None
        sandbox.prepare()  # before the workers fork, so they share it
    elif not use_sandbox:
        stream.write("WARNING: grading WITHOUT a sandbox (--no-sandbox): student code runs as you, and can read "
                     "source/ (solutions, hidden tests), rewrite the gradebook and read classmates' work.\n")

    config = worker.grading_config(course_dir, db_url, sandbox=use_sandbox)
    if scheduler is not None:
        from .dask_engine import DaskEngine, gradebook_warning

        engine: Engine = DaskEngine.connect(scheduler, course_dir, db_url, use_sandbox, stream=stream)
        warning = gradebook_warning(db_url)
        if warning:
            stream.write(warning + "\n")
    else:
        if use_sandbox:
            line, warnings = sandbox.describe_limits(sandbox.SandboxedKernelManager(config=config).limits)
            stream.write(line + "\n" + "".join(f"WARNING: {w}\n" for w in warnings))
        engine = LocalEngine(course_dir, db_url, use_sandbox, jobs)
    try:
        return _grade(assignment, course_dir, db_url, config, force, stream, engine)
    finally:
        engine.close()


def _grade(assignment: str, course_dir: Path, db_url: str, config, force: bool, stream: TextIO,
           engine: Engine) -> GradeRun:
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
    progress = Progress(len(students), skipped=len(done), jobs=min(engine.jobs, max(1, len(todo))), stream=stream)
    if done:
        stream.write(f"{len(done)} of {len(students)} students already graded (same submission); "
                     "--force grades them again\n")
    if todo:
        # The grading secret is made here, once, before grading processes could race to make it (or, on a
        # cluster, find the course folder read-only).
        verify.course_secret(config.VerifiedExecute.get("course_root") or course_dir)
        _fan_out(engine, assignment, todo, journal, fingerprints, progress, run)
    entries = journal.latest()
    run.outcomes = {student: entries[student] for student in students if student in entries}
    run.rows = _table(students, journal, db_url, course_id, assignment)
    report.write_csv(run.csv, run.rows)
    return run


def _fan_out(engine: Engine, assignment: str, todo: list[str], journal: journal_mod.Journal,
             fingerprints: dict[str, str], progress: Progress, run: GradeRun) -> None:
    """Grade ``todo`` on ``engine``, recording each outcome as it completes; the same loop for every engine."""
    recorded: set[str] = set()
    alone: dict[str, str] = {}  # student -> why they are graded again, alone, after the others

    def record(student: str, outcome: dict) -> None:
        journal.append({**outcome, "assignment": assignment, "fingerprint": fingerprints[student]})
        recorded.add(student)
        run.graded_now.append(student)
        progress.update(student, outcome["status"])

    def keep(student: str, outcome: dict) -> None:
        if student in alone:
            return
        if outcome["status"] in engine.retry:
            alone[student] = f"{outcome['status'][len('failed: '):]} beside other students"
        else:
            record(student, outcome)

    engine.note = progress.note
    with engine:
        progress.begin()
        queue, fruitless = list(todo), 0
        while queue:
            suspects = engine.grade_round(assignment, queue, keep)
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
            outcome = engine.grade_alone(assignment, student)
            if outcome is None:
                outcome = worker.Outcome(student, WORKER_DIED, f"{why}, then its grading process died again with "
                                         "it graded alone").to_json()
            record(student, {**outcome, "graded_alone": why})
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
    scratch = Path(tempfile.mkdtemp(prefix=f"sdl-register-{os.getpid()}-"))
    try:
        config.CourseDirectory.release_directory = str(scratch)
        result = NbGraderAPI(config=config).generate_assignment(assignment, force=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if not result.get("success"):
        raise GradingError(f"could not register {assignment} in the gradebook:\n{result.get('error') or result.get('log')}")
