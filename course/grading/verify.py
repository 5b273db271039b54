"""Grading by verification outside the kernel: nbgrader's ``Execute``, where test cells are not run.

The student's cells run as usual in the (sandboxed) kernel. When execution reaches a test cell, its
source is **not** run: the grader draws the cell's cases (``course.grading.cases``) for this submission,
sends them to the kernel through the narrow channel (``course.grading.channel``), takes the plain
results back, and compares them in this process with what the reference solution gives on the same
inputs (``course.grading.reference``). The test cell's outputs become the verdict, in the form nbgrader
scores: nothing wrong is full marks, some answers right is partial credit (an ``execute_result``
holding the points), nothing right is an error. The gradebook, formgrader, feedback and export are
nbgrader's own.

Hidden inputs are drawn from a secret kept in the course folder (``.grading-secret``, never mounted in
the sandbox) and the submission's own content, so they differ for every submission and cannot be read
anywhere the kernel can look. Expected values never leave this process.
"""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import os
import random
import secrets
import sys
from pathlib import Path
from typing import Any

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Integer, Unicode

from ..nbgrader_ext import is_test_cell
from . import channel, reference
from .cases import Case, CaseSource, draw
from .compare import encoded_size, exact

VERDICT_ENAME = "CheckFailed"
SECRET_FILE = ".grading-secret"
SHOWN_FAILURES = 4


class SpecMissing(RuntimeError):
    """No session spec (with its cases) for this assignment: grading cannot be trusted, so it stops."""


def _specs_roots(specs_dir: str, course_root: str) -> list[Path]:
    roots = [Path(p) for p in (specs_dir, course_root) if p]
    roots.append(Path(__file__).resolve().parents[2])  # the repository holding this package
    return roots


def case_sources(assignment: str, *, specs_dir: str = "", course_root: str = "") -> dict[str, list[CaseSource]]:
    """``{test cell grade id: case sources}`` of an assignment, from its session spec in ``authoring/``."""
    for root in _specs_roots(specs_dir, course_root):
        if (root / "authoring" / "sessions" / f"{assignment}.py").is_file():
            break
    else:
        raise SpecMissing(f"no session spec authoring/sessions/{assignment}.py next to the course: the grader "
                          "needs it for the hidden cases")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    sessions = importlib.import_module("authoring.sessions")
    spec = sessions.SESSIONS.get(assignment)
    if spec is None:
        raise SpecMissing(f"authoring.sessions has no session {assignment!r}")
    out: dict[str, list[CaseSource]] = {}
    for cell in spec.cells():
        if getattr(cell, "cases", None):
            out[cell.cell_id] = list(cell.cases)
    return out


def course_secret(course_root: str | Path) -> bytes:
    """The course's grading secret (made on first use, readable by its owner only)."""
    path = Path(course_root) / SECRET_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except (OSError, ValueError):
        pass
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return bytes.fromhex(key)


def submission_seed(secret: bytes, assignment: str, notebook: str, student: str, nb: Any) -> bytes:
    """A seed for this submission: the same notebook content gives the same cases, any change new ones."""
    digest = hashlib.sha256()
    for cell in nb.get("cells", []):
        digest.update(str(cell.get("cell_type", "")).encode())
        digest.update(str(cell.get("source", "")).encode("utf-8", "replace"))
        digest.update(b"\0")
    message = f"{assignment}\0{notebook}\0{student}\0{digest.hexdigest()}".encode("utf-8", "replace")
    return hmac.new(secret, message, hashlib.sha256).digest()


def cell_rng(seed: bytes, grade_id: str) -> random.Random:
    return random.Random(hmac.new(seed, grade_id.encode(), hashlib.sha256).digest())


def probe_cell(request: dict) -> NotebookNode:
    """A code cell that runs the channel probe for ``request`` (never stored in the notebook)."""
    return NotebookNode(cell_type="code", source=channel.probe_source(request), metadata=NotebookNode(),
                        outputs=[], execution_count=None, id="grader-probe")


def results_of(outputs: list, expected_count: int, max_bytes: int) -> tuple[list | None, str]:
    """The kernel's plain results from the probe's outputs, or ``None`` and why not."""
    found = None
    for output in outputs:
        if output.get("output_type") in ("display_data", "execute_result"):
            data = output.get("data", {})
            if channel.MIME in data:
                found = data[channel.MIME]
    if found is None:
        errors = [o for o in outputs if o.get("output_type") == "error"]
        if errors:
            return None, f"the grader could not evaluate your answers ({errors[-1].get('ename', 'error')})"
        return None, "the grader got no answer back from your notebook (did something change how cells run?)"
    try:
        if encoded_size(found) > max_bytes:
            return None, "your answers' results were too large to check"
        found = json.loads(json.dumps(found))  # plain dicts and lists (nbformat hands out NotebookNodes)
    except (TypeError, ValueError, RecursionError):
        return None, "the grader got a malformed answer back from your notebook"
    results = found.get("results") if isinstance(found, dict) else None
    if not isinstance(results, list) or len(results) != expected_count:
        return None, "the grader got a malformed answer back from your notebook"
    return results, ""


def judge(cases: list[Case], expected: list[Any], got: list[Any] | None, why: str) -> tuple[list[str], list[str]]:
    """(units passed, failure messages) for a test cell's cases. A unit passes when all its cases do."""
    units: dict[str, bool] = {}
    failures: list[str] = []
    for index, case in enumerate(cases):
        units.setdefault(case.unit, True)
        if got is None:
            units[case.unit] = False
            continue
        compare = case.compare or exact()
        try:
            message = compare(expected[index], got[index], case)
        except Exception as exc:  # noqa: BLE001 - a comparator bug must not pass or crash an answer
            message = f"{case.label}: could not be checked ({type(exc).__name__})"
        if message:
            if units[case.unit]:  # the first failure of each answer is the one worth reading
                failures.append(message)
            units[case.unit] = False
    if got is None:
        failures = [why]
    return [unit for unit, ok in units.items() if ok], failures


def verdict_outputs(points: float, units_passed: int, units_total: int, cases: list[Case],
                    failures: list[str]) -> tuple[list[NotebookNode], float]:
    """The test cell's outputs, shaped the way nbgrader scores them, and the score they give."""
    hidden = sum(1 for case in cases if case.hidden)
    head = (f"Checked by the grader outside your notebook: {_count(len(cases), 'check')}"
            + (f", {hidden} of them on inputs you have not seen" if hidden else "") + ".")
    if not failures and units_passed == units_total:
        text = f"{head}\n✓ {'the answer is' if units_total == 1 else f'all {units_total} answers are'} right."
        return [NotebookNode(output_type="stream", name="stdout", text=text + "\n")], float(points)
    score = round(points * units_passed / units_total, 2) if units_total else 0.0
    shown = failures[:SHOWN_FAILURES]
    more = len(failures) - len(shown)
    lines = [head, f"{units_passed} of {_count(units_total, 'answer')} right ({score:g} of {points:g} points)."]
    lines += [f"✗ {message}" for message in shown]
    if more > 0:
        lines.append(f"… and {more} more failed checks.")
    text = "\n".join(lines)
    if score <= 0:
        return [NotebookNode(output_type="error", ename=VERDICT_ENAME, evalue=text,
                             traceback=[f"{VERDICT_ENAME}: {text}"])], 0.0
    return [NotebookNode(output_type="stream", name="stdout", text=text + "\n"),
            NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                         data={"text/plain": f"{score:g}"})], score


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class VerifiedExecute(Execute):
    """nbgrader's ``Execute``, judging every test cell by cases verified outside the kernel."""

    course_root = Unicode("", help="The course folder (its .grading-secret and source/).").tag(config=True)
    specs_dir = Unicode("", help="Folder holding authoring/sessions/ (default: the course folder, then "
                                 "the repository of this package).").tag(config=True)
    source_directory = Unicode("source", help="Where the source notebooks (with solutions) are.").tag(config=True)
    max_result_bytes = Integer(2_000_000, help="The most a kernel's results may weigh, as JSON.").tag(config=True)
    practice_scenario = Unicode("", help="A practice round's scenario (JSON of text values): the checks on the "
                                         "sample scenario are asked on it instead (the self-check of a "
                                         "practice notebook).").tag(config=True)

    def _root(self) -> Path:
        return Path(self.course_root or os.getcwd())

    def preprocess(self, nb, resources=None, km=None):
        info = (resources or {}).get("nbgrader", {})
        assignment, notebook = info.get("assignment", ""), info.get("notebook", "")
        student = info.get("student", "") or ""
        self._plan: dict[str, list[Case]] = {}
        self._source_nb = self._root() / self.source_directory / assignment / f"{notebook}.ipynb"
        sources = case_sources(assignment, specs_dir=self.specs_dir, course_root=str(self._root()))
        seed = submission_seed(course_secret(self._root()), assignment, notebook, student, nb)
        practice = json.loads(self.practice_scenario) if self.practice_scenario else None
        for cell in nb.cells:
            if is_test_cell(cell):
                grade_id = cell.metadata["nbgrader"]["grade_id"]
                self._plan[grade_id] = draw(sources.get(grade_id, []), cell_rng(seed, grade_id), practice=practice)
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if not is_test_cell(cell):
            return super().preprocess_cell(cell, resources, index)
        grade_id = cell.metadata["nbgrader"]["grade_id"]
        cases = self._plan.get(grade_id) or []
        points = float(cell.metadata["nbgrader"].get("points") or 0)
        if not cases:
            text = f"no grading cases for {grade_id} (a course bug: tell the instructor)"
            cell.outputs = [NotebookNode(output_type="error", ename=VERDICT_ENAME, evalue=text,
                                         traceback=[f"{VERDICT_ENAME}: {text}"])]
            return cell, resources
        requests = [case.request() for case in cases]
        wanted = [i for i, case in enumerate(cases) if case.reference]
        expected: list[Any] = [None] * len(cases)
        for i, value in zip(wanted, reference.evaluate(self._source_nb, [requests[i] for i in wanted]) if wanted else []):
            expected[i] = value
        probe = probe_cell({"cases": requests})
        try:
            self.execute_cell(probe, index, store_history=False)
        finally:  # nbclient stores the executed cell at its index: the test cell stays, the probe goes
            self.nb.cells[index] = cell
        got, why = results_of(probe.outputs, len(cases), self.max_result_bytes)
        passed, failures = judge(cases, expected, got, why)
        units_total = len({case.unit for case in cases})
        cell.outputs, _ = verdict_outputs(points, len(passed), units_total, cases, failures)
        cell.execution_count = None
        return cell, resources
