"""The one error type a student sees from the course helpers."""

from __future__ import annotations


class CourseInputError(ValueError):
    """Bad input to a public helper: the message names the problem (and the line, where there is one).

    Raised instead of letting a library's internal traceback become the message. IPython hides the
    frames of the helper that raised it (``__tracebackhide__``), so the student sees their own call
    and this sentence.
    """

    def __init__(self, message: str, *, line: int | None = None, text: str | None = None) -> None:
        self.line = line
        self.text = text
        where = f"line {line}: " if line is not None else ""
        shown = f"\n    {text.strip()}" if text else ""
        super().__init__(f"{where}{message}{shown}")
