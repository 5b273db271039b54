"""The practice oracle: the reference's figure for a practice round, computed in a process of its own.

A practice round (``course.practice``) has new numbers, so the session's sample figures cannot check it.
The student's kernel asks this process, one JSON line per question on stdin::

    {"session": "session1_chat", "name": "read_qps", "scenario": {"daily_active_users": "150 M user", ...}}

and reads one line back: ``{"value": <plain data>}`` (``{"$q": [magnitude, "units"]}`` for a quantity) or
``{"error": "why"}``. The reference runs here, from ``source/<session>/<session>.ipynb``; without that file
(a class set-up, where students never hold the solutions) there is no oracle, and the round's figures are
verified by the self-check or the grader. Only the session's own estimate functions can be asked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from .cases import Case, scenario_input

ROOT = Path(__file__).resolve().parents[2]


def source_notebook(session_id: str, root: Path = ROOT) -> Path | None:
    """The session's source notebook, if this machine has it (and the id is a plain session name)."""
    if not session_id.replace("_", "").isalnum():
        return None
    path = root / "source" / session_id / f"{session_id}.ipynb"
    return path if path.is_file() else None


def answer(request: Any, root: Path = ROOT) -> dict:
    """One question's answer (see the module docstring)."""
    from ..content import load_session
    from . import reference

    if not isinstance(request, dict):
        return {"error": "a request is a JSON object"}
    session_id, name, scenario = request.get("session"), request.get("name"), request.get("scenario")
    if not (isinstance(session_id, str) and isinstance(name, str) and isinstance(scenario, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in scenario.items())):
        return {"error": "a request names a session, an estimate and a scenario of text values"}
    notebook = source_notebook(session_id, root)
    if notebook is None:
        return {"error": f"no reference for {session_id!r} on this machine"}
    if name not in load_session(session_id).sample.get("expected", {}):
        return {"error": f"{name!r} is not one of the session's estimates"}
    case = Case("call", name, args=(scenario_input(scenario),))
    try:
        value = reference.evaluate(notebook, [case.request()])[0]
    except Exception as exc:  # noqa: BLE001 - a bad scenario must not kill the oracle
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"value": value}


def main(argv: list[str] | None = None) -> int:
    """Answer questions from stdin until it closes."""
    root = Path(argv[0]) if argv else ROOT
    for line in sys.stdin:
        try:
            reply = answer(json.loads(line), root)
        except ValueError:
            reply = {"error": "not JSON"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
