"""Student-facing content of a session (interviewer answers, deep-dive key points), loaded from TOML.

Solutions and hidden tests are not here: they live in ``authoring/``, outside the package the grading
kernel imports.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CourseInputError
from .interviewer import Clarification
from .keypoints import KeyPoint, key_points

__all__ = ["SessionContent", "load_session"]

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class SessionContent:
    """What the interviewer knows for one session."""

    session_id: str
    clarifications: tuple[Clarification, ...]
    deep_dive: dict[str, tuple[KeyPoint, ...]] = field(default_factory=dict)

    def key_points(self, question: str, answer_text: str):
        """Reveal the model key points of a deep-dive question once ``answer_text`` is written."""
        __tracebackhide__ = True
        if question not in self.deep_dive:
            raise CourseInputError(f"no deep-dive question {question!r}; this session has {sorted(self.deep_dive)}")
        return key_points(answer_text, list(self.deep_dive[question]))


def load_session(session_id: str) -> SessionContent:
    """Load ``course/data/<session_id>.toml``."""
    __tracebackhide__ = True
    path = DATA / f"{session_id}.toml"
    if not path.is_file():
        raise CourseInputError(f"no content for session {session_id!r}")
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    clarifications = tuple(Clarification.from_dict(c) for c in data.get("clarification", []))
    deep = {
        name: tuple(KeyPoint(point=p["point"], keywords=tuple(p["keywords"])) for p in spec["points"])
        for name, spec in data.get("key_points", {}).items()
    }
    return SessionContent(session_id, clarifications, deep)
