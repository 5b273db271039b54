"""The pages nbgrader writes for the course: feedback that says what was autograded, and nothing from the internet.

**Nothing from the internet.** nbgrader's ``feedback`` and ``formgrade`` templates call nbconvert's
``mathjax()`` macro without a URL, so every feedback page a student opens (and every submission the
instructor grades by hand) asks cdnjs.cloudflare.com for MathJax 2; nbconvert's ``mathjax_url`` settings do
not reach that call. The sessions write no LaTeX, so the course replaces the macro with one that loads
nothing unless it is given a URL (``course/offline_templates/nbconvert/templates/base/mathjax.html.j2``),
and :func:`use_offline_templates` puts that folder first on the Jupyter data path, where nbconvert looks
for its templates.

**Feedback that scores what was autograded.** nbgrader's feedback page heads with the notebook's total
("18 / 34"), counting the written answers nobody has graded yet as 0, and lists every check as "Test
cell". The course's feedback template (``course/offline_templates/nbgrader/feedback/``, a copy of
nbgrader 0.9.6's with its header, contents and score labels rewritten) heads with "Autograded: 18 / 28",
lists each check by name and grade id, and each written answer as "graded by a person: pending" or its
score; :class:`FeedbackSummary` (run through the template's ``conf.json``) reads those figures from the
gradebook. nbgrader looks for its ``feedback`` template in ``HTMLExporter.extra_template_basedirs`` before
the Jupyter data path, so :func:`use_offline_templates` also puts the course's folder first there.

``nbgrader_config.py`` calls :func:`use_offline_templates`, so every nbgrader command, the formgrader, the
demo, the grading command and the self-check use both.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from nbconvert.preprocessors import Preprocessor

__all__ = ["FEEDBACK_TEMPLATES", "OFFLINE_TEMPLATES", "FeedbackSummary", "check_name", "use_offline_templates"]

#: A Jupyter data folder holding only the course's ``nbconvert/templates/base/mathjax.html.j2``.
OFFLINE_TEMPLATES = Path(__file__).resolve().parent / "offline_templates"
#: The course's nbgrader page templates (``feedback/``), searched before nbgrader's own.
FEEDBACK_TEMPLATES = OFFLINE_TEMPLATES / "nbgrader"


def use_offline_templates(config: Any = None) -> None:
    """Put :data:`OFFLINE_TEMPLATES` first on ``JUPYTER_PATH`` for this process and its children, and the
    course's feedback template first for nbgrader's exporter in ``config``.

    ``config`` is the traitlets ``Config`` being built; called bare from a traitlets config file (as
    ``nbgrader_config.py`` does), it is that file's ``c``.
    """
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(OFFLINE_TEMPLATES) not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(OFFLINE_TEMPLATES), *paths])
    if config is None:
        # A traitlets config file runs with get_config() in its globals; it returns the file's ``c``.
        get_config = sys._getframe(1).f_globals.get("get_config")
        config = get_config() if callable(get_config) and "load_subconfig" in sys._getframe(1).f_globals else None
    if config is not None:
        from nbgrader.server_extensions.formgrader import handlers

        config.HTMLExporter.extra_template_basedirs = [str(FEEDBACK_TEMPLATES), handlers.template_path]


def check_name(grade_id: str) -> str:
    """A check's readable name from its grade id: ``test_cache_and_bandwidth`` → ``cache and bandwidth``."""
    name = grade_id.removeprefix("test_") or grade_id
    return name.replace("_", " ").strip() or grade_id


class FeedbackSummary(Preprocessor):
    """Put the figures the course's feedback page heads with in ``resources["course"]``.

    - ``checks``: one row per test cell (an autograded check), in notebook order: ``id``, ``name``,
      ``score``, ``max_score``; ``autograded`` and ``autograded_max`` their sums;
    - ``written``: one row per written answer (a grade cell that is also an answer): ``id``, ``name``,
      ``max_score``, ``status`` (``pending`` while a person has not graded it, ``graded``, or ``unanswered``
      when the student left the stub) and ``score`` (``None`` while pending); ``written_max``,
      ``written_pending``, ``written_status`` (``pending`` if any is, ``unanswered`` if all are, else
      ``graded``) and ``written_score`` (``None`` while any is pending);
    - ``grades``: the same rows by grade id, for each cell's own heading.

    Reads the gradebook named in ``resources["nbgrader"]`` (nbgrader's feedback converter puts it there);
    without one (a page rendered outside ``generate_feedback``), it leaves the resources alone and the
    template falls back to the cells' own scores. The template's ``conf.json`` enables it.
    """

    def preprocess(self, nb, resources):
        info = (resources or {}).get("nbgrader") or {}
        if not all(info.get(k) for k in ("db_url", "notebook", "assignment", "student")):
            return nb, resources
        try:
            grades = self._grades(info)
        except Exception as exc:  # noqa: BLE001 - a summary must never cost the student their page
            self.log.warning("feedback summary: no figures from the gradebook (%s)", exc)
            return nb, resources
        checks, written = [], []
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            grade_id = meta.get("grade_id")
            if not meta.get("grade") or grade_id not in grades:
                continue
            g = grades[grade_id]
            row = {"id": grade_id, "name": check_name(grade_id), "max_score": g["max_score"]}
            if meta.get("solution") or meta.get("task"):
                if g["manual_score"] is not None:
                    row.update(status="graded", score=g["score"])
                elif g["needs_manual_grade"]:
                    row.update(status="pending", score=None)
                else:  # nbgrader gave it 0 itself: the student left the stub
                    row.update(status="unanswered", score=g["score"])
                written.append(row)
            else:
                row["score"] = g["score"]
                checks.append(row)
        pending = any(r["status"] == "pending" for r in written)
        unanswered = bool(written) and all(r["status"] == "unanswered" for r in written)
        resources["course"] = {
            "checks": checks,
            "autograded": sum(r["score"] for r in checks),
            "autograded_max": sum(r["max_score"] for r in checks),
            "written": written,
            "written_max": sum(r["max_score"] for r in written),
            "written_pending": pending,
            "written_status": "pending" if pending else "unanswered" if unanswered else "graded",
            "written_score": None if pending else sum(r["score"] or 0.0 for r in written),
            "grades": {r["id"]: r for r in checks + written},
        }
        return nb, resources

    @staticmethod
    def _grades(info: dict) -> dict[str, dict]:
        from nbgrader.api import Gradebook

        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            return {g.name: {"score": float(g.score or 0.0), "max_score": float(g.max_score or 0.0),
                             "manual_score": g.manual_score, "needs_manual_grade": bool(g.needs_manual_grade)}
                    for g in notebook.grades}
