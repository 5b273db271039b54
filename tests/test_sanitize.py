"""Nothing a student wrote or printed runs in the instructor's browser; no CSV cell is a spreadsheet formula.

``course.grading.sanitize`` on a corpus of XSS payloads (HTML, markdown, outputs, whole notebooks rendered
by nbgrader's own formgrade and feedback templates), and ``course.grading.report`` /
``course.grading.export`` / ``course.grading.analytics`` with hostile student ids, including a real
``nbgrader export`` in a scratch course. The browser proof is ``tests/browser/test_formgrader_safety.py``.
"""

from __future__ import annotations

import copy
import csv
import io
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from course.grading import analytics, report
from course.grading.sanitize import (
    SanitizeSubmission, render_markdown, sanitize_html, sanitize_markdown, sanitize_notebook,
    sanitize_output,
)

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_TAGS = {"script", "style", "iframe", "frame", "object", "embed", "applet", "svg", "math", "form",
                  "input", "button", "textarea", "base", "meta", "link", "template", "noscript"}


class Audit(HTMLParser):
    """What a browser could run in an HTML fragment: forbidden tags, ``on*`` handlers, unsafe URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def _check(self, tag, attrs):
        checkbox = tag == "input" and dict(attrs).get("type") == "checkbox" and "disabled" in dict(attrs)
        if tag in FORBIDDEN_TAGS and not checkbox:  # a task list's disabled checkbox comes from the renderer
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            value = re.sub(r"[\x00-\x20]", "", value or "").lower()
            if name.startswith("on") or name in ("srcdoc", "formaction", "srcset", "background", "xlink:href"):
                self.problems.append(f"{tag}[{name}]")
            if name in ("href", "src", "action", "data") and (
                    value.startswith(("javascript:", "vbscript:")) or
                    value.startswith("data:") and not re.match(r"data:image/(png|jpeg|gif|webp);", value)):
                self.problems.append(f"{tag}[{name}={value[:30]}]")
            if name == "src" and value.startswith(("/", "http:", "https:", "//")):
                self.problems.append(f"{tag}[src={value[:30]}] (a request off the submission)")
            if name == "style" and any(w in value for w in ("expression", "url(", "position", "javascript")):
                self.problems.append(f"{tag}[style={value[:30]}]")

    def handle_data(self, data):
        self.text.append(data)


def audit(fragment: str) -> tuple[list[str], str]:
    parser = Audit()
    parser.feed(fragment)
    parser.close()
    return parser.problems, "".join(parser.text)


# -- HTML ------------------------------------------------------------------------------------------------

HTML_CORPUS = [
    # (payload, the harmless text that must survive)
    ("<script>alert(1)</script><p>kept</p>", "kept"),
    ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>kept", "kept"),
    ("<ScRiPt>alert(1)</sCrIpT>kept", "kept"),
    ("kept<img src=x onerror=alert(1)>", "kept"),
    ("kept<IMG SRC=x ONERROR=alert(1)>", "kept"),
    ("kept<img src=x onerror=alert(1)//>", "kept"),
    ("kept<img/src=x/onerror=alert(1)>", "kept"),
    ('kept<img src="x" onerror  =  "alert(1)">', "kept"),
    ("kept<svg onload=alert(1)></svg>", "kept"),
    ("kept<svg><script>alert(1)</script></svg>", "kept"),
    ("kept<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>", "kept"),
    ("kept<math><mi xlink:href=javascript:alert(1)>x</mi></math>", "kept"),
    ("kept<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "kept"),
    ("kept<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">", "kept"),
    ("<a href=\"javascript:alert(1)\">kept</a>", "kept"),
    ("<a href=\"JaVaScRiPt:alert(1)\">kept</a>", "kept"),
    ("<a href=\" javascript:alert(1)\">kept</a>", "kept"),
    ("<a href=\"jav&#x09;ascript:alert(1)\">kept</a>", "kept"),
    ("<a href=\"jav&#x0A;ascript:alert(1)\">kept</a>", "kept"),
    ("<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">kept</a>", "kept"),
    ("<a href=\"&#x6A;avascript&colon;alert(1)\">kept</a>", "kept"),
    ("<a href=\"vbscript:msgbox(1)\">kept</a>", "kept"),
    ("<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">kept</a>", "kept"),
    ("<a href=evil.html>kept</a>", "kept"),  # a student's own HTML file, served from the same origin
    ("<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>kept", "kept"),
    ("<iframe src=\"data:text/html,<script>alert(1)</script>\"></iframe>kept", "kept"),
    ("<iframe src=\"javascript:alert(1)\"></iframe>kept", "kept"),
    ("<object data=\"data:text/html,<script>alert(1)</script>\"></object>kept", "kept"),
    ("<embed src=\"javascript:alert(1)\">kept", "kept"),
    ("<div style=\"width: expression(alert(1))\">kept</div>", "kept"),
    ("<div style=\"background:url(javascript:alert(1))\">kept</div>", "kept"),
    ("<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">kept</div>", "kept"),
    ("<style>@import 'http://evil.example/x.css';</style>kept", "kept"),
    ("<form action=\"javascript:alert(1)\"><input type=submit value=go>"
     "<button formaction=javascript:alert(1)>b</button></form>kept", "kept"),
    ("<details open ontoggle=alert(1)>kept</details>", "kept"),
    ("<body onload=alert(1)>kept", "kept"),
    ("<base href=\"javascript:/\">kept", "kept"),
    ("<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">kept", "kept"),
    ("<link rel=stylesheet href=\"javascript:alert(1)\">kept", "kept"),
    ("<!-- --!><img src=x onerror=alert(1)> -->kept", "kept"),
    ("<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">kept", "kept"),
    ("<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">kept", "kept"),
    ("<img src=\"https://evil.example/track.png\">kept", "kept"),  # nothing fetched from the internet
    ("<img src=\"/logout\"><img src=\"../../../logout\"><img src=\"%2e%2e/%2e%2e/logout\">kept", "kept"),
    ("<img srcset=\"x 1x\" src=\"ok.png\">kept", "kept"),
    ("<table><tr><td background=\"javascript:alert(1)\">kept</td></tr></table>", "kept"),
    ("<template><img src=x onerror=alert(1)></template>kept", "kept"),
    ("<textarea><img src=x onerror=alert(1)></textarea>kept", "kept"),
    ("<xmp><img src=x onerror=alert(1)></xmp>kept", "kept"),
    ("&lt;script&gt;alert(1)&lt;/script&gt; kept", "<script>alert(1)</script> kept"),  # text stays text
]


@pytest.mark.parametrize("payload, kept", HTML_CORPUS, ids=[p[:40] for p, _ in HTML_CORPUS])
def test_html_loses_what_runs_and_keeps_the_text(payload, kept):
    cleaned = sanitize_html(payload)
    problems, text = audit(cleaned)
    assert not problems, f"{payload!r} -> {cleaned!r}"
    assert kept in text, f"{payload!r} -> {cleaned!r}"
    assert sanitize_html(cleaned) == cleaned  # stable: a second pass changes nothing


def test_html_keeps_ordinary_formatting():
    page = ('<p><b>bold</b> <i>it</i> <code>x &lt; y</code></p><ul style="list-style: none"><li>a</li></ul>'
            '<table border="1" class="dataframe"><thead><tr style="text-align: right;"><th>h</th></tr></thead>'
            '<tbody><tr><td colspan="2">1</td></tr></tbody></table><a href="https://example.com/x">link</a>'
            '<img src="diagram.png" alt="a diagram" width="200"><img src="data:image/png;base64,iVBORw0KGgo=">'
            '<details><summary>more</summary>hidden</details><h2 id="intro">Intro</h2><a href="#intro">up</a>')
    cleaned = sanitize_html(page)
    for kept in ("<b>bold</b>", "<i>it</i>", "<code>x &lt; y</code>", "list-style", 'class="dataframe"',
                 'text-align', 'colspan="2"', 'href="https://example.com/x"', 'src="diagram.png"', 'alt="a diagram"',
                 'width="200"', 'src="data:image/png;base64,iVBORw0KGgo="', "<details>", "<summary>more</summary>"):
        assert kept in cleaned, kept
    # ids are prefixed (a student's element cannot take one the grading page uses), and so are their links
    assert 'id="user-content-intro"' in cleaned and 'href="#user-content-intro"' in cleaned
    assert 'rel="noopener noreferrer nofollow"' in cleaned


def test_ids_the_grading_page_uses_are_never_given_to_a_students_element():
    cleaned = sanitize_html('<p id="q1">a</p><p id="q1-comment">b</p><p id="statusmessage">c</p>',
                            reserved_ids={"q1", "q1-comment", "statusmessage"})
    assert "id=" not in cleaned and "a" in cleaned


# -- markdown --------------------------------------------------------------------------------------------

PLAIN_MARKDOWN = [
    "a < b and b > c, x <= 3 & y",
    "Use `<script>` tags? No: `<img onerror=...>` is what we fear.",
    "Inline math $x < y$ and display\n\n$$\\frac{a}{b} < 1$$",
    "```html\n<script>alert(1)</script>\n```",
    "```\n<img src=x onerror=alert(1)>\n```",
    "| a | b |\n|---|---|\n| <1 | 2> |",
    "- [x] done\n- [ ] todo\n\n1. one\n2. two\n\n> quote\n\n---",
    "# Heading\n\n**bold** _it_ ~~gone~~ [a link](https://example.com) <https://example.com> ![pic](diagram.png)",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "",
]


@pytest.mark.parametrize("source", PLAIN_MARKDOWN)
def test_plain_markdown_is_kept_byte_for_byte_and_renders_safely(source):
    assert sanitize_markdown(source) == source
    problems, _ = audit(render_markdown(source))
    assert not problems


def test_text_and_code_spans_still_render_as_text():
    html = render_markdown(sanitize_markdown("a < b, `<b>x</b>` and <b>bold</b> <img src=x onerror=alert(1)>"))
    problems, text = audit(html)
    assert not problems
    assert "a < b" in text and "<b>x</b>" in text  # the comparison and the code span read as written
    assert "<b>bold</b>" in html  # harmless HTML kept
    assert "<code>&lt;b&gt;x&lt;/b&gt;</code>" in html


MARKDOWN_CORPUS = [
    ("kept <img src=x onerror=alert(1)>", "kept"),
    ("kept\n\n<script>alert(1)</script>", "kept"),
    ("kept\n\n<SCRIPT>alert(1)</SCRIPT>", "kept"),
    ("kept\n\n<div onclick=alert(1)>block</div>", "kept"),
    ("kept\n\n<IMG SRC=x ONERROR=alert(1)>", "kept"),
    ("kept <svg onload=alert(1)></svg>", "kept"),
    ("kept\n\n<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", "kept"),
    ("[kept](javascript:alert(1))", "kept"),
    ("[kept](JAVASCRIPT:alert(1))", "kept"),
    ("[kept](jav&#x61;script:alert(1))", "kept"),
    ("[kept](&#106;avascript:alert(1))", "kept"),
    ("[kept](data:text/html;base64,PHNjcmlwdD4=)", "kept"),
    ("[kept][ref]\n\n[ref]: javascript:alert(1)", "kept"),
    ("kept <javascript:alert(1)>", "kept"),
    ("kept ![x](javascript:alert(1))", "kept"),
    ("kept ![x](https://evil.example/track.png)", "kept"),
    ("[kept](evil.html)", "kept"),
    ("kept\n\n```mermaid\n<img src=x onerror=alert(1)>\n```", "kept"),  # nbconvert copies mermaid unescaped
    ("kept\n\n<iframe srcdoc='<script>alert(1)</script>'></iframe>", "kept"),
    ("kept <a href=\"jav&#x09;ascript:alert(1)\">x</a>", "kept"),
    ("kept <style>body{display:none}</style>", "kept"),
    ("kept\n\n<details open ontoggle=alert(1)>\n\n*md inside*\n\n</details>", "kept"),
]


@pytest.mark.parametrize("source, kept", MARKDOWN_CORPUS, ids=[s[:40] for s, _ in MARKDOWN_CORPUS])
def test_markdown_loses_what_runs_and_keeps_the_text(source, kept):
    cleaned = sanitize_markdown(source)
    assert cleaned != source
    html = render_markdown(cleaned)  # what the formgrade and feedback templates do with a markdown cell
    problems, text = audit(html)
    assert not problems, f"{source!r} -> {html!r}"
    assert kept in text
    assert sanitize_markdown(cleaned) == cleaned  # stable


def test_markdown_rewritten_keeps_its_layout():
    source = "# Answer\n\nFirst <b>point</b>.\n\n```python\nx = 1\n\ny = 2\n```\n\n- a\n- b\n"
    html = render_markdown(sanitize_markdown(source))
    assert "<h1" in html and "<b>point</b>" in html and "<li>a</li>" in html
    _, text = audit(html)
    assert "x = 1\n\ny = 2" in text  # a blank line inside code survives the one-block rewrite


def test_a_heading_that_would_take_a_grade_cells_id_loses_its_id():
    source = "# q1\n\ntext"
    assert sanitize_markdown(source) == source  # nothing reserved: kept
    cleaned = sanitize_markdown(source, reserved_ids={"q1"})
    assert 'id="q1"' not in render_markdown(cleaned) and "q1" in audit(render_markdown(cleaned))[1]


def test_markdown_that_cannot_be_rendered_is_shown_as_text():
    cleaned = sanitize_markdown("see ![x](attachment:missing.png) <img src=x onerror=alert(1)>")
    html = render_markdown(cleaned)
    problems, text = audit(html)
    assert not problems and "onerror" in text  # shown, escaped, as code


# -- outputs and notebooks -------------------------------------------------------------------------------

def test_outputs_keep_text_and_pictures_and_lose_what_runs():
    js = new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "<JS>"})
    assert sanitize_output(js) == ["application/javascript"]
    assert js.data == {"text/plain": "<JS>\n[output removed for safety: JavaScript]"}

    widget = new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"}})
    sanitize_output(widget)
    assert widget.data == {"text/plain": "[output removed for safety: a widget]"}

    svg = new_output("display_data", data={"image/svg+xml": "<svg onload='alert(1)'/>", "image/png": "iVBORw0KGgo="})
    assert sanitize_output(svg) == ["image/svg+xml"] and svg.data["image/png"] == "iVBORw0KGgo="
    assert "removed for safety: an SVG image" in svg.data["text/plain"]
    internal = new_output("display_data", data={"application/vnd.example.secret+json": {}, "text/plain": "x"})
    assert sanitize_output(internal) == ["application/vnd.example.secret+json"]
    assert internal.data["text/plain"] == "x\n[output removed for safety: other data]"  # no vendor names shown

    html = new_output("execute_result", execution_count=3, metadata={"text/html": {"isolated": True}},
                      data={"text/html": "<b>t</b><img src=x onerror=alert(1)>", "text/plain": "t"})
    assert sanitize_output(html) == []
    assert html.data["text/html"] == '<b>t</b><img src="x">' and html.metadata == {}

    markdown = new_output("display_data", data={"text/markdown": "**m** <img src=x onerror=alert(1)>"})
    sanitize_output(markdown)
    assert "onerror" not in render_markdown(markdown.data["text/markdown"])

    latex = new_output("display_data", data={"text/latex": "$a < b$"})
    assert sanitize_output(latex) == [] and latex.data["text/latex"] == "$a < b$"

    picture = new_output("display_data", data={"image/png": "AAAA"},
                         metadata={"image/png": {"width": "1 onerror=alert(1)", "height": 40, "alt": "a <b>"},
                                   "filenames": {"image/png": "/logout"}})
    sanitize_output(picture)
    assert picture.metadata == {"image/png": {"height": 40, "alt": "a <b>"}}

    broken = new_output("display_data", data={"image/png": "not base64 \" onerror=alert(1)"})
    assert sanitize_output(broken) == ["image/png"]


def hostile_notebook() -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"m": {"state": {
        "value": "<img src=x onerror=PWNED()>"}}}}}
    answer = new_markdown_cell("My answer: a < b <img src=x onerror=\"PWNED()\"><script>PWNED()</script> "
                               "![d](attachment:d.svg)",
                               metadata={"nbgrader": {"grade": True, "solution": True, "grade_id": "q1",
                                                      "points": 1, "score": 0, "schema_version": 3}})
    answer["attachments"] = {"d.svg": {"image/svg+xml": "PHN2ZyBvbmxvYWQ9UFdORUQoKT4="}}
    code = new_code_cell("x", execution_count=1, outputs=[
        new_output("display_data", data={"text/html": "<img src=x onerror=\"PWNED()\">html", "text/plain": "h"}),
        new_output("display_data", data={"application/javascript": "PWNED()", "text/plain": "j"}),
        new_output("display_data", data={"text/markdown": "<img src=x onerror=\"PWNED()\">md"}),
        new_output("display_data", data={"image/svg+xml": "<svg onload=\"PWNED()\"/>"}),
        new_output("display_data", data={"image/png": "AAAA"}, metadata={"image/png": {"width": "1 onerror=PWNED()"}}),
        new_output("display_data", data={"text/html": "<b>iso</b><script>PWNED()</script>"},
                   metadata={"text/html": {"isolated": True}}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m"},
                                         "text/plain": "w"}),
    ])
    raw = new_raw_cell("<img src=x onerror=\"PWNED()\">raw")
    return nbformat.from_dict({**nb, "cells": [answer, code, raw]})


def render(nb, template: str, sanitize: bool, student: str = "ann") -> str:
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers
    from traitlets.config import Config

    config = Config()
    config.HTMLExporter.template_name = template
    config.HTMLExporter.extra_template_basedirs = [handlers.template_path]
    config.HTMLExporter.extra_template_paths = [str(Path(handlers.static_path) / "node_modules/bootstrap/dist/css")]
    if sanitize:
        config.HTMLExporter.preprocessors = [SanitizeSubmission]
    resources = {"assignment_id": "a", "notebook_id": "n", "submission_id": "s1", "index": 0, "total": 1,
                 "base_url": "", "student": student, "last_name": None, "first_name": None,
                 "notebook_path": f"autograded/{student}/a/n.ipynb",
                 "nbgrader": {"notebook": "n", "score": 0, "max_score": 1, "late_penalty": 0}}
    page, _ = HTMLExporter(config=config).from_notebook_node(copy.deepcopy(nb), resources=resources)
    return page


def runnable(page: str) -> str:
    """Script bodies and event handler attributes of a whole page (the templates' own scripts included)."""
    found: list[str] = []

    class Collect(HTMLParser):
        in_script = False

        def handle_starttag(self, tag, attrs):
            self.in_script = tag == "script"
            found.extend(v or "" for n, v in attrs if n.startswith("on"))

        def handle_endtag(self, tag):
            self.in_script = False

        def handle_data(self, data):
            if self.in_script:
                found.append(data)

    Collect().feed(page)
    return "\n".join(found)


@pytest.mark.parametrize("template", ["formgrade", "feedback"])
def test_nbgraders_own_pages_run_nothing_of_a_sanitized_notebook(template):
    nb = hostile_notebook()
    assert runnable(render(nb, template, sanitize=False)).count("PWNED") >= 4  # the control: they would
    page = render(nb, template, sanitize=True)
    assert "PWNED" not in runnable(page)
    assert "My answer: a &lt; b" in page  # the answer is still there to grade


def test_the_formgrader_prints_a_hostile_student_id_as_text():
    student = '<img src=x onerror="PWNED()">'
    assert "PWNED" in runnable(render(new_notebook(), "formgrade", sanitize=False, student=student))
    page = render(new_notebook(), "formgrade", sanitize=True, student=student)
    assert "PWNED" not in runnable(page) and "&lt;img src=x onerror=" in page


def test_sanitizing_a_notebook_twice_changes_nothing_more():
    nb = hostile_notebook()
    summary = sanitize_notebook(nb)
    assert summary["removed"] and summary["sources"] >= 2 and summary["outputs"] >= 5
    assert "widgets" not in nb.metadata
    assert nb.cells[0].attachments["d.svg"].keys() == {"image/png"}
    once = copy.deepcopy(nb)
    again = sanitize_notebook(nb)
    assert nb == once and again == {"sources": 0, "outputs": 0, "removed": []}
    nbformat.validate(nb)


def test_nbgrader_config_sanitizes_autograde_feedback_and_the_formgrader():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.Autograde.autograde_preprocessors[-1] is SanitizeSubmission
    assert config.GenerateFeedback.preprocessors[0] is SanitizeSubmission
    assert config.HTMLExporter.preprocessors == [SanitizeSubmission]
    assert config.ExportApp.plugin_class == "course.grading.export.SafeCsvExportPlugin"


# -- CSV -------------------------------------------------------------------------------------------------

HOSTILE_IDS = ["=2+5", "+2+5", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://evil.example","x")',
               "=cmd|' /C calc'!A0", "a,b", 'quo"te', "'quoted", "line\r=1+1,9,9,graded,", "plain"]


def formula(cell: str) -> bool:
    return cell.startswith(report.FORMULA_STARTS)


def test_no_formula_defuses_what_a_spreadsheet_would_run():
    for value in HOSTILE_IDS:
        cell = report.no_formula(value)
        assert not formula(cell), value
        assert report.no_formula(cell) == cell  # idempotent
    assert report.no_formula("=2+5") == "'=2+5" and report.from_csv("'=2+5") == "=2+5"
    for number in ("-1.5", "+3", "-2e-3", "0", "12"):
        assert report.no_formula(number) == number  # numbers stay numbers
    assert report.no_formula("plain") == "plain" and report.no_formula(None) == ""


def test_safe_cell_keeps_a_safe_character_set_and_length():
    flag = "builtins-patch: cell 3 (q1) line 2: shadows the builtin 'abs'"
    assert report.safe_cell(flag) == flag
    assert report.safe_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(?x?)"
    assert report.safe_cell("rule: cell 1 (=1+1) line 1: a\u202ebc <script>\x1b[31m\n\r\tx") == \
        "rule: cell 1 (=1+1) line 1: a?bc ?script??[31m x"
    long = report.safe_cell("x" * 5000)
    assert len(long) == report.MAX_CELL and long.endswith("...")
    assert report.safe_cell("-2+3") == "'-2+3" and report.safe_cell("\t=1") == "'=1"


def test_the_grading_report_has_no_formula_and_no_verbatim_flags(tmp_path):
    outcomes = {s: {"status": "graded", "flags": f"exit: cell 1 ({s}) line 1: sys.exit(...)"} for s in HOSTILE_IDS}
    outcomes["=2+5"]["flags"] = "=1+1; @evil: x"
    table = report.rows(HOSTILE_IDS, outcomes, {}, 10.0, 2)
    path = report.write_csv(tmp_path / "a.csv", table)
    with path.open(newline="") as handle:
        read = list(csv.reader(handle))
    assert read[0] == list(report.COLUMNS)
    assert all(len(row) == len(report.COLUMNS) for row in read)  # a comma in an id shifts nothing
    for row in read[1:]:
        assert not any(formula(cell) for cell in row), row
        assert all(ch in report.SAFE_CHARACTERS for ch in row[4]), row[4]
    assert [report.from_csv(row[0]) for row in read[1:]] == HOSTILE_IDS  # the ids read back as they were
    flags = {report.from_csv(row[0]): row[4] for row in read[1:]}
    assert flags["=2+5"] == "'=1+1; @evil: x"


def test_analytics_reads_hostile_ids_back_and_writes_safe_tables(tmp_path):
    table = report.rows(["=2+5", "ann"], {"=2+5": {"status": "graded", "flags": "exit: cell 1 line 1: \x1b[2Jx"},
                                           "ann": {"status": "graded"}}, {}, 10.0, 1)
    report.write_csv(tmp_path / "autograded" / "s.csv", table)
    flagged = analytics.flagged_submissions(tmp_path, "s")
    assert list(flagged["student"]) == ["=2+5"] and "\x1b" not in flagged.iloc[0]["details"]
    out = analytics.to_csv(flagged, tmp_path / "flagged.csv")
    rows = list(csv.reader(io.StringIO(out.read_text())))
    assert rows[1][0] == "'=2+5" and rows[1][1] == "1"
    assert "\x1b" not in analytics._printable("a\x1b[31mb") and "\u202e" not in analytics._printable("\u202e")


def _gradebook_with_hostile_students(db_url: str) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(db_url, course_id="sysdesign-lab") as gb:
        gb.add_assignment("session1_chat")
        for number, student in enumerate(HOSTILE_IDS):
            gb.add_student(student, first_name="=1+1" if number == 0 else None, last_name="@x" if number == 0 else None,
                           email="-evil@example.com" if number == 0 else None)
            if number % 2 == 0:
                gb.add_submission("session1_chat", student)


def test_nbgraders_own_export_writes_formulas(tmp_path):
    """The control: nbgrader's CsvExportPlugin puts the ids in as they are (and a comma shifts columns)."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    _gradebook_with_hostile_students(db_url)
    with Gradebook(db_url, course_id="sysdesign-lab") as gb:
        CsvExportPlugin(to=str(tmp_path / "raw.csv")).export(gb)
    rows = list(csv.reader((tmp_path / "raw.csv").open(newline="")))
    assert any(formula(cell) for row in rows[1:] for cell in row)
    assert any(len(row) != len(rows[0]) for row in rows[1:])


def test_nbgrader_export_in_a_scratch_course_is_safe_to_open(tmp_path):
    from course.demo import make_course
    from course.grading.export import KEYS

    course = make_course(tmp_path / "course")
    db_url = f"sqlite:///{course / 'gradebook.db'}"
    _gradebook_with_hostile_students(db_url)
    out = tmp_path / "grades.csv"
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "nbgrader", "export", f"--to={out}"], cwd=course, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "SafeCsvExportPlugin" in result.stderr  # nbgrader logs the exporter it uses
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == KEYS
    assert len(rows) == 1 + len(HOSTILE_IDS) and all(len(row) == len(KEYS) for row in rows)
    for row in rows[1:]:
        assert not any(formula(cell) for cell in row), row
    by_id = {report.from_csv(row[KEYS.index("student_id")]): dict(zip(KEYS, row)) for row in rows[1:]}
    assert set(by_id) == set(HOSTILE_IDS)
    first = by_id[HOSTILE_IDS[0]]
    assert (first["first_name"], first["last_name"], first["email"]) == ("'=1+1", "'@x", "'-evil@example.com")
    assert re.fullmatch(r"\d+(\.\d+)?", first["score"]) and re.fullmatch(r"\d+(\.\d+)?", first["max_score"])
