"""Driving JupyterLab 4 in playwright: open a notebook once its kernel is idle, menus, Run All to the end."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from playwright.sync_api import Locator, Page, expect

KERNEL_IDLE = re.compile(r"Python 3 \(ipykernel\) \| Idle")
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'

# True once every non-empty code cell of the open notebook shows an execution count ("[12]:").
_ALL_EXECUTED = """() => {
  const cells = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell')];
  if (!cells.length) return false;
  return cells.every(cell => {
    const source = (cell.querySelector('.cm-content') || {}).textContent || '';
    if (!source.trim()) return true;
    const prompt = (cell.querySelector('.jp-InputPrompt') || {}).textContent || '';
    return /\\[\\d+\\]/.test(prompt);
  });
}"""


def open_notebook(page: Page, url: str) -> None:
    """Open a notebook URL and wait until its kernel is attached and idle.

    Waiting for the status bar's "Python 3 (ipykernel) | Idle" matters: Run All before the kernel is
    attached either pops the "Select Kernel" dialog or runs only the first cell.
    """
    page.goto(url)
    page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=90_000)
    expect(page.locator("#jp-main-statusbar").get_by_text(KERNEL_IDLE)).to_be_visible(timeout=90_000)


def menu(page: Page, top: str, item: str | re.Pattern[str]) -> None:
    """Click ``top`` in the menu bar, then ``item`` in its menu."""
    page.locator(".lm-MenuBar-itemLabel").filter(has_text=re.compile(rf"^{re.escape(top)}$")).first.click()
    page.get_by_role("menuitem", name=item, exact=isinstance(item, str)).first.click()


def run_all(page: Page, timeout: float = 180) -> float:
    """Run → Run All Cells, then wait until every code cell has run; fail at the first error output.

    Returns the seconds it took.
    """
    start = time.monotonic()
    menu(page, "Run", "Run All Cells")
    while True:
        errors = page.locator(STDERR)
        if errors.count():
            raise AssertionError(f"a cell wrote to stderr or raised:\n{errors.first.inner_text()[:2000]}")
        if page.evaluate(_ALL_EXECUTED):
            break
        if time.monotonic() - start > timeout:
            raise AssertionError(f"Run All did not finish in {timeout:.0f} s")
        page.wait_for_timeout(250)
    expect(page.locator("#jp-main-statusbar").get_by_text(KERNEL_IDLE)).to_be_visible(timeout=60_000)
    return time.monotonic() - start


def image_loaded(image: Locator) -> bool:
    """True when an ``<img>`` has decoded a real picture (not a broken or empty one)."""
    return image.evaluate("img => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0")


def wait_for_new_picture(image: Locator, before: str | None, timeout: float = 30_000) -> str:
    """Wait until ``image`` shows a different, decoded picture than ``before`` (its old ``src``); the new src.

    Compares in the page: a failed ``expect(...).not_to_have_attribute`` would print both data: URLs.
    """
    image.page.wait_for_function(
        """([img, before]) => img.getAttribute('src') && img.getAttribute('src') !== before
                                && img.complete && img.naturalWidth > 0""",
        arg=[image.element_handle(), before], timeout=timeout)
    return image.get_attribute("src")


def settled(read: Callable[[], str | None], page: Page, quiet_ms: int = 2000, timeout: float = 60) -> str | None:
    """What ``read()`` returns once it has stopped changing for ``quiet_ms``.

    Typing sends one update per key and a clock ticks once a second; under load the kernel may still be
    answering earlier updates when the last one already shows, so "it changed" is not "it is done".
    """
    start = time.monotonic()
    value, since = read(), time.monotonic()
    while time.monotonic() - since < quiet_ms / 1000:
        if time.monotonic() - start > timeout:
            raise AssertionError(f"still changing after {timeout:.0f} s")
        page.wait_for_timeout(200)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


def settled_picture(image: Locator, quiet_ms: int = 2000) -> str | None:
    """The ``src`` of ``image`` once it has stopped changing (see :func:`settled`)."""
    return settled(lambda: image.get_attribute("src"), image.page, quiet_ms)
