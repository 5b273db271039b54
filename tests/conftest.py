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
    import atexit  # noqa: E402
    import shutil  # noqa: E402
    import tempfile  # noqa: E402

    os.environ["COURSE_JOURNAL_DIR"] = _journal_dir = tempfile.mkdtemp(prefix="sdl-test-journal-")
    atexit.register(shutil.rmtree, _journal_dir, True)  # the process that made it (xdist's controller) removes it


import sys  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def shell():
    """A real IPython shell (not the global singleton): cells run through it fire pre/post_run_cell."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    main = sys.modules.get("__main__")
    config = Config()
    config.HistoryManager.enabled = False
    ip = InteractiveShell(config=config)
    sys.modules["__main__"] = main
    yield ip
    sys.modules["__main__"] = main
