"""The reference solution, run by the grader in its own process: the expected side of every case.

The source notebook (``source/<assignment>/<notebook>.ipynb``, with the solutions) is read, and its
set-up cell and answer cells run, in order, in a fresh namespace of this process. Cases are then
evaluated there through the same :mod:`course.grading.channel` functions the kernel uses, so both sides
are reduced to the same plain data before they are compared. Nothing of it is sent to a kernel.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
from pathlib import Path
from typing import Any

from . import channel

_CACHE: dict[tuple[str, float], dict[str, Any]] = {}
_LOCK = threading.Lock()


class ReferenceError_(RuntimeError):
    """The reference solution does not run: a course bug, never the student's."""


def _runs_in_reference(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell.get("metadata"), dict) else {}
    if cell.get("cell_type") != "code":
        return False
    if cell.get("id") == "setup" or meta.get("grade_id") == "setup":
        return True
    return bool(meta.get("solution")) and not meta.get("grade")


def namespace(source_notebook: str | Path) -> dict[str, Any]:
    """The namespace of the reference solution (cached per file and modification time)."""
    path = Path(source_notebook).resolve()
    key = (str(path), path.stat().st_mtime)
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        nb = json.loads(path.read_text(encoding="utf-8"))
        ns: dict[str, Any] = {"__name__": "__reference__"}
        os.environ.setdefault("MPLBACKEND", "Agg")
        for index, cell in enumerate(nb.get("cells", [])):
            if not _runs_in_reference(cell):
                continue
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            try:
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(source, f"<reference cell {index}>", "exec"), ns)  # noqa: S102 - instructor code
            except Exception as exc:
                raise ReferenceError_(f"the reference solution of {path.name} fails in cell {index}: "
                                      f"{type(exc).__name__}: {exc}") from exc
        _CACHE[key] = ns
        return ns


def evaluate(source_notebook: str | Path, requests: list[dict]) -> list[Any]:
    """The reference's plain result for each request (case dicts), as the kernel's would be encoded."""
    ns = namespace(source_notebook)
    with contextlib.redirect_stdout(io.StringIO()):
        return [channel.evaluate(request, ns) for request in requests]
