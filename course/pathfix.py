"""nbgrader runs the ``alembic`` command by name; make sure the running interpreter's scripts are found."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def ensure_scripts_on_path() -> None:
    """Put this interpreter's ``bin/`` first on PATH (a venv used without activation otherwise lacks it)."""
    scripts = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if scripts not in parts:
        os.environ["PATH"] = os.pathsep.join([scripts, *parts])
