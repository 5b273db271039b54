"""A practice round in JupyterLab: new numbers from the interviewer, figure checks answered by the reference
in a process of its own, and the curveball re-running the student's own estimates.

Screenshots: ``test-artifacts/screenshots/practice/{interviewer,checks,curveball}.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from course import submissions
from course.content import load_session
from course.practice import new_round, round_scenario
from tests.browser.conftest import ROOT
from tests.browser.jlab import open_notebook, run_all

pytestmark = pytest.mark.browser
SESSION = "session1_chat"


def _solved_round(work: Path) -> Path:
    """A new practice round of Session 1, answered with the solutions on the round's own assumptions."""
    notebook = new_round(SESSION, work=work)
    number = int(notebook.parent.name.rsplit("round", 1)[1])
    release = submissions.read(notebook)
    solved = submissions.fill(release, submissions.read(ROOT / "source" / SESSION / f"{SESSION}.ipynb"))
    for cell in solved.cells:
        if submissions.grade_id(cell) == "assumptions":
            cell.source = "assumptions = Assumptions(\n" + "".join(
                f"    {k}={v!r},\n" for k, v in round_scenario(SESSION, number).items()) + ")"
    submissions.write(solved, notebook)
    return notebook


def test_a_practice_round_and_its_curveball(lab, watched, screenshots: Path) -> None:
    page: Page = watched.page
    notebook = _solved_round(lab.root / "work")
    number = int(notebook.parent.name.rsplit("round", 1)[1])
    scenario = round_scenario(SESSION, number)
    folder = screenshots / "practice"
    folder.mkdir(exist_ok=True)

    open_notebook(page, lab.page_url(f"lab/tree/work/practice/{notebook.parent.name}/{notebook.name}"))
    run_all(page, timeout=240)

    # The interviewer states the round's figures, not the sample's.
    spoken = load_session(SESSION, scenario=scenario).clarifications[0]
    assert spoken.answer != load_session(SESSION).clarifications[0].answer
    widget = page.locator(".course-interviewer").first
    question = widget.locator("input[type='text']")
    question.fill("how many daily active users do we have?")
    question.press("Enter")
    expect(widget).to_contain_text(spoken.answer)
    widget.screenshot(path=str(folder / "interviewer.png"))

    # Each figure check passed against the reference's figure for this round (the oracle answered).
    traffic = page.locator(".jp-OutputArea-output", has_text="✓ peak_read_qps").first
    expect(traffic).to_be_visible()
    expect(page.locator(".jp-OutputArea-output", has_text="verified by the self-check")).to_have_count(0)
    traffic.screenshot(path=str(folder / "checks.png"))

    # The curveball: the change is checked, the student's estimates re-run, the biggest mover named.
    table = page.locator(".jp-OutputArea-output", has_text="Moves most").first
    expect(table).to_contain_text("replicated_storage")
    expect(table).to_contain_text("chat_servers_needed")  # unchanged by bigger messages: listed as such
    expect(page.locator(".jp-OutputArea-output", has_text="after_curveball makes the interviewer's change")).to_have_count(1)
    table.scroll_into_view_if_needed()
    table.screenshot(path=str(folder / "curveball.png"))
    watched.assert_offline()
