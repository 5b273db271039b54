"""Where the notebook is running: a student's live kernel, or nbgrader's grading/validation run."""

from __future__ import annotations

import os


def is_grading() -> bool:
    """True while nbgrader autogrades or validates (it sets ``NBGRADER_EXECUTION``).

    Interactive widgets render a static, deterministic view then, so grading and nbval stay repeatable.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION")) or bool(os.environ.get("COURSE_STATIC_WIDGETS"))
