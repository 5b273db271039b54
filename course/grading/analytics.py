"""Class analytics for instructors: how an assignment went, read from the gradebook with pandas.

    python -m course analytics session1_chat            # the tables, in the terminal
    instructor/class_analytics.ipynb                    # the same, with plots

Four tables, each a :class:`pandas.DataFrame`:

- :func:`score_distribution`: one row per student (autograded points, percent, written points, flags);
- :func:`pass_rates`: one row per test cell (how many students passed it, mean points);
- :func:`hardest_checks`: the individual checks that failed most often, read from the failure messages
  in the autograded notebooks (``hidden check: messages_per_second (scenario 'small')``), with an example;
- :func:`flagged_submissions`: the students the static scan flagged, from the ``flags`` column of
  ``autograded/<assignment>.csv`` that ``python -m course grade`` writes (or scanning ``submitted/``).

And two figures (:func:`score_histogram`, :func:`pass_rate_chart`), built with matplotlib's object API.

Student ids and flags come from students (folder names, their code): :func:`to_csv` writes any of the
tables so that no cell starts a spreadsheet formula, the flags are cut to a safe character set
(``course.grading.report.safe_cell``), and the text report replaces control characters (a folder name
with terminal escape sequences prints as ``?``).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from .report import csv_line, from_csv, safe_cell

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ClassData", "load", "score_distribution", "pass_rates", "hardest_checks", "flagged_submissions",
           "score_histogram", "pass_rate_chart", "report", "show", "to_csv"]


@dataclass
class ClassData:
    """An assignment's grades: ``grades`` has one row per (student, cell) with ``kind`` "test" or "written"."""

    course_dir: Path
    assignment: str
    grades: pd.DataFrame


def course_settings(course_dir: str | Path) -> tuple[str, str]:
    """``(db_url, course_id)`` as the course's ``nbgrader_config.py`` sets them (the real gradebook)."""
    from traitlets.config.loader import PyFileConfigLoader

    course_dir = Path(course_dir).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    db_url = config.CourseDirectory.get("db_url") or f"sqlite:///{course_dir / 'gradebook.db'}"
    course_id = config.CourseDirectory.get("course_id") or "default_course"
    return str(db_url), str(course_id)


def load(assignment: str, course_dir: str | Path = ROOT, *, db_url: str | None = None,
         course_id: str | None = None) -> ClassData:
    """Every grade of ``assignment``: student, notebook, cell (in notebook order), kind, score, max, status.

    ``status`` is ``passed``, ``failed``, ``not run`` (the autograder gave no score: the notebook crashed
    before the cell) or ``to grade`` (a written answer waiting for a person).
    """
    from nbgrader.api import Gradebook

    from ..scores import autograded_cells

    course_dir = Path(course_dir).resolve()
    configured = course_settings(course_dir)
    db_url, course_id = db_url or configured[0], course_id or configured[1]
    rows = []
    with Gradebook(db_url, course_id=course_id) as gb:
        tests = autograded_cells(gb, assignment)
        order = {}
        for notebook in gb.find_assignment(assignment).notebooks:
            for position, cell in enumerate(sorted(notebook.grade_cells, key=lambda c: c.id)):
                order[(notebook.name, cell.name)] = position
        for submission in gb.assignment_submissions(assignment):
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    kind = "test" if grade.name in tests else "written"
                    if kind == "test":
                        status = ("not run" if grade.auto_score is None and grade.manual_score is None else
                                  "passed" if (grade.score or 0) >= grade.max_score else "failed")
                    else:
                        status = "to grade" if grade.needs_manual_grade else "graded"
                    rows.append({"student": submission.student.id, "notebook": notebook.name, "cell": grade.name,
                                 "kind": kind, "score": float(grade.score or 0.0), "max_score": float(grade.max_score),
                                 "status": status, "order": order.get((notebook.name, grade.name), 0)})
    frame = pd.DataFrame(rows, columns=["student", "notebook", "cell", "kind", "score", "max_score", "status", "order"])
    frame = _in_notebook_order(frame, course_dir, assignment)
    return ClassData(course_dir, assignment, frame)


def _in_notebook_order(frame: pd.DataFrame, course_dir: Path, assignment: str) -> pd.DataFrame:
    """Order cells as the source notebooks list them (the gradebook's ids follow creation order)."""
    for path in sorted((course_dir / "source" / assignment).glob("*.ipynb")):
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            continue
        ids = [c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in cells]
        position = {gid: i for i, gid in enumerate(ids) if gid}
        mask = frame["notebook"] == path.stem
        frame.loc[mask, "order"] = frame.loc[mask, "cell"].map(position).fillna(frame.loc[mask, "order"])
    return frame.sort_values(["notebook", "order", "student"]).reset_index(drop=True)


def score_distribution(data: ClassData) -> pd.DataFrame:
    """One row per student: autograded points and percent, written points (None while any awaits a person),
    test cells that did not run, and the scan's flags (from :func:`flagged_submissions`)."""
    grades = data.grades
    columns = ["student", "autograded", "autograded_max", "percent", "written", "written_max", "not_run", "flags"]
    if grades.empty:
        return pd.DataFrame(columns=columns)
    tests, written = grades[grades["kind"] == "test"], grades[grades["kind"] == "written"]
    out = tests.groupby("student").agg(autograded=("score", "sum"), autograded_max=("max_score", "sum"),
                                       not_run=("status", lambda s: int((s == "not run").sum())))
    out["percent"] = (100 * out["autograded"] / out["autograded_max"]).round(1)
    if not written.empty:
        by_student = written.groupby("student")
        out["written_max"] = by_student["max_score"].sum()
        pending = by_student["status"].apply(lambda s: bool((s == "to grade").any()))
        out["written"] = by_student["score"].sum().where(~pending)
    else:
        out["written"], out["written_max"] = 0.0, 0.0
    flags = flagged_submissions(data.course_dir, data.assignment)
    counts = dict(zip(flags["student"], flags["flags"])) if not flags.empty else {}
    out["flags"] = [counts.get(student, 0) for student in out.index]
    out = out.reset_index()
    return out[columns].sort_values(["percent", "student"], ascending=[False, True]).reset_index(drop=True)


def pass_rates(data: ClassData) -> pd.DataFrame:
    """One row per test cell, in notebook order: students, how many passed, the pass rate, mean points."""
    tests = data.grades[data.grades["kind"] == "test"]
    columns = ["cell", "students", "passed", "pass_rate", "mean_score", "max_score", "not_run"]
    if tests.empty:
        return pd.DataFrame(columns=columns)
    out = tests.groupby(["notebook", "cell"], sort=False).agg(
        order=("order", "first"), students=("student", "nunique"),
        passed=("status", lambda s: int((s == "passed").sum())),
        mean_score=("score", "mean"), max_score=("max_score", "first"),
        not_run=("status", lambda s: int((s == "not run").sum())),
    ).reset_index()
    out["pass_rate"] = (out["passed"] / out["students"]).round(3)
    out["mean_score"] = out["mean_score"].round(2)
    return out.sort_values(["notebook", "order"])[columns].reset_index(drop=True)




def _check_name(message: str) -> tuple[str, bool]:
    """The answer a verdict line is about and whether it was on inputs the student never saw.

    ``messages_per_second on a new scenario (1): expected ...`` -> (``messages_per_second``, True);
    ``deliverable (random delivery 3): ...`` -> (``deliverable``, True); ``assumptions: ...`` -> (``assumptions``, False).
    """
    label = re.split(r":\s", message, maxsplit=1)[0]
    hidden = bool(re.search(r"new scenario|random|\(hidden\)", label))
    name = re.split(r" on | \(|, ", label, maxsplit=1)[0].strip()
    return (name[:80] or "?"), hidden


def _verdict_lines(cell: dict) -> list[str]:
    """The ``✗`` lines of a test cell's verdict (its error, or the card printed with partial credit)."""
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            texts.append(str(output.get("evalue", "")))
        elif output.get("output_type") == "stream" and output.get("name") == "stdout":
            text = output.get("text", "")
            texts.append("".join(text) if isinstance(text, list) else str(text))
    return [line[2:].strip() for text in texts for line in text.splitlines() if line.startswith("✗ ")]


def hardest_checks(course_dir: str | Path, assignment: str, *, top: int | None = 15) -> pd.DataFrame:
    """The answers that failed for the most students, from the grader's verdicts in the autograded notebooks.

    Columns: ``cell``, ``check`` (the answer: a function, a variable), ``hidden`` (failed on inputs the
    student never saw), ``students`` (how many failed it), ``example`` (one message).
    """
    course_dir = Path(course_dir)
    seen: dict[tuple[str, str, bool], set[str]] = {}
    examples: dict[tuple[str, str, bool], Counter] = {}
    for path in sorted((course_dir / "autograded").glob(f"*/{assignment}/*.ipynb")):
        student = path.parent.parent.name
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for cell in cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if not meta.get("grade") or meta.get("solution") or cell.get("cell_type") != "code":
                continue
            for line in _verdict_lines(cell):
                check, hidden = _check_name(line)
                key = (meta.get("grade_id", "?"), check, hidden)
                seen.setdefault(key, set()).add(student)
                examples.setdefault(key, Counter())[line[:200]] += 1
    rows = [{"cell": cell, "check": check, "hidden": hidden, "students": len(students),
             "example": examples[(cell, check, hidden)].most_common(1)[0][0]}
            for (cell, check, hidden), students in seen.items()]
    out = pd.DataFrame(rows, columns=["cell", "check", "hidden", "students", "example"])
    out = out.sort_values(["students", "cell", "check"], ascending=[False, True, True]).reset_index(drop=True)
    return out.head(top) if top else out


def flagged_submissions(course_dir: str | Path, assignment: str) -> pd.DataFrame:
    """The students whose submission the static scan flagged: ``student``, ``flags`` (count), ``rules``, ``details``.

    Reads the ``flags`` column of ``autograded/<assignment>.csv`` (the grading command's report) when it
    exists, else scans ``submitted/*/<assignment>/*.ipynb`` with :func:`course.grading.scan.scan_notebook`.
    """
    course_dir = Path(course_dir)
    per_student: dict[str, list[str]] = {}
    report_csv = course_dir / "autograded" / f"{assignment}.csv"
    if report_csv.is_file():
        with report_csv.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                student = from_csv(row.get("student") or row.get("student_id") or "")
                text = from_csv((row.get("flags") or "").strip())
                if student and text:
                    per_student[student] = [safe_cell(part.strip(), 300) for part in text.split("; ") if part.strip()]
    else:
        from .scan import scan_notebook

        for path in sorted((course_dir / "submitted").glob(f"*/{assignment}/*.ipynb")):
            found = scan_notebook(path)
            if found:
                per_student.setdefault(path.parent.parent.name, []).extend(safe_cell(f, 300) for f in found)
    rows = [{"student": student, "flags": len(flags),
             "rules": ", ".join(sorted({flag.split(":", 1)[0] for flag in flags})),
             "details": "; ".join(flags)}
            for student, flags in sorted(per_student.items())]
    return pd.DataFrame(rows, columns=["student", "flags", "rules", "details"])


def score_histogram(distribution: pd.DataFrame, *, title: str | None = None) -> Figure:
    """The autograded percent of every student, in 10-point bins."""
    fig = Figure(figsize=(7, 3.2))
    ax = fig.add_subplot()
    values = distribution["percent"].astype(float) if not distribution.empty else pd.Series(dtype=float)
    ax.hist(values, bins=[i * 10 for i in range(11)], color="#2563eb", edgecolor="white")
    ax.set_xlabel("autograded score (%)")
    ax.set_ylabel("students")
    ax.set_xlim(0, 100)
    ax.set_title(title or f"Score distribution ({len(values)} students)")
    fig.tight_layout()
    return fig


def pass_rate_chart(rates: pd.DataFrame, *, title: str | None = None) -> Figure:
    """One bar per test cell: the share of students who passed it, hardest at the bottom."""
    shown = rates.iloc[::-1] if not rates.empty else rates
    fig = Figure(figsize=(7, 0.4 * max(len(shown), 3) + 1))
    ax = fig.add_subplot()
    if not shown.empty:
        colours = ["#dc2626" if r < 0.5 else "#f59e0b" if r < 0.8 else "#16a34a" for r in shown["pass_rate"]]
        ax.barh(list(shown["cell"]), list(100 * shown["pass_rate"].astype(float)), color=colours)
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who passed (%)")
    ax.set_title(title or "Pass rate per test cell")
    fig.tight_layout()
    return fig


def report(assignment: str, course_dir: str | Path = ROOT, *, db_url: str | None = None) -> str:
    """The four tables as text (what ``python -m course analytics`` prints)."""
    data = load(assignment, course_dir, db_url=db_url)
    distribution = score_distribution(data)
    sections = [
        (f"Score distribution ({len(distribution)} students)", distribution),
        ("Pass rate per test cell", pass_rates(data)),
        ("Hardest checks", hardest_checks(course_dir, assignment)),
        ("Flagged submissions (for a person to review)", flagged_submissions(course_dir, assignment)),
    ]
    out = [f"Class analytics: {assignment}"]
    if not distribution.empty:
        out.append(f"Autograded percent: mean {distribution['percent'].mean():.1f}, "
                   f"median {distribution['percent'].median():.1f}")
    with pd.option_context("display.max_colwidth", 90, "display.width", 160):
        for heading, table in sections:
            out += ["", heading, "-" * len(heading), "(none)" if table.empty else table.to_string(index=False)]
    return _printable("\n".join(out))


# C0/C1 control characters but tab and newline, and the bidirectional overrides (text that reads backwards).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _printable(text: str) -> str:
    """``text`` without what a terminal would obey instead of print (escape sequences, bidi overrides)."""
    return _UNPRINTABLE.sub("?", text)


def to_csv(table: pd.DataFrame, path: str | Path) -> Path:
    """Write one of the tables as CSV, with no cell a spreadsheet would read as a formula (OWASP).

    Text cells (student ids, flags) that start with ``= + - @``, a tab or CR get a leading ``'``
    (``course.grading.report.csv_line``); numbers are written as numbers.
    """
    path = Path(path)
    lines = [csv_line(list(table.columns))]
    for row in table.itertuples(index=False):
        lines.append(csv_line(["" if _missing(value) else value for value in row]))
    path.write_text("".join(lines), encoding="utf-8")
    return path


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or an array in a cell
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course analytics", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment", help="the assignment, e.g. session1_chat")
    parser.add_argument("--course-dir", default=str(ROOT), help="the course folder (default: this repository)")
    parser.add_argument("--db-url", help="the gradebook (default: what nbgrader_config.py says)")
    args = parser.parse_args(argv)
    try:
        print(report(args.assignment, args.course_dir, db_url=args.db_url))
    except Exception as exc:  # noqa: BLE001 - a missing gradebook or assignment: say so, plainly
        print(f"analytics: {type(exc).__name__}: {exc}")
        return 2
    return 0


def show(fig: Figure) -> None:
    """Display a figure once, as PNG (the course's rule: no SVG, no pyplot state)."""
    import io

    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, facecolor="white")
    display(Image(data=buffer.getvalue()))
