"""Deep-dive self-check: the model key points, shown only once the student has written an answer.

A point counts as *mentioned* when any of its keywords starts a word of the answer, case ignored
("queue" finds "Queues", "ack" finds "acknowledged" but not "back"). This is a hint for the student,
not a grade: the written answer is graded by hand.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral

from . import evidence as _evidence
from .errors import CourseInputError

__all__ = ["KeyPoint", "KeyPointsCheck", "key_points", "word_count"]

_WORD = re.compile(r"\w+(?:['’-]\w+)*")


@dataclass(frozen=True)
class KeyPoint:
    """A point a good answer makes, and the keywords that suggest an answer makes it."""

    point: str
    keywords: tuple[str, ...]

    def __post_init__(self) -> None:
        __tracebackhide__ = True
        if not isinstance(self.point, str) or not self.point.strip():
            raise CourseInputError(f"KeyPoint point must be non-empty text, got {self.point!r}")
        keywords = self.keywords
        if isinstance(keywords, str) or not keywords or not all(isinstance(k, str) and k.strip() for k in keywords):
            raise CourseInputError(f"KeyPoint {self.point!r}: keywords must be a non-empty tuple of words, got {keywords!r}")
        object.__setattr__(self, "keywords", tuple(k.strip() for k in keywords))

    def mentioned_in(self, text: str) -> bool:
        """True when one of the keywords starts a word of ``text`` (case ignored)."""
        return any(re.search(rf"\b{re.escape(k)}", text, flags=re.IGNORECASE) for k in self.keywords)


@dataclass(frozen=True, repr=False)
class KeyPointsCheck:
    """The outcome of :func:`key_points`; shows itself as HTML in a notebook.

    Until the answer is long enough, ``mentioned`` and ``missing`` stay empty and no representation of it
    (HTML or plain text, both saved in the notebook) names a key point, so nothing leaks early.
    """

    revealed: bool
    words: int
    min_words: int
    points: tuple[KeyPoint, ...]
    mentioned: list[str]
    missing: list[str]

    def __repr__(self) -> str:
        if not self.revealed:
            return (f"Write your answer first ({self.words}/{self.min_words} words): the key points appear once "
                    "it is long enough.")
        lines = [f"Key points ({len(self.mentioned)} of {len(self.points)} seem mentioned):"]
        lines += [f"{'✓' if p.point in self.mentioned else '○'} {p.point}" for p in self.points]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if not self.revealed:
            return (f"<p>Write your answer first ({self.words}/{self.min_words} words): the key points "
                    "appear once it is long enough.</p>")
        items = "".join(
            f"<li>{'✓' if p.point in self.mentioned else '○'} {html.escape(p.point)}</li>" for p in self.points
        )
        return (f"<p><b>Key points</b> (✓ = your answer seems to mention it: "
                f"{len(self.mentioned)} of {len(self.points)})</p><ul style='list-style: none'>{items}</ul>"
                "<p><i>A self-check by keywords only: manual grading decides.</i></p>")


def word_count(text: str) -> int:
    """Words in ``text`` (runs of letters or digits; "don't" and "read-heavy" count once)."""
    return len(_WORD.findall(text))


def key_points(answer_text: str, points: Sequence[KeyPoint], *, min_words: int = 25) -> KeyPointsCheck:
    """Reveal the model key points once ``answer_text`` has ``min_words`` words, marking those it seems to mention.

    The result displays as HTML when it ends a cell.
    """
    __tracebackhide__ = True
    if not isinstance(answer_text, str):
        raise CourseInputError(f"answer_text must be your written answer as text, got {type(answer_text).__name__}")
    if isinstance(min_words, bool) or not isinstance(min_words, Integral) or min_words < 0:
        raise CourseInputError(f"min_words must be a whole number, 0 or more, got {min_words!r}")
    if isinstance(points, (str, bytes)) or not isinstance(points, Sequence) or not points:
        raise CourseInputError("points must be a non-empty list of KeyPoint(...)")
    for p in points:
        if not isinstance(p, KeyPoint):
            raise CourseInputError(f"expected KeyPoint(...), got {type(p).__name__} {p!r}")
    words = word_count(answer_text)
    revealed = words >= min_words
    mentioned = [p.point for p in points if revealed and p.mentioned_in(answer_text)]
    missing = [p.point for p in points if revealed and p.point not in mentioned]
    _evidence.note_key_points([p.point for p in points], revealed, len(mentioned))  # for the wrap-up; never raises
    return KeyPointsCheck(revealed, words, int(min_words), tuple(points), mentioned, missing)
