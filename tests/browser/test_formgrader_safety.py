"""The instructor never runs a student's code: a hostile submission, autograded, opened in the formgrader.

The student adds a markdown cell and a code cell whose outputs carry script (an ``<img onerror>``, a
``<script>``, a ``text/html``, ``application/javascript`` and ``text/markdown`` output, and an image whose
``width`` metadata breaks out of nbconvert's unquoted attribute), and submits under a folder name that is
itself an ``<img onerror>``. Every payload, if it ran, would create a folder in the instructor's course
through ``PUT /api/contents`` with the ``_xsrf`` cookie, as the instructor.

The submission is autograded and its feedback generated with the course's ``nbgrader_config.py``; the
instructor opens it in the formgrader's manual grading view, and no folder appears. The same page with the
notebook as it was before ``SanitizeSubmission`` is safe too (the formgrader sanitizes as it renders). The
control: that notebook rendered by the same formgrade template without the sanitizer, served from the same
origin, creates every folder; so the test can see an attack that works.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output
from playwright.sync_api import Page, expect

from course import submissions
from course.grading.sanitize import sanitize_output
from course.offline import OFFLINE_TEMPLATES
from tests.browser.conftest import _jupyter_env

pytestmark = pytest.mark.browser

SESSION = "session1_chat"
# A folder name that is HTML (no "/", no glob characters): the formgrader prints it into its page.
STUDENT = ("<img src=x onerror='fetch(\"\\x2fapi\\x2fcontents\\x2fpwned-student-id\",{method:\"PUT\",headers:"
           "{\"X-XSRFToken\":document.cookie.split(\"_xsrf=\").pop().split(\";\").shift()},"
           "body:\"{\\\"type\\\":\\\"directory\\\"}\"})'>")
NOTES = "Notes from the interview: a < b, and `code spans` stay code."
VECTORS = ("pwned-markdown-img", "pwned-markdown-script", "pwned-html-output", "pwned-javascript-output",
           "pwned-markdown-output", "pwned-output-metadata", "pwned-student-id")


def payload(marker: str) -> str:
    """JavaScript that creates the folder ``marker`` in the server's root as whoever views the page.

    Written as ``eval(decodeURIComponent(/%..%/.source))``: no quotes, spaces or ``<>``, so it fits in any
    attribute, quoted or not, in a Python string and in a script.
    """
    js = ("fetch('/api/contents/" + marker + "',{method:'PUT',headers:{'X-XSRFToken':"
          "(document.cookie.match(/_xsrf=([^;]*)/)||[])[1]},body:JSON.stringify({type:'directory'})})")
    return "eval(decodeURIComponent(/" + "".join(f"%{ord(ch):02x}" for ch in js) + "/.source))"


def hostile_cells() -> tuple[str, str]:
    """The student's markdown cell and code cell."""
    markdown = (f"{NOTES}\n\n<img src=\"x\" onerror=\"{payload('pwned-markdown-img')}\">\n\n"
                f"<script>{payload('pwned-markdown-script')}</script>\n")
    code = (
        "from IPython.display import HTML, Javascript, Markdown, display\n"
        f"display(HTML('<b>table</b><img src=\"x\" onerror=\"{payload('pwned-html-output')}\">'))\n"
        f"display(Javascript('{payload('pwned-javascript-output')}'))\n"
        f"display(Markdown('<img src=\"x\" onerror=\"{payload('pwned-markdown-output')}\">'))\n"
        "display({'image/png': 'AAAA', 'text/plain': 'a picture'}, raw=True,\n"
        f"        metadata={{'image/png': {{'width': '1 onerror={payload('pwned-output-metadata')}'}}}})\n"
    )
    return markdown, code


def unsanitized_outputs(code: str) -> list:
    """What the student's code cell displays, as IPython formats it (the kernel does the same)."""
    from IPython.core.formatters import DisplayFormatter
    from IPython.display import HTML, Javascript, Markdown

    shown = []

    def display(obj, raw=False, metadata=None):
        if raw:
            shown.append(new_output("display_data", data=obj, metadata=metadata or {}))
        else:
            data, meta = DisplayFormatter().format(obj)
            shown.append(new_output("display_data", data=data, metadata=meta))

    body = code.split("\n", 1)[1]  # without the import line
    exec(body, {"display": display, "HTML": HTML, "Javascript": Javascript, "Markdown": Markdown})  # noqa: S102
    return shown


def nbgrader(lab, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=lab.root,
                            env=_jupyter_env(lab.root.parent), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{result.stderr[-4000:]}"
    return result


def executable_text(page_html: str) -> str:
    """Everything in a page that a browser would run: script bodies, ``on*`` attributes, ``javascript:`` URLs."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Collect(HTMLParser):
        script = False

        def handle_starttag(self, tag, attrs):
            self.script = tag == "script"
            for name, value in attrs:
                if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                    found.append(value or "")

        def handle_endtag(self, tag):
            self.script = False

        def handle_data(self, data):
            if self.script:
                found.append(data)

    Collect().feed(page_html)
    return "\n".join(found)


def wait_for(paths: list[Path], timeout: float = 30) -> list[Path]:
    """The ``paths`` that exist once all do, or the timeout passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not all(p.exists() for p in paths):
        time.sleep(0.2)
    return [p for p in paths if p.exists()]


def test_a_hostile_submission_runs_nothing_in_the_formgrader(lab, watched, screenshots: Path, monkeypatch) -> None:
    page: Page = watched.page
    course = lab.root
    markers = [course / name for name in VECTORS]
    for marker in markers:
        shutil.rmtree(marker, ignore_errors=True)

    # --- the student: a released notebook with a markdown cell and a code cell of their own -----------
    nbgrader(lab, "generate_assignment", SESSION, "--force")
    nb = submissions.read(course / "release" / SESSION / f"{SESSION}.ipynb")
    markdown, code = hostile_cells()
    nb.cells += [new_markdown_cell(markdown), new_code_cell(code)]
    submitted = course / "submitted" / STUDENT / SESSION / f"{SESSION}.ipynb"
    submissions.write(nb, submitted)

    # --- the instructor grades it with the course's config ---------------------------------------------
    started = time.monotonic()
    nbgrader(lab, "autograde", SESSION, f"--student={STUDENT}", "--force")
    nbgrader(lab, "generate_feedback", SESSION, f"--student={STUDENT}", "--force")
    grading_seconds = time.monotonic() - started
    autograded_path = course / "autograded" / STUDENT / SESSION / f"{SESSION}.ipynb"
    autograded = submissions.read(autograded_path)
    notes_cell = next(c for c in autograded.cells if c.cell_type == "markdown" and NOTES[:20] in c.source)
    code_cell = next(c for c in autograded.cells if c.cell_type == "code" and "display(Javascript" in c.source)
    outputs = [o for c in autograded.cells for o in c.get("outputs", [])]
    shown = json.dumps({"markdown": [c.source for c in autograded.cells if c.cell_type != "code"],
                        "outputs": outputs})  # what the pages render as markup
    for word in ("onerror", "<script", "decodeURIComponent"):
        assert word not in shown, shown[max(0, shown.find(word) - 300):shown.find(word) + 100]
    assert not any(kind in o.get("data", {}) for o in outputs for kind in ("application/javascript", "image/svg+xml"))
    assert "removed for safety: JavaScript" in shown
    feedback = (course / "feedback" / STUDENT / SESSION / f"{SESSION}.html").read_text()
    assert "eval(decodeURIComponent" not in executable_text(feedback), "the feedback page carries the payload"

    # The outputs the kernel produced are the ones rebuilt below, once sanitized (so the control is faithful).
    raw_outputs = unsanitized_outputs(code)
    cleaned = [copy.deepcopy(o) for o in raw_outputs]
    for output in cleaned:
        sanitize_output(output)
    assert [dict(o["data"]) for o in code_cell.outputs] == [dict(o["data"]) for o in cleaned]

    # --- the manual grading view, as the instructor opens it ------------------------------------------
    page.goto(lab.page_url("formgrader", query=""))  # the token logs the browser in (a cookie)
    page.goto(f"{lab.url}/formgrader/gradebook/{SESSION}/{SESSION}")
    submission_link = page.locator("a.name-hidden", has_text="Submission #").first
    expect(submission_link).to_be_visible()
    submission_link.click()
    expect(page.locator(".text_cell_render", has_text="Notes from the interview").first).to_contain_text("a < b")
    expect(page.locator(".text_cell_render code", has_text="code spans").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    cookies = {c["name"] for c in page.context.cookies()}
    assert "_xsrf" in cookies, f"the page has no _xsrf cookie to steal: {cookies}"
    submission_url = page.url
    expect(page.locator("a.name-shown").first).to_contain_text("<img src=x onerror=")  # the id, as text
    assert "decodeURIComponent" not in executable_text(page.content())
    fired = wait_for(markers, timeout=3)
    page.locator(".text_cell_render", has_text="Notes from the interview").first.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "formgrader-hostile-submission.png"), full_page=False)
    assert not fired, f"student code ran in the formgrader: {[p.name for p in fired]}"

    # --- the same page for a notebook autograded without the sanitizer: the formgrader still cleans it ---
    raw = copy.deepcopy(autograded)
    for cell in raw.cells:
        if cell is not None and cell.get("source") == notes_cell.source:
            cell.source = markdown
        if cell.cell_type == "code" and cell.source == code:
            cell.outputs = raw_outputs
    os.chmod(autograded_path, 0o644)
    submissions.write(raw, autograded_path)
    page.goto(submission_url)
    expect(page.locator(".text_cell_render", has_text="Notes from the interview").first).to_contain_text("a < b")
    page.wait_for_load_state("networkidle")
    assert "decodeURIComponent" not in executable_text(page.content())
    fired = wait_for(markers, timeout=3)
    assert not fired, f"student code ran in the formgrader (render time): {[p.name for p in fired]}"

    # --- control: that notebook through the same template without the sanitizer, same origin -------------
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    monkeypatch.setenv("JUPYTER_PATH", os.pathsep.join([str(OFFLINE_TEMPLATES), os.environ.get("JUPYTER_PATH", "")]))
    config = Config()
    config.HTMLExporter.template_name = "formgrade"
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    submission_id = re.search(r"/formgrader/submissions/([^/?#]+)", submission_url).group(1)
    resources = {"assignment_id": SESSION, "notebook_id": SESSION, "submission_id": submission_id, "index": 0,
                 "total": 1, "base_url": "", "student": STUDENT, "last_name": None, "first_name": None,
                 "notebook_path": f"/autograded/{STUDENT}/{SESSION}/{SESSION}.ipynb"}
    unsafe_html, _ = HTMLExporter(config=config).from_notebook_node(raw, resources=resources)
    control_url = f"{lab.url}/course-test/unsanitized-formgrade.html"
    page.route(control_url, lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8",
                                                          body=unsafe_html))
    page.goto(control_url)
    fired = wait_for(markers, timeout=30)
    page.screenshot(path=str(screenshots / "formgrader-hostile-submission-unsanitized.png"), full_page=False)
    assert sorted(p.name for p in fired) == sorted(VECTORS), (
        f"the control page should run every payload; it ran {[p.name for p in fired]} "
        f"(grading took {grading_seconds:.1f} s)")
    for marker in markers:
        shutil.rmtree(marker, ignore_errors=True)
