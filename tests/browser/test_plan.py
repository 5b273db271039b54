"""The plan notebook in JupyterLab, as a student with a few attempts sees it: Run All, the plan, the plots.

The kernel reads a fixture journal: the notebook runs on a kernel spec of its own whose environment sets
``COURSE_JOURNAL_DIR`` (the shared server strips ``COURSE_*`` variables, and the other tests' kernels
must not see this journal). A screenshot of the whole notebook goes to ``test-artifacts/screenshots/plan.png``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect

from course.timeline import PHASES
from tests.browser.conftest import ROOT
from tests.browser.jlab import image_loaded, open_notebook, run_all
from tests.test_plan import attempt, write_journal

pytestmark = pytest.mark.browser

KERNEL = "course-plan-journal"  # the fixture journal's kernel spec
DISPLAY_NAME = "Python 3 (ipykernel)"  # as the status bar shows it (open_notebook waits for it)


def student_journal() -> list[dict]:
    """Sessions 1 and 2 done, the peak factor forgotten in 3 of the last 4 attempts, estimation running long."""
    def minutes(**over: float) -> dict[str, float]:
        names = {"estimation": "Estimation", "detailed": "Detailed design", "deep": "Deep dive"}
        return {p.name: float(p.minutes) for p in PHASES} | {names[k]: v for k, v in over.items()}

    return [
        attempt(day=1, passed=9, second_try=["storage", "bandwidth"], mistakes={"forgotten_peak": 2, "bits_bytes": 1},
                minutes=minutes(estimation=11.5, detailed=15.0, deep=4.0)),
        attempt(day=2, scenario="practice round 1", second_try=["storage"], mistakes={"bits_bytes": 1},
                minutes=minutes(estimation=8.0, detailed=13.0, deep=6.0)),
        attempt("session2_url_shortener", day=3, passed=10, second_try=["algorithm"],
                mistakes={"forgotten_peak": 1, "unit_prefix": 1}, minutes=minutes(estimation=7.5, detailed=14.5)),
        attempt(day=4, scenario="practice round 2", mistakes={"forgotten_peak": 1},
                minutes=minutes(estimation=6.5, detailed=12.5, deep=7.0)),
    ]


def _kernel_with_journal(lab, journal: Path) -> None:
    """A kernel spec in the server's Jupyter data folder, like python3 but reading ``journal``."""
    data = lab.root.parent / "jupyter" / "data"  # tests/browser/conftest.py: JUPYTER_DATA_DIR
    assert data.is_dir(), f"the lab fixture's Jupyter data folder moved: {data}"
    spec = data / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": DISPLAY_NAME, "language": "python",
        "env": {"COURSE_JOURNAL_DIR": str(journal)}}))
    assert KERNEL in lab.api("GET", "api/kernelspecs")["kernelspecs"]


def test_plan_notebook_shows_the_plan_and_the_plots(lab, watched, screenshots: Path, tmp_path: Path) -> None:
    page: Page = watched.page
    write_journal(tmp_path / "journal", student_journal())
    _kernel_with_journal(lab, tmp_path / "journal")
    nb = nbformat.read(ROOT / "release" / "plan.ipynb", as_version=4)
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": DISPLAY_NAME, "language": "python"}
    nbformat.write(nb, lab.root / "work" / "plan.ipynb")

    page.set_viewport_size({"width": 1280, "height": 2300})  # the whole notebook in one screenshot
    open_notebook(page, lab.page_url("lab/tree/work/plan.ipynb"))
    page.locator(".jp-SideBar .lm-TabBar-tab.lm-mod-current").first.click()  # fold the file browser away
    run_all(page)

    plan = page.locator(".course-plan")
    expect(plan).to_have_count(1)
    step = plan.locator(".course-plan-step")
    expect(step).to_contain_text("Next: Redo Session 1 as a practice round")
    expect(step).to_contain_text("You forgot the peak factor in 3 of your last 4 attempts")
    expect(step).to_contain_text("python -m course practice session1_chat")
    expect(plan.locator("tr.course-plan-done")).to_have_count(2)  # Sessions 1 and 2
    expect(plan.locator("tr.course-plan-next")).to_contain_text("Review and self-assessment")
    expect(plan.locator("tr.course-plan-not-built-yet")).to_have_count(6)
    expect(plan).to_contain_text("Week 3 · Advanced")

    picture = page.locator(".jp-OutputArea-output img")
    expect(picture).to_have_count(1)
    picture.scroll_into_view_if_needed()
    assert image_loaded(picture), "the progress plots are not drawn"
    width = picture.evaluate("img => img.naturalWidth")
    assert width >= 900, f"the progress picture is {width} px wide"

    page.locator(".jp-NotebookPanel-notebook").evaluate("el => el.scrollTo(0, 0)")
    page.locator(".jp-NotebookPanel").first.screenshot(path=str(screenshots / "plan.png"))
    watched.assert_offline()
