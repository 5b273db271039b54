"""One grading process: grades one student at a time through nbgrader, for as many students as it is given.

A worker is long-lived: nbgrader, nbconvert and the course config are loaded once per process (about
2 s of imports that serial ``nbgrader autograde`` also pays once), then each student goes through
nbgrader's own ``Autograde`` converter (sanitize, execute, ``SaveAutoGrades`` into the shared
gradebook) and ``GenerateFeedback``, exactly as ``NbGraderAPI.autograde`` runs them. The only
nbgrader piece swapped is the ``Execute`` preprocessor, or the course's subclass of it
(``course.grading.execute``). The feedback converter is made once per process and reused (as
``nbgrader generate_feedback`` reuses it across a class). Each student's kernel was started, sandboxed,
and its imports done while the previous student ran (``course.grading.pool``; ``COURSE_WARM_KERNELS=0``
turns that off): the process keeps one warm kernel, destroyed when it exits.

While it grades a student, a worker keeps a marker ``<in-flight folder>/<pid>`` naming them: when a
worker dies, the runner knows whom it was grading.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import shutil
import signal
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.converters.base import NbGraderException
from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError
from nbgrader.preprocessors import Execute
from nbgrader.utils import capture_log, temp_attrs
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from ..coursedir import load_course_config
from .execute import RECORDS, GradingExecute
from .hygiene import safe_copy_tree

_state: dict = {}
_db_seconds = [0.0]


@dataclass
class Outcome:
    """What grading one student gave: the status words and where the time went (seconds)."""

    student: str
    status: str                      # "graded" or "failed: <reason>"
    detail: str = ""                 # the error, for the instructor (never shown to students)
    flags: str = ""                  # from course.grading.scan, if present
    timings: dict = field(default_factory=dict)
    worker: int = 0                  # the grading process (its pid), to see the work spread over cores
    peak_rss_mb: int = 0             # the grading process's peak memory so far (MiB)
    kernel: dict = field(default_factory=dict)  # the grading kernel: its pid, and "pool": "warm" or why cold

    def to_json(self) -> dict:
        return asdict(self)


class GradingAutograde(Autograde):
    """nbgrader's Autograde converter, remembering why a notebook failed instead of only logging it."""

    course_record: dict

    def init_single_notebook_resources(self, notebook_filename):
        resources = super().init_single_notebook_resources(notebook_filename)
        key = f"{resources['nbgrader']['student']}/{resources['nbgrader']['assignment']}"
        RECORDS[key] = self.course_record
        resources["nbgrader"]["course_grading"] = key
        return resources

    def convert_single_notebook(self, notebook_filename):
        try:
            super().convert_single_notebook(notebook_filename)
        except Exception as exc:
            self.course_record.setdefault("errors", []).append(
                {"phase": "sanitize" if self._sanitizing else "autograde", "type": type(exc).__name__,
                 "reason": _converter_reason(exc, self._sanitizing), "error": f"{type(exc).__name__}: {exc}"})
            raise


class ReusedFeedback(GenerateFeedback):
    """nbgrader's ``GenerateFeedback``, keeping its HTML exporter (templates compiled once) from student to
    student, as ``nbgrader generate_feedback`` does for a whole class in one run (about 0.17 s less per student)."""

    _built = False

    def start(self) -> None:
        from nbconvert.writers import FilesWriter

        self.init_notebooks()
        # A new writer each time, as BaseConverter.start makes: it creates its folder only when its
        # build_directory changes, so a reused one would not re-create the folder nbgrader just removed
        # when the same student's feedback is written twice in a row (a student graded again, alone).
        self.writer = FilesWriter(parent=self, config=self.config)
        if not self._built:  # the exporter (its compiled templates) is what is kept
            self.exporter = self.exporter_class(parent=self, config=self.config)
            for preprocessor in self.preprocessors:
                self.exporter.register_preprocessor(preprocessor)
            self._built = True
        here = os.getcwd()
        os.chdir(self.coursedir.root)
        try:
            self.convert_notebooks()
        finally:
            os.chdir(here)


def generate_feedback(assignment: str, student: str) -> dict:
    """``NbGraderAPI.generate_feedback(assignment, student, force=True)``, with this process's one converter."""
    api: NbGraderAPI = _state["api"]
    with temp_attrs(api.coursedir, assignment_id=assignment, student_id=student):
        app = _state.get("feedback")
        if app is None:
            app = ReusedFeedback(coursedir=api.coursedir, parent=api)
            config = Config()
            config.HTMLExporter.template_name = "feedback"  # as the API sets it
            app.update_config(config)
            _state["feedback"] = app
        app.force = True
        return capture_log(app)


def _converter_reason(exc: Exception, sanitizing: bool) -> str:
    import nbformat

    invalid = (nbformat.reader.NotJSONError, nbformat.ValidationError, nbformat.NBFormatError,
               SchemaTooNewError, SchemaTooOldError, UnicodeDecodeError)
    if isinstance(exc, invalid) or (sanitizing and isinstance(exc, (ValueError, KeyError, TypeError, AttributeError))):
        return "invalid notebook"
    return f"error ({type(exc).__name__})"


def _is_execute(preprocessor) -> bool:
    if isinstance(preprocessor, str):
        try:
            preprocessor = import_item(preprocessor)
        except (ImportError, ValueError):
            return False
    return isinstance(preprocessor, type) and issubclass(preprocessor, Execute)


def grading_config(course_dir: str | Path, db_url: str, *, sandbox: bool):
    """The course's nbgrader config, its ``Execute`` (nbgrader's or a subclass) replaced by :class:`GradingExecute`."""
    config = load_course_config(course_dir, db_url=db_url)
    pipeline = list(Autograde.class_traits()["autograde_preprocessors"].default())
    configured = config.Autograde.get("autograde_preprocessors")
    if configured:
        pipeline = list(configured)
    config.Autograde.autograde_preprocessors = [GradingExecute if _is_execute(p) else p for p in pipeline]
    # The course's ``Execute.*`` (and its subclass's) settings still apply: GradingExecute is a subclass.
    config.GradingExecute.sandbox = sandbox
    source = config.CourseDirectory.get("source_directory", "source")
    if not config.SandboxedKernelManager.get("released_root"):
        config.SandboxedKernelManager.released_root = str(Path(course_dir).resolve() / source)
    return config


def init(course_dir: str, db_url: str, sandbox: bool, in_flight: str = "") -> None:
    """Load nbgrader and the course config once in this process (a ``ProcessPoolExecutor`` initializer).

    ``in_flight``: the folder where this worker names the student it is grading.
    """
    warnings.filterwarnings("ignore")  # SQLAlchemy 2.1 SAWarning from nbgrader: harmless noise
    os.environ.setdefault("MPLBACKEND", "Agg")
    api = NbGraderAPI(config=grading_config(course_dir, db_url, sandbox=sandbox))
    log = api.log
    for handler in list(log.handlers):
        log.removeHandler(handler)
    log.addHandler(logging.NullHandler())
    log.propagate = False
    log.setLevel(logging.INFO)
    _count_database_time()
    _state.pop("feedback", None)
    _state.update(api=api, course_dir=Path(course_dir), in_flight=Path(in_flight) if in_flight else None)


def _count_database_time() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if _state.get("db_listeners"):
        return

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["course_t0"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        _db_seconds[0] += time.perf_counter() - conn.info.pop("course_t0", time.perf_counter())

    event.listen(Engine, "before_cursor_execute", before)
    event.listen(Engine, "after_cursor_execute", after)
    _state["db_listeners"] = True


def in_flight(folder: str | Path) -> list[str]:
    """The students the workers of ``folder`` were grading (a marker left behind: their worker died)."""
    found = []
    for marker in sorted(Path(folder).glob("[0-9]*")):
        try:
            found.append(marker.read_text())
        except OSError:
            continue
    return sorted(set(filter(None, found)))


CRASH_HOOK = "COURSE_GRADING_TEST_CRASH"


def _test_crash(student: str) -> None:
    """For tests: ``COURSE_GRADING_TEST_CRASH=ann,bob@/tmp/once`` kills this worker (SIGKILL) when it starts
    grading ann (every time) or bob (the first time: the marker file ``/tmp/once`` is created)."""
    for entry in filter(None, os.environ.get(CRASH_HOOK, "").split(",")):
        name, _, once = entry.partition("@")
        if name != student:
            continue
        if once:
            try:
                os.close(os.open(once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
        os.kill(os.getpid(), signal.SIGKILL)


def grade(assignment: str, student: str) -> dict:
    """Autograde ``student``'s submission of ``assignment`` and write their feedback; an :class:`Outcome` dict."""
    marker = _state["in_flight"] / str(os.getpid()) if _state.get("in_flight") else None
    if marker is not None:
        marker.write_text(student)
    try:
        _test_crash(student)
        return _grade(assignment, student)
    finally:
        if marker is not None:
            marker.unlink(missing_ok=True)


#: What one submission may hold once copied for grading (regular files only; see course.grading.hygiene).
SUBMISSION_MAX_BYTES = 50 * 1024 * 1024
SUBMISSION_MAX_FILES = 1000


def _grade(assignment: str, student: str) -> dict:
    api: NbGraderAPI = _state["api"]
    coursedir = api.coursedir
    record: dict = {}
    db_before, start, cpu = _db_seconds[0], time.perf_counter(), time.process_time()
    began = start
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
    # nbgrader reads the submission where it lies and copies its files with shutil (links followed): grade a
    # copy of its regular files instead, so a link to source/ or /dev/zero is refused, never read.
    staging = Path(tempfile.mkdtemp(prefix=f"sdl-submission-{os.getpid()}-"))
    try:
        copy_flags = safe_copy_tree(submitted, staging / student / assignment, max_bytes=SUBMISSION_MAX_BYTES,
                                    max_files=SUBMISSION_MAX_FILES)
        with temp_attrs(coursedir, assignment_id=assignment, student_id=student,
                        submitted_directory=str(staging)):
            converter = GradingAutograde(coursedir=coursedir, parent=api)
            converter.course_record = record
            converter.force = True
            converter.create_student = True
            try:
                result = capture_log(converter)
            finally:
                RECORDS.clear()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    autograde_seconds = time.perf_counter() - start
    status, detail = _status(result, record)

    feedback_seconds = 0.0
    autograded = Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))
    if autograded.is_dir():
        start = time.perf_counter()
        feedback = generate_feedback(assignment, student)
        feedback_seconds = time.perf_counter() - start
        if not feedback.get("success"):
            status = status if status != "graded" else "failed: feedback not generated"
            detail = (detail + "\n" if detail else "") + _last_lines(feedback.get("error") or feedback.get("log"))

    timings = dict(record.get("timings", {}))
    timings.update(autograde=autograde_seconds, feedback=feedback_seconds, db=_db_seconds[0] - db_before)
    flags = "; ".join(filter(None, ["; ".join(copy_flags), "; ".join(record.get("hygiene", [])),
                                     collect_flags(coursedir.root, assignment, student), scan_flags(submitted)]))
    timings["total"] = time.perf_counter() - began
    timings["cpu"] = time.process_time() - cpu  # this grading process's own CPU (not the kernel's)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux
    kernel = (record.get("kernels") or [{}])[-1]
    return Outcome(student, status, detail, flags, timings, os.getpid(), peak, kernel).to_json()


def collect_flags(course_root: str, assignment: str, student: str) -> str:
    """What ``VerifiedCollect`` refused or skipped of this student's submission (its collect report)."""
    try:
        from ..exchange import read_collect_report

        lines = [line for line in read_collect_report(course_root, assignment)
                 if line.get("student") == student and str(line.get("decision", "")).startswith("collected")]
    except Exception:  # noqa: BLE001 - no report (a local course) or an unreadable one: nothing to add
        return ""
    if not lines:
        return ""
    last = lines[-1]
    skipped = last.get("skipped") or []
    kinds = sorted({str(item.get("kind", "entry")) for item in skipped if isinstance(item, dict)})
    flags = [f"collect: {len(skipped)} entries skipped ({', '.join(kinds)})"] if skipped else []
    if last.get("decision") != "collected":
        flags.append("collect: over the size caps, its notebooks only were collected")
    if last.get("timestamp_doubtful"):
        flags.append("collect: files changed after the time the submission claims")
    return "; ".join(flags)


def _status(result: dict, record: dict) -> tuple[str, str]:
    failures = record.get("failures", [])
    if failures:  # the kernel died or hung; what ran is saved and scored
        first = failures[0]
        where = f" (cell {first['cell']})" if first.get("cell") else ""
        log = f"\nkernel: {first['kernel_log']}" if first.get("kernel_log") else ""
        return f"failed: {first['reason']}", f"{first['error']}{where}{log}"
    if result.get("success"):
        return "graded", ""
    errors = record.get("errors", [])
    if errors:
        return f"failed: {errors[0]['reason']}", errors[0]["error"]
    text = (result.get("log") or "") + "\n" + (result.get("error") or "")
    if "No notebooks" in text:
        return "failed: no notebook submitted", "no .ipynb in the submitted folder"
    return "failed: error", _root_cause(text)


def _root_cause(text: str) -> str:
    """The last ``SomeError: message`` line of nbgrader's log that is not its closing summary."""
    causes = [line.strip() for line in text.splitlines()
              if re.match(r"\s*[\w.]*(Error|Exception|Exit|Interrupt)\b.*:", line) and "NbGraderException" not in line]
    return causes[-1] if causes else _last_lines(text)


def _last_lines(text: str | None, n: int = 3) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return "\n".join(lines[-n:])


def scan_flags(submitted: Path) -> str:
    """Flags from ``course.grading.scan.scan_notebook`` for the submitted notebooks; "" if there is no scanner.

    Never fails grading: a missing or broken scanner gives no flags.
    """
    try:
        from .scan import scan_notebook
    except Exception:
        return ""
    flags: list[str] = []
    for path in sorted(submitted.glob("*.ipynb")):
        try:
            found = scan_notebook(path)
        except Exception:
            continue
        for flag in found or []:
            if str(flag) not in flags:
                flags.append(str(flag))
    return "; ".join(flags)


if __name__ == "__main__":  # debugging aid: grade one student in this process
    import sys

    init(sys.argv[1], sys.argv[2], sandbox=sys.argv[5:6] != ["--no-sandbox"])
    print(json.dumps(grade(sys.argv[3], sys.argv[4]), indent=1))
