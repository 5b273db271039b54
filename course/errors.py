"""The errors a student sees from the course helpers, each shown as a short card, never a traceback."""

from __future__ import annotations

#: At most this many lines in a card (the message, then the next step).
CARD_LINES = 8
_RED, _BOLD, _DIM, _RESET = "\x1b[31m", "\x1b[1m", "\x1b[2m", "\x1b[0m"


def card(message: str, next_step: str) -> list[str]:
    """A failure card's lines: ``✗`` and the first line of ``message``, the rest indented, the next step.

    IPython shows these lines instead of a traceback for an exception with ``_render_traceback_``.
    """
    lines = [line for line in str(message).strip().splitlines() if line.strip()] or ["something went wrong"]
    body = lines[: CARD_LINES - 1]
    if len(lines) > len(body):
        body[-1] = body[-1] + " …"
    out = [f"{_RED}{_BOLD}✗ {body[0]}{_RESET}"] + [f"  {line}" for line in body[1:]]
    out.append(f"  {_DIM}Next step:{_RESET} {next_step}")
    return out


class CourseInputError(ValueError):
    """Bad input to a public helper: the message names the problem (and the line, where there is one).

    Raised instead of letting a library's internal traceback become the message; the notebook shows it
    as a short card (the sentence, then what to do), not the frames behind it.
    """

    next_step = "correct the value named above in your cell, then run it again."

    def __init__(self, message: str, *, line: int | None = None, text: str | None = None) -> None:
        self.line = line
        self.text = text
        where = f"line {line}: " if line is not None else ""
        shown = f"\n    {text.strip()}" if text else ""
        super().__init__(f"{where}{message}{shown}")

    def _render_traceback_(self) -> list[str]:
        return card(str(self), self.next_step)
