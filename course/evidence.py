"""What the student did, recorded in their own kernel while they work, for the wrap-up's suggested level.

One :class:`Recorder` per session and kernel (:func:`current`; :func:`start` in the set-up cell names the
session). It notes, as the notebook runs:

- **the interviewer**: each topic found, and whether it was found *unaided*, before the topic list was
  first opened for that interviewer's topics (re-running the interviewer cell does not hide the hint
  again);
- **the checks**, by skill (:data:`SKILLS`): every run of a visible check cell is a *try*; it passes when
  it reaches ``public_checks_passed(what)`` with no failed check on the way. The skill comes from the
  cell's ``what`` (:func:`skill_of`: "traffic", "connections", "concurrent viewers" → traffic; "the
  schema" → schema; the remaining named sections are algorithms) or, outside IPython, from the checks'
  names. A run that stops at ``NotImplementedError`` (the code stub is untouched), at a ``NameError`` in
  the check cell itself (the answer cell was not run), or fails on an answer whose cell still holds
  nbgrader's ``YOUR ANSWER HERE`` text is not a try: there was no answer to check;
- **the deep dive**: the key points each question's *first* revealed answer covers (what was written
  before the model points were shown), and the best answer since;
- **the mistakes**: each kind a failed ``check`` diagnosed (:attr:`course.checks.Diagnosis.kinds`: bits vs
  bytes, a unit prefix, a forgotten peak factor...), counted;
- **the self-rating** chosen in the wrap-up widget, per dimension (it plays no part in the suggestion);
- **time per phase**: IPython's ``pre_run_cell``/``post_run_cell`` events time every cell. A cell belongs
  to a phase by what it runs (a check cell by its skill; the interviewer, the editor, the key points, the
  wrap-up and the clock cells by the ``course`` call in their source); any other cell (an answer cell,
  a what-if) belongs to the phase of the next such cell, as answers come before their checks. A cell's
  time is its own run plus the pause before it (capped at :data:`IDLE_CAP_MINUTES`: a longer pause is a
  break). When the interview clock widget is running, its reading is noted as each phase is reached.

Recording never raises into the student's cell (every hook swallows its own errors and counts them in
``Recorder.errors``), does constant work per cell (no scan of the notebook), keeps bounded state, and is
off under grading (:func:`course.runtime.is_grading`: no hooks, nothing noted). The record lives in the
kernel: a restart starts a new one (:attr:`Evidence.since` says when). Each record is one *attempt*
(``Recorder.attempt``, a fresh id); :func:`start` has the practice journal (:mod:`course.journal`) follow
it, through :func:`listen`: listeners hear of the record after every cell and after every note made
outside a cell (a widget's click).
"""

from __future__ import annotations

import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .errors import CourseInputError
from .runtime import is_grading

__all__ = [
    "SKILLS", "PHASE_OF_SKILL", "IDLE_CAP_MINUTES", "SkillEvidence", "Evidence", "Recorder",
    "skill_of", "start", "current", "gather", "install", "reset", "listen",
]

# The interview's phases, as course.timeline.PHASES names them (not imported: it loads pandas).
INTRO = "Introduction & problem"
REQUIREMENTS = "Requirements"
ESTIMATION = "Estimation"
HIGH_LEVEL = "High-level design"
DETAILED = "Detailed design"
DEEP_DIVE = "Deep dive"
WRAP_UP = "Wrap-up"
PHASE_NAMES = (INTRO, REQUIREMENTS, ESTIMATION, HIGH_LEVEL, DETAILED, DEEP_DIVE, WRAP_UP)

#: The skills the visible checks exercise, in the notebook's order.
SKILLS: tuple[str, ...] = ("requirements", "traffic", "storage", "bandwidth", "design", "schema", "API", "algorithm")
#: The phase each skill's check cell belongs to.
PHASE_OF_SKILL: Mapping[str, str] = MappingProxyType({
    "requirements": REQUIREMENTS, "traffic": ESTIMATION, "storage": ESTIMATION, "bandwidth": ESTIMATION,
    "design": HIGH_LEVEL, "schema": DETAILED, "API": DETAILED, "algorithm": DETAILED,
})
#: A pause between two cells longer than this counts as this much work: the rest is a break.
IDLE_CAP_MINUTES = 10.0

# Words that name a skill in a check section's title or a check's name (first match wins).
_SKILL_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("requirements", ("assumption", "requirement")),
    ("bandwidth", ("bandwidth", "egress", "ingress")),
    ("storage", ("storage", "key space", "keyspace", "disk")),
    ("traffic", ("traffic", "qps", "viewer", "connection", "request", "per second", "rps")),
    ("design", ("architecture", "high level design", "high-level design")),
    ("schema", ("schema",)),
    ("API", ("api", "endpoint")),
)
_SKILL_PATTERNS = tuple((skill, re.compile(r"\b(?:" + "|".join(re.escape(w) for w in words) + r")"))
                        for skill, words in _SKILL_WORDS)
# The course call that places a cell in a phase (looked for in the cell's source, first match wins).
_SOURCE_MARKERS: tuple[tuple[str, str], ...] = (
    ("rubric_widget(", WRAP_UP), ("key_points(", DEEP_DIVE), ("architecture_editor(", HIGH_LEVEL),
    ("show_architecture(", HIGH_LEVEL), ("interviewer(", REQUIREMENTS), ("explore(", ESTIMATION),
    ("timeline(", INTRO), ("load_session(", INTRO),
)
_SECTION_CALL = re.compile(r"public_checks_passed\(\s*(['\"])(.*?)\1\s*\)")
# An answer cell still holding nbgrader's stub text, and the names a cell assigns.
_STUB = "YOUR ANSWER HERE"
_ASSIGNED = re.compile(r"^([A-Za-z_]\w*)\s*=", re.MULTILINE)

# Bounds on what a long session keeps.
_MAX_RUNS = 5000
_MAX_PENDING = 200
_MAX_KEYS = 64  # check sections and mistake kinds


def skill_of(label: str | None) -> str | None:
    """The skill a check section's title names: ``skill_of("the schema") == "schema"``.

    Section titles (``public_checks_passed(what)``) with no skill word are the session's algorithms
    ("ordering", "base62", "signed URLs"); ``None`` or empty text has no skill.
    """
    words = _words(label)
    if not words:
        return None
    return _skill_in(words) or "algorithm"


def _words(text: Any) -> str:
    if not isinstance(text, str):
        return ""
    return " ".join(text.replace("_", " ").split()).casefold()


def _skill_in(words: str) -> str | None:
    for skill, pattern in _SKILL_PATTERNS:
        if pattern.search(words):
            return skill
    return None


@dataclass(frozen=True)
class SkillEvidence:
    """One skill's tries: ``tries`` counted so far, ``passed_on`` (1 = the first try passed; None = never
    passed) and ``passing_now`` (the latest try passed)."""

    skill: str
    tries: int = 0
    passed_on: int | None = None
    passing_now: bool = False

    @property
    def first_time(self) -> bool:
        return self.passed_on == 1

    def describe(self) -> str:
        """``"passed first time"``, ``"passed only after 3 tries"``, ``"not passed after 2 tries"``, ``"not run"``."""
        if self.passed_on == 1:
            return "passed first time"
        if self.passed_on is not None:
            return f"passed only after {self.passed_on} tries"
        if self.tries:
            return f"not passed after {self.tries} {'try' if self.tries == 1 else 'tries'}"
        return "not run"


@dataclass(frozen=True)
class Evidence:
    """A snapshot of what was recorded (see the module docstring for how each figure is gathered).

    ``sections`` holds each check section's tries by its label (``public_checks_passed(label)``; the
    record's ``skill`` is the section's skill), ``mistakes`` the count of each diagnosed mistake kind,
    ``self_rating`` the wrap-up's rating per dimension (1 Needs work, 2 Good, 3 Excellent; None until
    rated; no mapping before the first rating). ``attempt`` is the record's id and ``updated`` when it last changed.
    ``phase_minutes`` holds the phases with measured time (wall-clock minutes of work); ``clock_minutes``
    the interview clock's reading when each phase was first reached, for phases reached while it ran.
    Key points count the first revealed answer of each question (``key_points_best``: the best answer
    since, after seeing the model points).
    """

    session_id: str | None = None
    since: float | None = None
    topics_total: int = 0
    topics_found: int = 0
    topics_unaided: int = 0
    hint_opened: bool = False
    questions_asked: int = 0
    skills: Mapping[str, SkillEvidence] = field(default_factory=dict)
    key_points_total: int = 0
    key_points_covered: int = 0
    key_points_best: int = 0
    questions_answered: int = 0
    questions_total: int = 0
    phase_minutes: Mapping[str, float] = field(default_factory=dict)
    clock_minutes: Mapping[str, float] = field(default_factory=dict)
    cells_run: int = 0
    sections: Mapping[str, SkillEvidence] = field(default_factory=dict)
    mistakes: Mapping[str, int] = field(default_factory=dict)
    self_rating: Mapping[str, int | None] | None = None
    attempt: str | None = None
    updated: float | None = None

    @property
    def empty(self) -> bool:
        """Nothing recorded: no cell timed, no question asked, no check or key point noted."""
        return not (self.cells_run or self.questions_asked or self.questions_answered
                    or any(s.tries for s in self.skills.values()))

    def skill(self, name: str) -> SkillEvidence:
        return self.skills.get(name) or SkillEvidence(name)


# ---------------------------------------------------------------------------------------------------
# The recorder


@dataclass
class _Run:
    start: float
    source: str = ""
    cell_id: str | None = None
    end: float | None = None
    phase: str | None = None  # from the events during the run (a check, the interviewer, key points...)
    checks: list[tuple[str, bool, str]] = field(default_factory=list)  # (name, passed, kind)
    section: str | None = None  # public_checks_passed(what) reached


@dataclass
class _Skill:
    tries: int = 0
    passed_on: int | None = None
    passing_now: bool = False


@dataclass
class _Interview:
    total: int
    found: list[str] = field(default_factory=list)
    unaided: set[str] = field(default_factory=set)
    hint_opened: bool = False
    questions: int = 0


@dataclass
class _Answer:
    total: int
    first: int | None = None  # points covered by the first revealed answer
    best: int = 0


class Recorder:
    """The evidence of one session in this kernel. The ``note_*`` methods and the IPython hooks never
    raise (a failure is counted in ``errors``); :meth:`summary` gives an :class:`Evidence`."""

    def __init__(self, session_id: str | None = None, *, now: Callable[[], float] = time.time) -> None:
        self.session_id = session_id
        self.session: Any = None  # the SessionContent given to start(), when there was one
        self.attempt = uuid.uuid4().hex
        self._now = now
        self.since = self.updated = now()
        self.version = 0  # bumped by every change of the record
        self.milestones = 0  # bumped by a counted check try and a self-rating
        self.errors = 0
        self._runs: list[_Run] = []
        self._run: _Run | None = None  # the cell running now (None outside IPython)
        self._pending: list[tuple[str, bool, str]] = []  # checks outside any cell (no IPython)
        self._skills: dict[str, _Skill] = {}
        self._interviews: dict[tuple[str, ...], _Interview] = {}
        self._answers: dict[tuple[str, ...], _Answer] = {}
        self._clock: dict[str, float] = {}
        self._first_clock = _next_clock_serial()  # only clocks made for this record count
        self._stubs: set[str] = set()  # answers (variables) whose cell still holds the stub text
        self._sections: dict[str, _Skill] = {}
        self._mistakes: dict[str, int] = {}
        self._rating: dict[str, int | None] | None = None

    # -- IPython events ------------------------------------------------------------------------------

    def pre_run_cell(self, info: Any = None) -> None:
        """A cell starts: note when, its id and source (no parsing here)."""
        try:
            if is_grading():
                return
            source = getattr(info, "raw_cell", "")
            self._run = _Run(self._now(), source if isinstance(source, str) else "",
                             getattr(info, "cell_id", None))
        except Exception:  # noqa: BLE001 - recording never disturbs the student's cell
            self.errors += 1

    def post_run_cell(self, result: Any = None) -> None:
        """A cell ended: time it, place it in a phase and, for a check cell, count the try."""
        try:
            run, self._run = self._run, None
            if run is None or is_grading():
                return
            run.end = self._now()
            self._note_stubs(run.source)
            label = run.section
            if label is None and "public_checks_passed" in run.source:
                match = _SECTION_CALL.search(run.source)
                label = match.group(2) if match else None
            error = getattr(result, "error_in_exec", None) or getattr(result, "error_before_exec", None)
            if label is not None or run.checks:
                skill = skill_of(label) if label is not None else self._skill_of_checks(run.checks)
                if skill is not None:
                    passed = run.section is not None and error is None and all(ok for _, ok, _ in run.checks)
                    if passed or (_is_a_try(error, run.checks) and not self._uses_stub(run.source)):
                        self._count_try(skill, passed, label)
                    run.phase = PHASE_OF_SKILL[skill]  # a check cell belongs to its skill's phase, try or not
            if run.phase is None:
                run.phase = _source_phase(run.source)
            if run.phase is not None:
                self._note_clock(run.phase)
            run.source, run.checks = "", []  # only the timing and the phase are kept
            self._runs.append(run)
            if len(self._runs) > _MAX_RUNS:
                del self._runs[: len(self._runs) - _MAX_RUNS]
            self._touch()
        except Exception:  # noqa: BLE001
            self.errors += 1

    # -- what course's functions report ---------------------------------------------------------------

    def note_check(self, name: Any, passed: bool, kind: str = "check") -> None:
        """A check ran (``check``, ``expect_equal``, ``expect_raises``, or a failure from ``fail``)."""
        try:
            if is_grading():
                return
            text = name if isinstance(name, str) else ""
            if kind == "fail":  # a failure's message starts with the check's name: "name: expected ..."
                text = text.split(":", 1)[0]
            event = (text[:200], bool(passed), kind)
            if self._run is not None:
                if len(self._run.checks) < _MAX_PENDING:
                    self._run.checks.append(event)
                elif not passed:
                    self._run.checks[-1] = event
                return
            # No cell around it (plain Python): a failure ends the try, as it ends the cell.
            self._pending.append(event)
            if len(self._pending) > _MAX_PENDING:
                del self._pending[0]
            if not passed:
                checks, self._pending = self._pending, []
                skill = self._skill_of_checks(checks)
                if skill is not None:
                    self._count_try(skill, False)
        except Exception:  # noqa: BLE001
            self.errors += 1

    def note_section(self, what: Any) -> None:
        """``public_checks_passed(what)``: the check cell reached its end."""
        try:
            if is_grading():
                return
            label = what if isinstance(what, str) else ""
            if self._run is not None:
                self._run.section = label
                return
            checks, self._pending = self._pending, []
            skill = skill_of(label) or self._skill_of_checks(checks)
            if skill is not None:
                self._count_try(skill, all(ok for _, ok, _ in checks), label)
                self._note_clock(PHASE_OF_SKILL[skill])
        except Exception:  # noqa: BLE001
            self.errors += 1

    def note_phase(self, phase: str) -> None:
        """A course call that belongs to ``phase`` ran (the interviewer, the key points, the wrap-up...)."""
        try:
            if is_grading() or phase not in PHASE_NAMES:
                return
            if self._run is not None:
                self._run.phase = phase
            else:
                self._note_clock(phase)
        except Exception:  # noqa: BLE001
            self.errors += 1

    def note_interviewer(self, topics: Iterable[str]) -> None:
        """An interviewer widget for these topics was created."""
        try:
            if is_grading():
                return
            self._interview(topics)
            self.note_phase(REQUIREMENTS)
        except Exception:  # noqa: BLE001
            self.errors += 1

    def note_hint(self, topics: Iterable[str]) -> None:
        """The topic list was opened: topics found from now on are not unaided."""
        try:
            if is_grading():
                return
            interview = self._interview(topics)
            if not interview.hint_opened:
                interview.hint_opened = True
                self._touch()
        except Exception:  # noqa: BLE001
            self.errors += 1

    def note_asked(self, topics: Iterable[str], answered: Iterable[str]) -> None:
        """A question was asked; ``answered`` are the topics it was answered with."""
        try:
            if is_grading():
                return
            interview = self._interview(topics)
            interview.questions += 1
            self._touch()
            for topic in answered:
                if isinstance(topic, str) and topic not in interview.found:
                    interview.found.append(topic)
                    if not interview.hint_opened:
                        interview.unaided.add(topic)
        except Exception:  # noqa: BLE001
            self.errors += 1

    def note_key_points(self, points: Iterable[str], revealed: bool, covered: int) -> None:
        """A deep-dive answer was checked against its key points (``points``: their texts)."""
        try:
            if is_grading():
                return
            key = tuple(p for p in points if isinstance(p, str))
            if not key:
                return
            answer = self._answers.setdefault(key, _Answer(len(key)))
            if revealed:
                covered = max(0, min(int(covered), len(key)))
                if answer.first is None:
                    answer.first = covered
                answer.best = max(answer.best, covered)
                self._touch()
            self.note_phase(DEEP_DIVE)
        except Exception:  # noqa: BLE001
            self.errors += 1

    def note_mistake(self, kind: str) -> None:
        """A failed check diagnosed this kind of mistake (``"bits_bytes"``, ``"forgotten_peak"``...)."""
        try:
            if is_grading() or not isinstance(kind, str) or not kind:
                return
            kind = kind[:40]
            if kind in self._mistakes or len(self._mistakes) < _MAX_KEYS:
                self._mistakes[kind] = self._mistakes.get(kind, 0) + 1
                self._touch()
        except Exception:  # noqa: BLE001
            self.errors += 1

    def note_rating(self, ratings: Mapping[str, Any]) -> None:
        """The wrap-up's self-rating changed: each dimension's rating, 1–3 (None while unrated)."""
        try:
            if is_grading():
                return
            rating = {str(k)[:40]: (v if type(v) is int and 1 <= v <= 3 else None)
                      for k, v in list(ratings.items())[:8]}
            if rating != self._rating:
                self._rating = rating
                self._touch(milestone=True)
        except Exception:  # noqa: BLE001
            self.errors += 1

    # -- helpers -------------------------------------------------------------------------------------

    def _touch(self, *, milestone: bool = False) -> None:
        """The record changed (listeners compare ``version``; a ``milestone`` is worth writing at once)."""
        self.version += 1
        self.milestones += milestone
        self.updated = self._now()

    def _interview(self, topics: Iterable[str]) -> _Interview:
        key = tuple(t for t in topics if isinstance(t, str))
        if key not in self._interviews:
            self._interviews[key] = _Interview(len(key))
        return self._interviews[key]

    def _count_try(self, skill: str, passed: bool, label: str | None = None) -> None:
        records = [self._skills.setdefault(skill, _Skill())]
        if label and (label in self._sections or len(self._sections) < _MAX_KEYS):
            records.append(self._sections.setdefault(label[:200], _Skill()))
        for record in records:
            record.tries += 1
            record.passing_now = passed
            if passed and record.passed_on is None:
                record.passed_on = record.tries
        self._touch(milestone=True)

    @staticmethod
    def _skill_of_checks(checks: list[tuple[str, bool, str]]) -> str | None:
        """The skill of checks run outside a labelled section: their names' words, else an algorithm's
        exact-value checks."""
        for name, _, _ in checks:
            skill = _skill_in(_words(name))
            if skill is not None:
                return skill
        if any(kind in ("expect_equal", "expect_raises") for _, _, kind in checks):
            return "algorithm"
        return None

    def _note_stubs(self, source: str) -> None:
        """Remember which answers are still the stub (``architecture = \"\"\"# YOUR ANSWER HERE…``)."""
        if _STUB in source and _only_stub(source):
            self._stubs.update(_ASSIGNED.findall(source))
        elif self._stubs:
            self._stubs.difference_update(_ASSIGNED.findall(source))

    def _uses_stub(self, source: str) -> bool:
        """A check cell of an answer still at its stub: there was nothing to check, so it is no try."""
        return any(re.search(rf"\b{re.escape(name)}\b", source) for name in self._stubs)

    def _note_clock(self, phase: str) -> None:
        if phase in self._clock:
            return
        reading = _clock_minutes(self._first_clock)
        if reading is not None:
            self._clock[phase] = reading
            self._touch()

    # -- the snapshot --------------------------------------------------------------------------------

    def summary(self, session: Any = None) -> Evidence:
        """What was recorded, as an :class:`Evidence`. With the session (its ``clarifications`` and
        ``deep_dive``), the totals count every topic and every deep-dive question, asked or not, and its
        check sections (``sample["sections"]``) come first, in order, run or not."""
        topics_key, questions = _session_parts(session)
        interview = self._pick_interview(topics_key)
        answers = self._pick_answers(questions)
        skills = {}
        for skill in SKILLS:
            record = self._skills.get(skill, _Skill())
            skills[skill] = SkillEvidence(skill, record.tries, record.passed_on, record.passing_now)
        return Evidence(
            session_id=self.session_id if session is None else getattr(session, "session_id", self.session_id),
            since=self.since,
            topics_total=len(topics_key) if topics_key is not None else (interview.total if interview else 0),
            topics_found=len(interview.found) if interview else 0,
            topics_unaided=len(interview.unaided) if interview else 0,
            hint_opened=bool(interview and interview.hint_opened),
            questions_asked=interview.questions if interview else 0,
            skills=MappingProxyType(skills),
            key_points_total=sum(a.total for a in answers),
            key_points_covered=sum(a.first or 0 for a in answers),
            key_points_best=sum(a.best for a in answers),
            questions_answered=sum(a.first is not None for a in answers),
            questions_total=len(answers),
            phase_minutes=MappingProxyType(self._phase_minutes()),
            clock_minutes=MappingProxyType({p: self._clock[p] for p in PHASE_NAMES if p in self._clock}),
            cells_run=len(self._runs),
            sections=MappingProxyType(self._section_evidence(session)),
            mistakes=MappingProxyType(dict(self._mistakes)),
            self_rating=None if self._rating is None else MappingProxyType(dict(self._rating)),
            attempt=self.attempt,
            updated=self.updated,
        )

    def _section_evidence(self, session: Any) -> dict[str, SkillEvidence]:
        sample = getattr(session, "sample", None)
        listed = sample.get("sections") if isinstance(sample, Mapping) else None
        skills = {s["label"]: s.get("skill") for s in listed or ()
                  if isinstance(s, Mapping) and isinstance(s.get("label"), str)}
        out = {}
        for label in [*skills, *(label for label in self._sections if label not in skills)]:
            record = self._sections.get(label, _Skill())
            skill = skills.get(label) or skill_of(label) or "algorithm"
            out[label] = SkillEvidence(skill, record.tries, record.passed_on, record.passing_now)
        return out

    def _pick_interview(self, topics_key: tuple[str, ...] | None) -> _Interview | None:
        if topics_key is not None:
            if topics_key in self._interviews:
                return self._interviews[topics_key]
            # Topics asked through an interviewer of another list of the same topics count too.
            merged = _Interview(len(topics_key))
            for key, interview in self._interviews.items():
                if set(key) <= set(topics_key) and key:
                    merged.found += [t for t in interview.found if t not in merged.found]
                    merged.unaided |= interview.unaided
                    merged.hint_opened |= interview.hint_opened
                    merged.questions += interview.questions
            return merged if self._interviews else None
        if not self._interviews:
            return None
        return max(self._interviews.values(), key=lambda i: (i.questions, i.total))

    def _pick_answers(self, questions: list[tuple[str, ...]] | None) -> list[_Answer]:
        if questions is None:
            return list(self._answers.values())
        return [self._answers.get(points) or _Answer(len(points)) for points in questions]

    def _phase_minutes(self) -> dict[str, float]:
        """Minutes of work per phase: each cell's run plus the pause before it (capped), in its phase."""
        runs = [r for r in self._runs if r.end is not None]
        phases: list[str | None] = [r.phase for r in runs]
        following: str | None = None
        for i in range(len(runs) - 1, -1, -1):  # a cell with no phase of its own: the next placed cell's
            if phases[i] is None:
                phases[i] = following
            else:
                following = phases[i]
        preceding: str | None = None
        for i, phase in enumerate(phases):  # after the last placed cell: the previous one's
            if phase is None:
                phases[i] = preceding
            else:
                preceding = phase
        minutes: dict[str, float] = {}
        cap = IDLE_CAP_MINUTES * 60
        previous_end: float | None = None
        for run, phase in zip(runs, phases):
            seconds = max(0.0, run.end - run.start)
            if previous_end is not None:
                seconds += min(cap, max(0.0, run.start - previous_end))
            previous_end = run.end
            if phase is not None:
                minutes[phase] = minutes.get(phase, 0.0) + seconds / 60
        return {p: minutes[p] for p in PHASE_NAMES if p in minutes}


def _is_a_try(error: BaseException | None, checks: list[tuple[str, bool, str]]) -> bool:
    """Whether a failed check cell counts as a try: not when there was no answer to check yet."""
    if error is None:
        return any(not ok for _, ok, _ in checks)  # a failure the cell caught itself
    if isinstance(error, (NotImplementedError, KeyboardInterrupt, SyntaxError)):
        return False
    if isinstance(error, NameError):  # an answer not run: the name is missing in the check cell itself
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        return tb is not None and tb.tb_frame.f_code.co_name != "<module>"
    return True


# The lines of a text answer's stub cell besides the stub text: `name = """`, `"""` (or ''').
_FRAME = re.compile(r"(?:[A-Za-z_]\w*\s*=\s*[rRuU]?)?(?:\"\"\"|''')?")


def _only_stub(source: str) -> bool:
    """The cell holds nothing but the stub: the opening line, the ``YOUR ANSWER HERE`` line(s), the closing quotes."""
    for line in source.splitlines():
        line = line.strip()
        if line and _STUB not in line and not _FRAME.fullmatch(line):
            return False
    return True


def _source_phase(source: str) -> str | None:
    for marker, phase in _SOURCE_MARKERS:
        if marker in source:
            return phase
    return None


def _next_clock_serial() -> int:
    try:
        from . import timeline

        return timeline.next_serial()
    except Exception:  # noqa: BLE001 - no clock module: no clock to read
        return 0


def _clock_minutes(first_serial: int = 0) -> float | None:
    """The reading, in minutes, of the interview clock made since the record began (the furthest, if
    several), or None."""
    timeline = sys.modules.get("course.timeline")
    if timeline is None:
        return None
    readings = [w.play.value for w in list(timeline.LIVE) if getattr(w, "serial", 0) >= first_serial]
    seconds = max((int(r) for r in readings if isinstance(r, int) and r > 0), default=0)
    return seconds / 60 if seconds else None


def _session_parts(session: Any) -> tuple[tuple[str, ...] | None, list[tuple[str, ...]] | None]:
    """The session's topics and each deep-dive question's key points (their texts), or None."""
    if session is None:
        return None, None
    clarifications = getattr(session, "clarifications", None)
    deep_dive = getattr(session, "deep_dive", None)
    if clarifications is None or not isinstance(deep_dive, Mapping):
        raise CourseInputError(f"expected the session (SESSION = load_session(...)), got {type(session).__name__}")
    topics = tuple(c.topic for c in clarifications)
    questions = [tuple(p.point for p in points) for points in deep_dive.values()]
    return topics, questions


# ---------------------------------------------------------------------------------------------------
# One recorder per session, per kernel

_recorders: dict[str | None, Recorder] = {}
_active: str | None = None
_hooked: list[Any] = []  # shells whose events call this module
_listeners: list[Callable[[Recorder, bool], None]] = []  # told of the record after changes (the journal)


def current() -> Recorder:
    """This kernel's recorder for the session being worked on (created on first use)."""
    if _active not in _recorders:
        _recorders[_active] = Recorder(_active)
        install()
    return _recorders[_active]


def start(session: Any = None, *, now: Callable[[], float] | None = None) -> None:
    """Start (or resume) recording for ``session`` in this kernel: call it in the set-up cell.

    ``session`` is the notebook's ``SESSION`` (``load_session(...)``) or its id. ``now`` (for tests) is the
    clock to time cells with; giving it starts the session's record afresh. Nothing happens under
    grading. Returns None, so the set-up cell shows nothing.
    """
    __tracebackhide__ = True
    global _active
    if session is None or isinstance(session, str):
        session_id = session
    else:
        _session_parts(session)  # a clear error for anything that is not a session
        session_id = getattr(session, "session_id", None)
    if is_grading():
        return
    _active = session_id
    if now is not None:
        _recorders[session_id] = Recorder(session_id, now=now)
    recorder = current()
    if not isinstance(session, (str, type(None))):
        recorder.session = session
    install()
    recorder.note_phase(INTRO)
    _follow_journal()


def _follow_journal() -> None:
    try:
        from . import journal

        journal.follow()
    except Exception:  # noqa: BLE001 - no journal is better than a broken set-up cell
        pass


def listen(callback: Callable[[Recorder, bool], None]) -> None:
    """Call ``callback(recorder, after_cell)`` after every cell (``after_cell`` True: what it prints shows
    under the cell) and after every note made outside a cell (a widget's click, plain Python). Registered
    once; :func:`reset` forgets it. It must be quick; its errors are counted in ``Recorder.errors``."""
    if callback not in _listeners:
        _listeners.append(callback)


def gather(session: Any = None) -> Evidence:
    """The current session's :class:`Evidence` (counting every topic and question of ``session``)."""
    __tracebackhide__ = True
    return current().summary(session)


def install(shell: Any = None) -> bool:
    """Have the shell (default: the running IPython) time every cell for the current recorder.

    Registered once per shell; never under grading, never outside IPython. True when hooked.
    """
    if is_grading():
        return False
    try:
        if shell is None:
            from IPython import get_ipython

            shell = get_ipython()
        if shell is None or not hasattr(shell, "events"):
            return False
        if any(s is shell for s in _hooked):
            return True
        shell.events.register("pre_run_cell", _pre_run_cell)
        shell.events.register("post_run_cell", _post_run_cell)
        _hooked.append(shell)
        return True
    except Exception:  # noqa: BLE001 - no timing is better than a broken notebook
        return False


def reset() -> None:
    """Forget every recorder and unhook every shell (for tests, or a fresh start in the same kernel)."""
    global _active
    for shell in _hooked:
        for event, callback in (("pre_run_cell", _pre_run_cell), ("post_run_cell", _post_run_cell)):
            try:
                shell.events.unregister(event, callback)
            except Exception:  # noqa: BLE001
                pass
    _hooked.clear()
    _recorders.clear()
    _listeners.clear()
    _active = None


def _pre_run_cell(info: Any = None) -> None:
    if _active in _recorders:
        _recorders[_active].pre_run_cell(info)


def _post_run_cell(result: Any = None) -> None:
    if _active in _recorders:
        recorder = _recorders[_active]
        recorder.post_run_cell(result)
        _notify(recorder, True)


def _notify(recorder: Recorder, after_cell: bool) -> None:
    for listener in _listeners:
        try:
            listener(recorder, after_cell)
        except Exception:  # noqa: BLE001
            recorder.errors += 1


# What course's modules call: never raises, does nothing under grading.

def _note(method: str, *args: Any) -> None:
    try:
        if is_grading():
            return
        recorder = current()
        getattr(recorder, method)(*args)
        if recorder._run is None:  # outside any cell (a widget's click, plain Python): no post_run_cell follows
            _notify(recorder, False)
    except Exception:  # noqa: BLE001
        pass


def note_check(name: Any, passed: bool, kind: str = "check") -> None:
    _note("note_check", name, passed, kind)


def note_section(what: Any) -> None:
    _note("note_section", what)


def note_phase(phase: str) -> None:
    _note("note_phase", phase)


def note_interviewer(topics: Iterable[str]) -> None:
    _note("note_interviewer", topics)


def note_hint(topics: Iterable[str]) -> None:
    _note("note_hint", topics)


def note_asked(topics: Iterable[str], answered: Iterable[str]) -> None:
    _note("note_asked", topics, answered)


def note_key_points(points: Iterable[str], revealed: bool, covered: int) -> None:
    _note("note_key_points", points, revealed, covered)


def note_mistake(kind: str) -> None:
    _note("note_mistake", kind)


def note_rating(ratings: Mapping[str, Any]) -> None:
    _note("note_rating", ratings)
