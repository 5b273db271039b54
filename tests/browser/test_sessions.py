"""Every released session in JupyterLab, as a student who solved it sees it: Run All, then each widget.

For each ``release/<id>/<id>.ipynb`` the student notebook (answers filled in from the solutions) opens in
headless chromium, Run All runs every cell without an error, and each widget the notebook creates is
drawn and reacts to the student: the interviewer answers a question asked in a candidate's words (topics
only on request), the clock ticks in real time and then fast, the what-if chart redraws when a slider
moves, the architecture diagram redraws as a line is typed and a malformed line shows its error, the
rubric shows the level and radar chart beside the level the evidence suggests, and a failed check shows
as a short card.
Screenshots of the widgets go to ``test-artifacts/screenshots/<id>.png`` (and one per widget in
``test-artifacts/screenshots/<id>/``).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Locator, Page, expect

from course.architecture import parse_architecture
from course.content import load_session
from course.errors import CourseInputError
from course.rubric import DIMENSIONS, LEVELS, score
from tests.browser.conftest import ROOT, released_sessions
from tests.browser.jlab import image_loaded, open_notebook, run_all, settled, settled_picture, wait_for_new_picture

pytestmark = pytest.mark.browser

#: widget → (the call that creates it in a code cell, the CSS class of its root in the page)
WIDGETS = {
    "timeline": (r"\btimeline\(", ".course-timeline"),
    "interviewer": (r"\binterviewer\(", ".course-interviewer"),
    "whatif": (r"\bexplore\(", ".course-whatif"),
    "architecture": (r"\barchitecture_editor\(", ".course-architecture-editor"),
    "rubric": (r"\brubric_widget\(", ".course-rubric"),
}
ADDED_LINE = "Browser Test Client [client] -> Browser Test Service [service x2]"
BAD_LINE = "-> Browser Test Store"  # no prefix of it parses: the diagram cannot change while it is typed


def expected_widgets(session: str) -> dict[str, int]:
    """How many of each widget the released notebook creates (from its code cells)."""
    nb = nbformat.read(ROOT / "release" / session / f"{session}.ipynb", as_version=4)
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    counts = {name: sum(len(re.findall(call, src)) for src in code) for name, (call, _) in WIDGETS.items()}
    return {name: n for name, n in counts.items() if n}


@pytest.mark.parametrize("session", released_sessions())
def test_session_widgets_render_and_react(session: str, lab, watched, screenshots: Path) -> None:
    page: Page = watched.page
    expected = expected_widgets(session)
    assert expected, f"{session} creates none of the course widgets; is the pattern list out of date?"

    open_notebook(page, lab.page_url(f"lab/tree/work/{session}/{session}.ipynb"))
    run_all(page)

    for name, count in expected.items():
        expect(page.locator(WIDGETS[name][1]), f"{name} widget drawn").to_have_count(count)

    checks = {"timeline": check_timeline, "interviewer": check_interviewer, "whatif": check_whatif,
              "architecture": check_architecture_editor, "rubric": check_rubric}
    shots: list[tuple[str, Path]] = []
    folder = screenshots / session
    folder.mkdir(exist_ok=True)
    for name in expected:
        widget = page.locator(WIDGETS[name][1]).first
        caption = checks[name](page, widget, session)
        widget.scroll_into_view_if_needed()
        path = folder / f"{name}.png"
        widget.screenshot(path=str(path))
        shots.append((caption, path))
    check_failure_card(page, session, screenshots)
    shots.append(("a failed check: a short card, not a traceback", folder / "failure-card.png"))
    compose(shots, screenshots / f"{session}.png", title=f"{session}: every widget after the browser test")
    page.screenshot(path=str(folder / "jupyterlab.png"))
    watched.assert_offline()


# --- one check per widget: interact as a student, assert what changes; return a caption -----------


def check_timeline(page: Page, widget: Locator, session: str) -> str:
    status = widget.locator(".widget-html").last  # "<m:ss> of 45:00 · <phase> (...) · ..."
    expect(status).to_contain_text(re.compile(r"^0:00 of 45:00 · Introduction"))
    play = widget.locator(".widget-play button").first  # ipywidgets 8: play/pause, stop, repeat
    play.click()  # real time: one interview second per second, ticking in the browser (jslink)
    expect(status).to_contain_text(re.compile(r"^0:0[1-9] of 45:00"), timeout=15_000)
    assert _seconds(status.inner_text()) < 60, "the clock does not run in real time"
    widget.get_by_role("button", name=re.compile("fast")).click()  # fast: one interview minute per second
    expect(status).to_contain_text(re.compile(r"^([3-9]|[1-4]\d):\d\d of 45:00"), timeout=30_000)
    play.click()  # pause
    paused = settled(status.inner_text, page, quiet_ms=2500)  # a tick is 1 s: quiet for 2.5 s = stopped
    return f"timeline: real time, then fast, paused at {paused.split(' of ')[0]}"


def _seconds(status: str) -> int:
    minutes, seconds = status.split(" of ", 1)[0].split(":")
    return int(minutes) * 60 + int(seconds)


def check_interviewer(page: Page, widget: Locator, session: str) -> str:
    clarifications = load_session(session).clarifications
    first = clarifications[0]
    question = widget.locator("input[type='text']")
    expect(widget).to_contain_text(f"asked 0 of {len(clarifications)} topics")
    expect(widget).not_to_contain_text(first.answer)  # answers are revealed only when asked
    expect(widget).not_to_contain_text(clarifications[-1].topic)  # the topic list is an opt-in hint
    asked = first.paraphrases[-1] if first.paraphrases else first.example_question  # in a candidate's words
    question.fill(asked)
    question.press("Enter")
    expect(widget).to_contain_text(first.answer)
    expect(widget).to_contain_text(f"asked 1 of {len(clarifications)} topics")
    question.fill("What is your favourite colour?")
    widget.get_by_role("button", name="Ask").click()
    expect(widget).to_contain_text("That is not a constraint for this session")
    newest = widget.locator(".widget-html").nth(1)  # the reply right under the input: the newest exchange
    expect(newest).to_contain_text("favourite colour")
    widget.get_by_role("button", name=re.compile("show topics")).click()
    expect(widget).to_contain_text(clarifications[-1].topic)
    return f"interviewer: asked {asked!r}, got its answer; an off-topic question is refused; topics on request"
def check_whatif(page: Page, widget: Locator, session: str) -> str:
    chart = widget.locator("img").first
    table = widget.locator("table").first
    expect(chart).to_be_visible()
    assert image_loaded(chart), "the what-if chart is not drawn"
    before_src, before_table = chart.get_attribute("src"), table.inner_text()
    slider = widget.locator(".widget-slider").first
    slider.locator(".noUi-handle").focus()
    for _ in range(3):
        page.keyboard.press("PageUp")
    wait_for_new_picture(chart, before_src)
    expect(table).not_to_have_text(before_table)
    return "what-if: first slider moved up, table and chart redrawn"


def check_architecture_editor(page: Page, widget: Locator, session: str) -> str:
    textarea = widget.locator("textarea")
    initial = textarea.input_value()
    graph = parse_architecture(initial)
    if graph.number_of_nodes():
        expect(widget).to_contain_text(f"✓ {graph.number_of_nodes()} components")
    diagram = widget.locator(".widget-output img")
    before = diagram.get_attribute("src") if diagram.count() else None

    good = (initial.rstrip("\n") + "\n" if initial.strip() else "") + ADDED_LINE
    grown = parse_architecture(good)
    textarea.click()
    textarea.press("Control+End")
    textarea.press_sequentially(good[len(initial):] if good.startswith(initial) else "\n" + ADDED_LINE)
    connections = len({frozenset(edge) for edge in grown.edges})
    expect(widget).to_contain_text(f"✓ {grown.number_of_nodes()} components, {connections} connections")
    expect(diagram).to_have_count(1)
    wait_for_new_picture(diagram, before)
    redrawn = settled_picture(diagram)
    assert image_loaded(diagram), "the redrawn diagram is not a picture"

    textarea.press("Control+End")
    textarea.press_sequentially("\n" + BAD_LINE)
    bad_text = textarea.input_value()
    with pytest.raises(CourseInputError) as error:
        parse_architecture(bad_text)
    message = str(error.value).splitlines()[0]  # "line 3: the arrow '->' at the start has no component before it"
    expect(widget).to_contain_text(f"✗ {message}")
    assert diagram.get_attribute("src") == redrawn, "the last good diagram should stay while a line is wrong"
    return f"architecture editor: typed a line (diagram redrawn), then a malformed one: {message}"


def check_rubric(page: Page, widget: Locator, session: str) -> str:
    expect(widget).to_contain_text(f"0 of {len(DIMENSIONS)} rated")
    ratings = {d.name: 3 if i == 0 else 2 for i, d in enumerate(DIMENSIONS)}
    groups = widget.locator(".widget-toggle-buttons")
    for i, rating in enumerate(ratings.values()):
        groups.nth(i).get_by_role("button", name=LEVELS[rating - 1], exact=True).click()
    result = score(ratings)
    expect(widget).to_contain_text(f"{result.score:g} / 100 → {result.level}")
    expect(widget).to_contain_text(re.compile(r"Evidence suggests \d+ / 100 → L\d"))  # beside the self-rating
    expect(widget).to_contain_text("How the suggested level is made")
    chart = widget.locator("img")
    expect(chart).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=chart.element_handle())
    return f"rubric: rated every dimension, {result.score:g} / 100 -> {result.level}, beside the evidence's level"


def check_failure_card(page: Page, session: str, screenshots: Path) -> None:
    """A failed check shows as a short card (what was expected, what was got, the next step), no traceback."""
    last = page.locator(".jp-Notebook .jp-Cell").last
    last.click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")  # a new cell below, as a student would add one
    page.keyboard.press("Enter")
    page.keyboard.type("SESSION.check(next(iter(SESSION.sample['expected'])), 1)")
    page.keyboard.press("Shift+Enter")
    error = page.locator(".jp-Notebook .jp-Cell").nth(-2).locator(".jp-OutputArea-output")
    expect(error).to_contain_text("✗", timeout=30_000)
    expect(error).to_contain_text("Next step:")
    expect(error).not_to_contain_text("Traceback")
    assert len(error.inner_text().strip().splitlines()) <= 8, error.inner_text()
    error.screenshot(path=str(screenshots / session / "failure-card.png"))


def compose(shots: list[tuple[str, Path]], out: Path, *, title: str) -> None:
    """Stack the widget screenshots into one picture, each under its caption."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=15)
    images = [(caption, Image.open(path).convert("RGB")) for caption, path in shots]
    bar = 28
    width = max(image.width for _, image in images)
    height = bar + sum(bar + image.height + 12 for _, image in images)
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    draw.rectangle((0, 0, width, bar), fill="#1e293b")
    draw.text((8, 5), title, fill="white", font=font)
    y = bar
    for caption, image in images:
        draw.rectangle((0, y, width, y + bar), fill="#e2e8f0")
        draw.text((8, y + 5), caption, fill="black", font=font)
        sheet.paste(image, (0, y + bar))
        y += bar + image.height + 12
    sheet.save(out)
