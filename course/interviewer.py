"""The requirements phase: the student asks clarifying questions and the interviewer answers the ones it has.

Matching rule (:func:`ask`). The question and every keyword are normalised (lower case, punctuation to
spaces). A keyword *hits* when it appears as whole words, singular or plural ("users" and "user" find
each other). The clarification with the most hits wins, ties going to the higher similarity. With no hit
anywhere, the clarification whose ``example_question`` is most similar wins if the similarity (rapidfuzz
``token_sort_ratio`` of the normalised texts, 0–100) reaches :data:`SIMILARITY_THRESHOLD`; otherwise
nothing matches. At 70 a close rephrasing or a typo still matches ("how many usres are exepcted" scores 79
against "How many users are we expecting?") and an off-topic question does not ("what's your favourite
colour" scores at most 44 against the chat session's questions).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

import ipywidgets as widgets
from IPython.display import HTML
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process

from .errors import CourseInputError
from .runtime import is_grading

__all__ = ["Clarification", "SIMILARITY_THRESHOLD", "ask", "interviewer", "Interviewer"]

#: Lowest rapidfuzz token_sort_ratio (0–100) at which a question without a keyword still matches.
SIMILARITY_THRESHOLD = 70


@dataclass(frozen=True)
class Clarification:
    """One thing the interviewer will clarify when asked: a topic, its keywords, a sample question, the answer."""

    topic: str
    keywords: tuple[str, ...]
    example_question: str
    answer: str

    def __post_init__(self) -> None:
        __tracebackhide__ = True
        for name in ("topic", "example_question", "answer"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise CourseInputError(f"Clarification {name} must be non-empty text, got {value!r}")
        keywords = self.keywords
        if not isinstance(keywords, (tuple, list)) or not all(isinstance(k, str) and default_process(k) for k in keywords):
            raise CourseInputError(f"Clarification {self.topic!r}: keywords must be a tuple of words, got {keywords!r}")
        object.__setattr__(self, "keywords", tuple(keywords))


def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Whole words, singular or plural: "user" and "users" both find "user" and "users"."""
    word = default_process(keyword)
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    return re.compile(rf"\b{re.escape(word)}(?:s|es)?\b")


def _hits(question: str, clarification: Clarification) -> int:
    """How many of the clarification's keywords the (normalised) question contains."""
    return sum(1 for keyword in clarification.keywords if _keyword_pattern(keyword).search(question))


def ask(question: str, clarifications: Sequence[Clarification]) -> Clarification | None:
    """The clarification a question asks about, or None (see the module docstring for the rule)."""
    __tracebackhide__ = True
    if not isinstance(question, str):
        raise CourseInputError(f"a question must be text, got {type(question).__name__} {question!r}")
    _check_clarifications(clarifications)
    text = default_process(question)
    if not text:
        return None
    scored = [
        (_hits(text, c), fuzz.token_sort_ratio(text, default_process(c.example_question)), c)
        for c in clarifications
    ]
    hits, similarity, best = max(scored, key=lambda item: item[:2])
    return best if hits or similarity >= SIMILARITY_THRESHOLD else None


def _check_clarifications(clarifications: Sequence[Clarification]) -> None:
    __tracebackhide__ = True
    if isinstance(clarifications, (str, bytes)) or not isinstance(clarifications, Sequence) or not clarifications:
        raise CourseInputError("clarifications must be a non-empty list of Clarification(...)")
    topics: set[str] = set()
    for c in clarifications:
        if not isinstance(c, Clarification):
            raise CourseInputError(f"expected Clarification(...), got {type(c).__name__} {c!r}")
        if c.topic in topics:
            raise CourseInputError(f"topic {c.topic!r} appears twice")
        topics.add(c.topic)


def _check_title(title: str) -> None:
    __tracebackhide__ = True
    if not isinstance(title, str):
        raise CourseInputError(f"title must be text, got {type(title).__name__} {title!r}")


def _line(speaker: str, text: str) -> str:
    return f"<p><b>{speaker}:</b> {html.escape(text)}</p>"


class Interviewer(widgets.VBox):
    """The live interviewer: ``question`` (Text; Enter submits), ``ask_button``, ``checklist`` and ``transcript`` (HTML)."""

    def __init__(self, clarifications: Sequence[Clarification], *, title: str = "Clarifying questions") -> None:
        __tracebackhide__ = True
        _check_clarifications(clarifications)
        _check_title(title)
        self.clarifications = tuple(clarifications)
        self.asked: list[str] = []
        self._lines: list[str] = []
        self.question = widgets.Text(placeholder="Ask the interviewer a question, e.g. how many users?",
                                     layout=widgets.Layout(width="60%"))
        self.ask_button = widgets.Button(description="Ask", button_style="primary")
        self.checklist = widgets.HTML()
        self.transcript = widgets.HTML()
        self.ask_button.on_click(lambda _: self._submit())
        # Enter sends the Text model's "submit" event; Text.on_submit is deprecated in ipywidgets 8 (it warns).
        self.question.on_msg(self._on_text_message)
        super().__init__([widgets.HTML(f"<h3>{html.escape(title)}</h3>"),
                          widgets.HBox([self.question, self.ask_button]), self.checklist, self.transcript])
        self.add_class("course-interviewer")  # a stable hook for styling and the browser tests
        self._render()

    @property
    def remaining_topics(self) -> list[str]:
        """Topics not asked about yet, in the scenario's order."""
        return [c.topic for c in self.clarifications if c.topic not in self.asked]

    def _on_text_message(self, _widget: widgets.Text, content: dict, _buffers: list) -> None:
        if content.get("event") == "submit":
            self._submit()

    def _submit(self) -> None:
        question = self.question.value.strip()
        if not question:
            self._lines.append(_line("Interviewer", "Go ahead: type a question about the requirements, then press Ask."))
            self._render()
            return
        self._lines.append(_line("You", question))
        match = ask(question, self.clarifications)
        if match is None:
            self._lines.append(_line("Interviewer", self._not_a_constraint()))
        else:
            if match.topic not in self.asked:
                self.asked.append(match.topic)
            self._lines.append(_line("Interviewer", match.answer))
        self.question.value = ""
        self._render()

    def _not_a_constraint(self) -> str:
        remaining = self.remaining_topics
        if not remaining:
            return "That is not a constraint for this session, and you have covered every topic I had in mind."
        return f"That is not a constraint for this session. Try asking about: {', '.join(remaining)}."

    def _render(self) -> None:
        total = len(self.clarifications)
        items = "".join(
            f"<li>{'☑' if c.topic in self.asked else '☐'} {html.escape(c.topic)}</li>" for c in self.clarifications
        )
        self.checklist.value = (f"<b>asked {len(self.asked)} of {total} topics</b>"
                                f"<ul style='list-style: none'>{items}</ul>")
        self.transcript.value = "".join(self._lines)


def interviewer(clarifications: Sequence[Clarification], *, title: str = "Clarifying questions") -> Interviewer | HTML:
    """Ask the interviewer clarifying questions; each topic's answer appears only once a question asks for it.

    Under grading it lists the topics (never the answers).
    """
    __tracebackhide__ = True
    if is_grading():
        _check_clarifications(clarifications)
        _check_title(title)
        topics = "".join(f"<li>{html.escape(c.topic)}</li>" for c in clarifications)
        return HTML(f"<h3>{html.escape(title)}</h3><p>Topics the interviewer can clarify:</p><ul>{topics}</ul>")
    return Interviewer(clarifications, title=title)
