"""Student-facing content of a session, loaded from ``course/data/``: the interviewer's answers and the
deep-dive key points (``<id>.toml``, written by hand), and the sample scenario's figures the visible
checks compare with (``<id>.sample.json``, generated from the session spec by ``make release``).

The sample's figures are here so that no check cell spells out an answer: a check cell names what it
checks (``check("read_qps", read_qps(assumptions))``). Solutions and the grading cases are not here:
they live in ``authoring/``, outside the package the grading kernel imports.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import CourseInputError
from .interviewer import Clarification
from .keypoints import KeyPoint, key_points
from .practice import round_here, round_scenario
from .spoken import render

__all__ = ["SessionContent", "load_session"]

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class SessionContent:
    """What the interviewer knows for one session."""

    session_id: str
    clarifications: tuple[Clarification, ...]
    deep_dive: dict[str, tuple[KeyPoint, ...]] = field(default_factory=dict)
    sample: dict = field(default_factory=dict)  # {"assumptions", "units", "expected", "whole_numbers", ...}
    #: "sample", or "practice round N" (:mod:`course.practice`): then ``sample["assumptions"]`` are the
    #: round's figures, and the checks ask the reference for theirs (``sample["expected"]`` is the sample's).
    scenario: str = "sample"
    practice_round: int | None = None

    def check(self, name: str, got, expected=None, **kwargs) -> None:
        """The visible check of the sample figure ``name``: ``check("read_qps", read_qps(assumptions))``.

        The expected figure comes from the session's data, never from the cell; a whole number (a code
        length, a count of shards) must be an ``int``. With ``expected`` given, this is
        :func:`course.checks.check`.
        """
        __tracebackhide__ = True
        from .assumptions import Assumptions
        from .checks import check, expect_equal

        if expected is not None:
            return check(name, got, expected, **kwargs)
        figures = self.sample.get("expected", {})
        if name not in figures:
            raise CourseInputError(f"no sample figure named {name!r} in session {self.session_id!r}; "
                                   f"the figures are {', '.join(sorted(figures)) or 'none'}")
        want = figures[name]
        if self.practice_round is not None:  # the round's figure, from the reference in its own process
            want = self._practice_figure(name, got)
            if want is None:
                return None
        hints = self.sample.get("whole_numbers", {})
        if name in hints:
            return expect_equal(name, got, int(want), hint=hints[name])
        scenario = Assumptions(**self.sample["assumptions"]) if self.sample.get("assumptions") else None
        return check(name, got, want, scenario=kwargs.pop("scenario", scenario), **kwargs)

    def _practice_figure(self, name: str, got):
        """The reference's figure ``name`` on this round's scenario, or None when no oracle can say (then
        the answer's form is checked and the self-check verifies the figure)."""
        from .practice import decode, oracle
        from .units import Quantity, fmt, q

        value = oracle().expected(self.session_id, name, self.sample["assumptions"])
        if value is not None:
            return decode(value)
        sample = q(self.sample["expected"][name]) if name not in self.sample.get("whole_numbers", {}) else None
        if sample is not None and (not isinstance(got, Quantity) or got.dimensionality != sample.dimensionality):
            from .checks import fail

            fail(f"{name}: expected a quantity in {sample.units:~}, got {got!r}",
                 "build it from the assumptions, which carry the units.")
        shown = fmt(got) if isinstance(got, Quantity) else repr(got)
        print(f"• {name} = {shown}: this round's figures are verified by the self-check "
              f"(`python -m course selfcheck`), as {oracle().unavailable}")
        return None

    def check_assumptions(self, assumptions) -> None:
        """The pinned assumptions have every field, in compatible units, each what the interviewer said
        (within 2 %). A mismatch names the field, never the value: ask the interviewer again."""
        __tracebackhide__ = True
        from .assumptions import require
        from .checks import TOLERANCE, fail
        from .units import q

        require(assumptions, self.sample.get("units", {}))
        wrong = []
        for name, text in self.sample.get("assumptions", {}).items():
            want, have = q(text), assumptions[name]
            if abs(float(have.to(want.units).magnitude) - float(want.magnitude)) > TOLERANCE * abs(float(want.magnitude)):
                wrong.append(name)
        if wrong:
            fail(f"assumptions: {', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not what the interviewer said",
                 "ask the interviewer about it again (above), and write down exactly what they say, with units.")
        print("✓ the assumptions match what the interviewer said")

    def key_points(self, question: str, answer_text: str):
        """Reveal the model key points of a deep-dive question once ``answer_text`` is written."""
        __tracebackhide__ = True
        if question not in self.deep_dive:
            raise CourseInputError(f"no deep-dive question {question!r}; this session has {sorted(self.deep_dive)}")
        return key_points(answer_text, list(self.deep_dive[question]))


def load_session(session_id: str, scenario: Mapping[str, str] | None = None) -> SessionContent:
    """Load ``course/data/<session_id>.toml`` and, when there is one, ``<session_id>.sample.json``.

    The interviewer's answers are filled (:func:`course.spoken.render`) with ``scenario``'s figures (text
    quantities such as ``{"daily_active_users": "250 M user"}``), by default the sample's assumptions.
    """
    __tracebackhide__ = True
    path = DATA / f"{session_id}.toml"
    if not path.is_file():
        raise CourseInputError(f"no content for session {session_id!r}")
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    sample_path = DATA / f"{session_id}.sample.json"
    sample = json.loads(sample_path.read_text(encoding="utf-8")) if sample_path.is_file() else {}
    practice_round = round_here(session_id) if scenario is None else None
    label = "sample"
    if practice_round is not None:  # a practice round's folder: its own figures (course.practice)
        scenario = round_scenario(session_id, practice_round, sample)  # the sample data just read
        sample = {**sample, "assumptions": scenario}
        label = f"practice round {practice_round}"
    figures = sample.get("assumptions", {}) if scenario is None else scenario
    clarifications = tuple(Clarification.from_dict(_spoken(session_id, c, figures))
                           for c in data.get("clarification", []))
    deep = {
        name: tuple(KeyPoint(point=p["point"], keywords=tuple(p["keywords"])) for p in spec["points"])
        for name, spec in data.get("key_points", {}).items()
    }
    return SessionContent(session_id, clarifications, deep, sample, label, practice_round)


def _spoken(session_id: str, table: dict, scenario: Mapping[str, str]) -> dict:
    """A ``[[clarification]]`` table with its answer filled from ``scenario``."""
    __tracebackhide__ = True
    if not isinstance(table.get("answer"), str):
        return table  # Clarification names the missing or wrong answer
    try:
        return {**table, "answer": render(table["answer"], scenario)}
    except CourseInputError as exc:
        raise CourseInputError(f"session {session_id!r}, clarification {table.get('topic')!r}: {exc}") from None
