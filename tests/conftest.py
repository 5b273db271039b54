"""Shared test set-up: a quiet, headless, isolated Jupyter environment."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

from course.pathfix import ensure_scripts_on_path  # noqa: E402

ensure_scripts_on_path()

# Practice attempts recorded by the kernels of the tests go to a folder of this run, never the user's journal
# (a test that reads the journal sets its own COURSE_JOURNAL_DIR).
if "COURSE_JOURNAL_DIR" not in os.environ:
    import tempfile  # noqa: E402

    os.environ["COURSE_JOURNAL_DIR"] = tempfile.mkdtemp(prefix="sdl-test-journal-")
