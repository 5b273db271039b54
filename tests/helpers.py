"""Helpers shared by the notebook and nbgrader-cycle tests."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def source_nb(session_id: str) -> Path:
    return ROOT / "source" / session_id / f"{session_id}.ipynb"


def release_nb(session_id: str) -> Path:
    return ROOT / "release" / session_id / f"{session_id}.ipynb"
