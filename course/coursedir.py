"""Load a course folder's ``nbgrader_config.py`` into a traitlets Config for nbgrader's Python API."""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .pathfix import ensure_scripts_on_path


def load_course_config(course_dir: str | Path, *, db_url: str | None = None) -> Config:
    """The course's config with ``CourseDirectory.root`` set to ``course_dir``.

    ``db_url`` overrides the gradebook; by default a course copy gets its own SQLite file inside it,
    whatever ``COURSE_DB_URL`` says, so scratch runs never write to a real class's gradebook.
    """
    ensure_scripts_on_path()
    course_dir = Path(course_dir).resolve()
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config()
    config.CourseDirectory.root = str(course_dir)
    config.CourseDirectory.db_url = db_url or f"sqlite:///{course_dir / 'gradebook.db'}?timeout=60"
    return config
