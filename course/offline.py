"""Pages nbgrader writes that load nothing from the internet: feedback and the formgrader's grading view.

nbgrader's ``feedback`` and ``formgrade`` templates call nbconvert's ``mathjax()`` macro without a URL, so
every feedback page a student opens (and every submission the instructor grades by hand) asks
cdnjs.cloudflare.com for MathJax 2; nbconvert's ``mathjax_url`` settings do not reach that call. The
sessions write no LaTeX, so the course replaces the macro with one that loads nothing unless it is given
a URL (``course/offline_templates/nbconvert/templates/base/mathjax.html.j2``), and
:func:`use_offline_templates` puts that folder first on the Jupyter data path, where nbconvert looks for
its templates. ``nbgrader_config.py`` calls it, so every nbgrader command, the formgrader and the demo
use it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["OFFLINE_TEMPLATES", "use_offline_templates"]

#: A Jupyter data folder holding only the course's ``nbconvert/templates/base/mathjax.html.j2``.
OFFLINE_TEMPLATES = Path(__file__).resolve().parent / "offline_templates"


def use_offline_templates() -> None:
    """Put :data:`OFFLINE_TEMPLATES` first on ``JUPYTER_PATH`` for this process and its children."""
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if str(OFFLINE_TEMPLATES) not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(OFFLINE_TEMPLATES), *paths])
