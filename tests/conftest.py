"""Shared test set-up: a quiet, headless, isolated Jupyter environment."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")
os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")

from course.pathfix import ensure_scripts_on_path  # noqa: E402

ensure_scripts_on_path()
