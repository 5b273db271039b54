"""Feedback pages without MathJax from a CDN (course.offline) and private submissions (course.exchange).

The JupyterHub class test (tests/hub) checks both for real, with Unix accounts; these run anywhere. The
collect that knows who submitted (course.exchange.VerifiedCollect) has its own: tests/test_exchange_collect.py.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nbformat
import nbgrader
from nbconvert import HTMLExporter
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange import ExchangeFactory
from traitlets.config import Config

from course.exchange import PRIVATE_MODE, PrivateSubmit
from course.offline import OFFLINE_TEMPLATES, use_offline_templates

FORMGRADER = Path(nbgrader.__file__).parent / "server_extensions" / "formgrader"


def _feedback_page() -> str:
    """A feedback page as ``nbgrader generate_feedback`` renders it (its exporter settings)."""
    bootstrap_css = FORMGRADER / "static" / "node_modules" / "bootstrap" / "dist" / "css"
    exporter = HTMLExporter(template_name="feedback", extra_template_basedirs=[str(FORMGRADER / "templates")],
                            extra_template_paths=[str(bootstrap_css)])
    grades = {"notebook": "nb", "score": 1, "max_score": 2, "late_penalty": 0}
    page, _ = exporter.from_notebook_node(_notebook(), resources={"nbgrader": grades})
    return page


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Feedback"), nbformat.v4.new_code_cell("1 + 1")]
    return nb


def test_feedback_pages_load_mathjax_from_the_cdn_without_the_override(monkeypatch) -> None:
    monkeypatch.delenv("JUPYTER_PATH", raising=False)
    assert "cdnjs.cloudflare.com/ajax/libs/mathjax" in _feedback_page()  # what course.offline removes


def test_feedback_pages_load_nothing_from_the_internet_with_the_override(monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_PATH", "")
    use_offline_templates()
    assert os.environ["JUPYTER_PATH"].split(os.pathsep)[0] == str(OFFLINE_TEMPLATES)
    page = _feedback_page()
    assert "cdnjs" not in page and "MathJax" not in page
    assert "<title>nb</title>" in page  # still nbgrader's feedback page


def test_the_override_is_idempotent_and_keeps_other_paths(monkeypatch) -> None:
    monkeypatch.setenv("JUPYTER_PATH", "/somewhere")
    use_offline_templates()
    use_offline_templates()
    assert os.environ["JUPYTER_PATH"] == os.pathsep.join([str(OFFLINE_TEMPLATES), "/somewhere"])


def test_an_explicit_mathjax_url_is_kept(monkeypatch) -> None:
    """nbconvert's own HTML export passes its mathjax_url: it keeps working as before."""
    monkeypatch.setenv("JUPYTER_PATH", "")
    use_offline_templates()
    page, _ = HTMLExporter(mathjax_url="/static/mathjax/MathJax.js").from_notebook_node(_notebook())
    assert '<script src="/static/mathjax/MathJax.js">' in page


def test_private_submit_closes_the_submission_folder_to_everyone_but_instructors(tmp_path: Path, monkeypatch) -> None:
    exchange, course, student = tmp_path / "exchange", tmp_path / "course", tmp_path / "student"
    (course / "release" / "ps1").mkdir(parents=True)
    nbformat.write(_notebook(), str(course / "release" / "ps1" / "ps1.ipynb"))
    student.mkdir()
    config = Config()
    config.Exchange.root = str(exchange)
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = "course"
    config.CourseDirectory.assignment_id = "ps1"
    config.ExchangeFactory.submit = "course.exchange.PrivateSubmit"
    factory = ExchangeFactory(config=config)
    assert factory.submit is PrivateSubmit

    def app(kind: str, **kwargs):
        return getattr(factory, kind)(coursedir=CourseDirectory(config=config),
                                      authenticator=Authenticator(config=config), config=config, **kwargs)

    app("ReleaseAssignment").start()
    monkeypatch.chdir(student)  # students fetch into, and submit from, their working folder
    app("FetchAssignment").start()
    app("Submit").start()
    inbound = exchange / "course" / "inbound"
    [submission] = list(inbound.iterdir())
    assert stat.S_IMODE(submission.stat().st_mode) == PRIVATE_MODE  # nbgrader alone leaves 0o777
    assert (submission / "ps1.ipynb").is_file()
