"""Self-check: grade one notebook with the full hidden tests on the learner's own machine.

    python -m course selfcheck release/session1_chat/session1_chat.ipynb
    make selfcheck NB=release/session1_chat/session1_chat.ipynb

No instructor set-up: the notebook is graded by nbgrader's real autograder, with the course's
supervision and the source notebook's hidden tests, in a throw-away course folder with its own
gradebook (the repository's ``source/`` holds the hidden tests; self-learners have it anyway). Prints
one line per test cell (points, and the plain-words reason of a failure), writes the feedback page
next to the notebook (``<name>.feedback.html``, or ``--feedback PATH``) and exits 1 when any check
failed, unlike ``nbgrader validate`` (jupyter/nbgrader#1908), so it can gate a script.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from .verify import VERDICT_ENAME

ROOT = Path(__file__).resolve().parents[2]
STUDENT = "self"


class SelfCheckError(RuntimeError):
    """The notebook could not be graded at all (unknown assignment, unreadable file, grader failure)."""


@dataclass(frozen=True)
class CellResult:
    """One test cell: its grade id, points earned and possible, and why it failed ("" when it passed)."""

    name: str
    score: float
    max_score: float
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.score >= self.max_score


@dataclass
class Report:
    """What :func:`selfcheck` found: test cells in notebook order, written answers, flags, the feedback page."""

    notebook: Path
    assignment: str
    cells: list[CellResult] = field(default_factory=list)
    written_max: float = 0.0
    flags: list[str] = field(default_factory=list)
    feedback: Path | None = None
    practice_round: int | None = None

    @property
    def score(self) -> float:
        return sum(c.score for c in self.cells)

    @property
    def max_score(self) -> float:
        return sum(c.max_score for c in self.cells)

    @property
    def passed(self) -> bool:
        return bool(self.cells) and all(c.passed for c in self.cells)

    def text(self) -> str:
        """The per-question report, as printed."""
        what = f"{self.assignment}, practice round {self.practice_round}" if self.practice_round else self.assignment
        lines = [f"Self-check of {self.notebook} ({what}), hidden checks included:", ""]
        width = max((len(c.name) for c in self.cells), default=10)
        for cell in self.cells:
            mark = "✓" if cell.passed else "✗"
            lines.append(f"  {mark} {cell.name:{width}}  {cell.score:g} / {cell.max_score:g}")
            for reason_line in cell.reason.splitlines():
                lines.append(f"      {reason_line}")
        lines.append("")
        lines.append(f"Autograded: {self.score:g} / {self.max_score:g}."
                     + (" Every check passed." if self.passed else " Fix the ✗ cells and run this again."))
        if self.written_max:
            lines.append(f"Written answers ({self.written_max:g} pts) are graded by a person: compare yours with "
                         "the key points the notebook shows after each one.")
        if self.flags:
            lines.append("The course's scan flags these lines for a person to review:")
            lines += [f"  - {flag}" for flag in self.flags]
        if self.feedback:
            lines.append(f"Feedback page: {self.feedback}")
        return "\n".join(lines)


def find_assignment(notebook: str | Path, root: Path = ROOT) -> str:
    """The assignment a notebook belongs to: its file name, its folder's name, or the test cells it holds."""
    notebook = Path(notebook)
    sources = root / "source"
    for name in (notebook.stem, notebook.parent.name, notebook.stem.split(".")[0]):
        if name and (sources / name / f"{name}.ipynb").is_file():
            return name
    try:
        ids = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
               for c in json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])}
    except (OSError, ValueError) as exc:
        raise SelfCheckError(f"cannot read {notebook}: {exc}") from None
    ids.discard(None)
    best, overlap = None, 0
    for candidate in sorted(sources.glob("*/*.ipynb")):
        try:
            theirs = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                      for c in json.loads(candidate.read_text(encoding="utf-8")).get("cells", [])}
        except (OSError, ValueError):
            continue
        if len(ids & theirs) > overlap:
            best, overlap = candidate.parent.name, len(ids & theirs)
    if best is None:
        known = ", ".join(sorted(p.name for p in sources.iterdir() if p.is_dir())) if sources.is_dir() else "none"
        raise SelfCheckError(f"{notebook} matches no session of the course (sessions: {known})")
    return best


def _quiet() -> None:
    warnings.filterwarnings("ignore")
    for name in ("traitlets", "NbGraderAPI", "Autograde", "GenerateAssignment", "GenerateFeedback", "nbgrader"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _reason(cell: dict) -> str:
    """The plain-words reason of a failed test cell: its error's message (never the traceback)."""
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            text = "".join(output.get("text", "")) if isinstance(output.get("text"), list) else str(output.get("text", ""))
            failed = [line for line in text.splitlines()[1:] if line.strip()]
            if any(line.startswith("✗") for line in failed):
                return "\n".join(failed)  # partial credit: the grader's card, minus its first line
        if output.get("output_type") == "error":
            ename, evalue = output.get("ename", "Error"), str(output.get("evalue", "")).strip()
            if ename in (VERDICT_ENAME, "AssertionError"):
                return "\n".join(evalue.splitlines()[1:]) or evalue or ename
            if ename == "NameError":
                return f"{evalue}: run the answer cell above it (is it still `raise NotImplementedError()`?)"
            if ename == "NotImplementedError":
                return "the answer is still the `raise NotImplementedError()` stub"
            return f"{ename}: {evalue}" if evalue else ename
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return f"the cell wrote to stderr: {str(output.get('text', '')).strip()[:200]}"
    return "no points (the cell did not run)"


def selfcheck(notebook: str | Path, *, feedback: str | Path | None = None, root: Path = ROOT,
              assignment: str | None = None) -> Report:
    """Grade ``notebook`` against its session's full tests in a scratch course; see the module docstring."""
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI

    from ..coursedir import load_course_config
    from ..practice import round_here, round_scenario
    from ..scores import autograded_cells
    from .scan import scan_notebook

    notebook = Path(notebook).resolve()
    if not notebook.is_file():
        raise SelfCheckError(f"no such notebook: {notebook}")
    assignment = assignment or find_assignment(notebook, root)
    _quiet()
    report = Report(notebook, assignment)
    with tempfile.TemporaryDirectory(prefix="selfcheck-") as scratch:
        course = Path(scratch)
        shutil.copytree(root / "source" / assignment, course / "source" / assignment)
        shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
        config = load_course_config(course)
        number = round_here(assignment, notebook.parent)
        if number is not None:  # a practice round: its checks are on the round's scenario
            report.practice_round = number
            config.VerifiedExecute.practice_scenario = json.dumps(round_scenario(assignment, number))
        api = NbGraderAPI(config=config)
        _ok(api.generate_assignment(assignment, force=True), "preparing the assignment")
        submitted = course / "submitted" / STUDENT / assignment / f"{assignment}.ipynb"
        submitted.parent.mkdir(parents=True)
        shutil.copy(notebook, submitted)
        report.flags = scan_notebook(submitted, trusted=None)
        _ok(api.autograde(assignment, STUDENT, force=True), "grading")
        _ok(api.generate_feedback(assignment, STUDENT, force=True), "writing the feedback")
        graded = json.loads((course / "autograded" / STUDENT / assignment / f"{assignment}.ipynb").read_text("utf-8"))
        with Gradebook(api.coursedir.db_url, course_id=api.coursedir.course_id) as gb:
            tests = autograded_cells(gb, assignment)
            submission = gb.find_submission(assignment, STUDENT)
            grades = {g.name: g for nb in submission.notebooks for g in nb.grades}
            report.written_max = sum(g.max_score for name, g in grades.items() if name not in tests)
            for cell in graded["cells"]:
                name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if name in tests and name in grades:
                    grade = grades[name]
                    score = grade.score or 0.0
                    reason = "" if score >= grade.max_score else _reason(cell)
                    report.cells.append(CellResult(name, score, grade.max_score, reason))
        page = course / "feedback" / STUDENT / assignment / f"{assignment}.html"
        target = Path(feedback) if feedback else notebook.with_name(f"{notebook.stem}.feedback.html")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, target)
        report.feedback = target
    return report


def _ok(result: dict, what: str) -> None:
    if not result.get("success"):
        detail = (result.get("error") or result.get("log") or "").strip().splitlines()
        raise SelfCheckError(f"{what} failed: {detail[-1] if detail else 'no details'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course selfcheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebook", help="the notebook to grade (a copy of release/<session>/<session>.ipynb)")
    parser.add_argument("--feedback", help="where to write the feedback page (default: next to the notebook)")
    parser.add_argument("--assignment", help="the session, when the notebook's name does not say it")
    args = parser.parse_args(argv)
    try:
        report = selfcheck(args.notebook, feedback=args.feedback, assignment=args.assignment)
    except SelfCheckError as exc:
        print(f"selfcheck: {exc}", file=sys.stderr)
        return 2
    print(report.text())
    return 0 if report.passed else 1
