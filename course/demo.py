"""The demo class: release a session, grade three sample students, print the grades.

Runs in a scratch copy of the course (``build/demo/``) with its own gradebook, so it never touches a
real class. Used by ``make demo``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import submissions
from .scores import assignment_scores

ROOT = Path(__file__).resolve().parent.parent
STUDENTS = {
    "ada": "answers everything (the reference solution)",
    "bob": "answers the first half",
    "cyd": "hands in the release untouched",
}


def make_course(target: Path, root: Path = ROOT) -> Path:
    """A fresh course folder with ``source/`` and the config, and nothing else."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    shutil.copytree(root / "source", target / "source")
    shutil.copy(root / "nbgrader_config.py", target / "nbgrader_config.py")
    return target


def api_for(course_dir: Path):
    """An ``NbGraderAPI`` bound to ``course_dir`` and its own SQLite gradebook."""
    from nbgrader.apps import NbGraderAPI

    from .coursedir import load_course_config

    return NbGraderAPI(config=load_course_config(course_dir))


def run(assignment: str = "session1_chat", target: Path | None = None) -> list[dict]:
    """Release, submit, autograde, feedback and export; return one row per student."""
    course_dir = make_course(target or ROOT / "build" / "demo")
    api = api_for(course_dir)
    _ok(api.generate_assignment(assignment, force=True), "generate_assignment")
    release = course_dir / "release" / assignment / f"{assignment}.ipynb"
    source = course_dir / "source" / assignment / f"{assignment}.ipynb"
    rel_nb, src_nb = submissions.read(release), submissions.read(source)
    ids = submissions.answer_ids(rel_nb)
    plans = {"ada": ids, "bob": ids[: len(ids) // 2], "cyd": []}
    for student, answered in plans.items():
        nb = submissions.fill(rel_nb, src_nb, answered)
        submissions.write(nb, course_dir / "submitted" / student / assignment / f"{assignment}.ipynb")
    for student in plans:
        _ok(api.autograde(assignment, student, force=True), f"autograde {student}")
        _ok(api.generate_feedback(assignment, student, force=True), f"feedback {student}")
    scores = assignment_scores(api.coursedir.db_url, api.coursedir.course_id, assignment)
    rows = []
    for student in plans:
        s = scores[student]
        written = f"{s.written_max:g} pts for a person to grade" if s.written is None else f"{s.written:g} / {s.written_max:g}"
        rows.append({"student": student, "what they did": STUDENTS[student],
                     "autograded": f"{s.autograded:g} / {s.autograded_max:g}", "written": written})
    return rows


def _ok(result: dict, what: str) -> None:
    if not result.get("success"):
        raise RuntimeError(f"{what} failed:\n{result.get('error') or result.get('log')}")


def main() -> int:
    import logging
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader + SQLAlchemy 2.1 noise, harmless
    logging.getLogger("traitlets").setLevel(logging.WARNING)
    rows = run()
    width = max(len(r["what they did"]) for r in rows)
    print(f"\nDemo class graded in {ROOT / 'build' / 'demo'}:\n")
    print(f"{'student':8} {'what they did':{width}}  {'autograded':>10}  written")
    for r in rows:
        print(f"{r['student']:8} {r['what they did']:{width}}  {r['autograded']:>10}  {r['written']}")
    print("\nFeedback pages: build/demo/feedback/<student>/session1_chat/session1_chat.html")
    return 0
