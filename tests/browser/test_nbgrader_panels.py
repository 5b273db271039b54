"""nbgrader's panels in JupyterLab: the instructor's Formgrader and the student's Assignment List.

In the Formgrader panel the instructor generates and releases a session; in the Assignment List the
student sees it released and fetches it. Screenshots: ``test-artifacts/screenshots/nbgrader-*.png``.
The student's own JupyterLab (``make start``, course/labconfig) shows none of the instructor's panels, and
its Validate button runs the course's self-check: ``student-validate-selfcheck.png``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import released_sessions
from tests.browser.jlab import menu

pytestmark = pytest.mark.browser


def test_formgrader_releases_a_session_and_the_assignment_list_fetches_it(lab, watched, screenshots: Path) -> None:
    page: Page = watched.page
    sessions = released_sessions()
    session = sessions[0]
    page.goto(lab.page_url("lab"))
    expect(page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader")).to_be_visible(timeout=90_000)

    # --- Formgrader (an iframe in a JupyterLab tab) -------------------------------------------------
    menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator(".jp-MainAreaWidget:not(.lm-mod-hidden) iframe").first
    expect(formgrader.get_by_text("Manage Assignments").first).to_be_visible(timeout=60_000)
    table = formgrader.locator("#main-table")
    for name in sessions:  # every session of source/ is listed
        expect(table.get_by_text(name, exact=True)).to_be_visible()
    row = table.locator("tr", has=formgrader.get_by_text(session, exact=True))
    row.locator("a:has(.glyphicon-education)").click()  # generate the student version
    modal = formgrader.locator(".modal.in .modal-dialog")
    expect(modal).to_contain_text("Success", timeout=120_000)
    modal.locator(".modal-footer button").first.click()
    expect(formgrader.locator(".modal.in")).to_have_count(0)
    row.locator("a:has(.glyphicon-cloud-upload)").click()  # release it to the exchange
    expect(row.locator(".label", has_text="released")).to_be_visible(timeout=60_000)
    page.screenshot(path=str(screenshots / "nbgrader-formgrader.png"))

    # --- Assignment List: the student sees it and fetches it ----------------------------------------
    menu(page, "Nbgrader", "Assignment List")
    panel = page.locator(".jp-MainAreaWidget:not(.lm-mod-hidden)")
    expect(panel.get_by_text(re.compile("Released assignments")).first).to_be_visible(timeout=60_000)
    released = panel.locator("#released_assignments_list")
    expect(released).to_contain_text(session, timeout=60_000)
    released.get_by_role("button", name="Fetch").first.click()
    downloaded = panel.locator("#fetched_assignments_list")
    expect(downloaded).to_contain_text(session, timeout=60_000)
    assert (lab.root / session / f"{session}.ipynb").is_file(), "the fetched notebook is not in the student's folder"
    page.screenshot(path=str(screenshots / "nbgrader-assignment-list.png"))
    watched.assert_offline()


def test_the_students_own_jupyterlab_has_no_instructor_panels_and_validate_runs_the_selfcheck(
        browser, screenshots: Path, tmp_path: Path) -> None:
    """`make start` for a self-learner (course/labconfig): no Nbgrader menu at all (no Formgrader, Create
    Assignment, Course List, and no exchange for an Assignment List), no news pop-up, and Validate grades
    the notebook with the hidden checks: a notebook whose visible checks pass but whose typed-in figures
    fail on new scenarios is not a "Success!"."""
    from tests.browser.jlab import open_notebook
    from tests.test_student_setup import SESSION, student_start, typed_in

    with student_start(tmp_path, {SESSION: typed_in()}) as lab:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        offbox: list[str] = []
        context.on("request", lambda r: offbox.append(r.url)
                   if r.url.startswith("http") and not r.url.startswith(lab.base) else None)
        page = context.new_page()
        try:
            open_notebook(page, lab.url)
            expect(page.locator(".lm-MenuBar-itemLabel", has_text="Kernel")).to_be_visible()
            assert "Nbgrader" not in page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
            assert page.locator(".Toastify__toast", has_text=re.compile("news", re.I)).count() == 0
            assert page.locator(".nbgrader-CreateAssignmentWidget, #create_assignment").count() == 0
            page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
            dialog = page.locator(".jp-Dialog")
            expect(dialog.locator("#validation-message")).to_be_visible(timeout=300_000)
            expect(dialog).to_contain_text("Check “traffic” (test_traffic): 0 / 3 points")
            expect(dialog).to_contain_text("Autograded: 22 / 27, hidden checks included")
            assert "passes all the tests" not in dialog.inner_text()
            page.screenshot(path=str(screenshots / "student-validate-selfcheck.png"))
            assert not offbox, f"requests tried to leave the machine: {sorted(set(offbox))}"
        finally:
            context.close()
