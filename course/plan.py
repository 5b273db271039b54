"""The three-week practice plan: what is done, what is next and why (``python -m course plan``).

The calendar is the seed's practice schedule (:data:`CALENDAR`): three weeks of 7 days, a design every
two days, then a review (week 1), a mock interview with a peer (week 2) and a complete mock interview
(week 3). A design day is tied to a course session when that session is built; the others say so and
what to do instead.

Each day's status comes from the practice journal (:mod:`course.journal`, every attempt recorded on
this machine):

- a **design** day is *done* once an attempt of its session passes a clear majority of its checks
  (:data:`DONE_SHARE`); a design with no session is *not built yet*;
- a **review** or **mock** day is *done* by a practice round (``python -m course practice S``, new
  numbers) that reached the wrap-up's self-rating after every earlier day was done; each round counts
  for one such day;
- the first day left is *next*, the rest *later*.

The next step is not only the calendar's: a mistake in most of the recent attempts (the latest
included) sends the student back for a practice round of that session first, and the weakest skill
(the lowest first-try rate over the recent attempts) is named as the focus.

``python -m course plan`` prints it day by day (``--json``, ``--journal FILE``); :func:`show_plan` draws
it in the plan notebook (``work/plan.ipynb``).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import CourseInputError

__all__ = ["Day", "DayStatus", "NextStep", "Plan", "CALENDAR", "WEEKS", "DONE", "NEXT", "LATER", "NOT_BUILT",
           "DONE_SHARE", "RECENT", "WEAK_BELOW", "load_attempts", "journal_location", "built_sessions",
           "session_name", "weakest_skill", "recurring_mistake", "mistake_sentence", "build_plan", "plan_html",
           "plan_text", "show_plan", "main"]

_DATA = Path(__file__).resolve().parent / "data"

DONE, NEXT, LATER, NOT_BUILT = "done", "next", "later", "not built yet"
#: A session is done once an attempt passes at least this share of its checks (a clear majority).
DONE_SHARE = 2 / 3
_DONE_WORDS = "two thirds of them mark it done"
#: How many of the latest attempts the weakest skill and a recurring mistake are judged on.
RECENT = 4
#: Below this first-try rate a skill is named as the focus.
WEAK_BELOW = 2 / 3

DESIGN, REVIEW, PEER_MOCK, FULL_MOCK = "design", "review", "peer mock", "full mock"
WEEKS: Mapping[int, str] = {1: "Foundation", 2: "Intermediate", 3: "Advanced"}


@dataclass(frozen=True)
class Day:
    """One step of the seed's calendar: days ``first``–``last`` of ``week``."""

    week: int
    first: int
    last: int
    kind: str     # DESIGN, REVIEW, PEER_MOCK or FULL_MOCK
    title: str    # as in a sentence: "chat application", "URL shortener"
    prompt: str   # the seed's words: "Design Twitter Feed"
    session: str | None = None  # the course session for this design, once there is one

    @property
    def days(self) -> str:
        """``"Day 1-2"`` or ``"Day 7"``."""
        return f"Day {self.first}" if self.first == self.last else f"Day {self.first}-{self.last}"

    @property
    def length(self) -> int:
        return self.last - self.first + 1


#: The seed's "Practice Schedule": 21 days in 12 steps.
CALENDAR: tuple[Day, ...] = (
    Day(1, 1, 2, DESIGN, "chat application", "Design a chat application (basic, 1:1 messaging)", "session1_chat"),
    Day(1, 3, 4, DESIGN, "URL shortener", "Design a URL shortener", "session2_url_shortener"),
    Day(1, 5, 6, DESIGN, "Twitter feed", "Design Twitter's home feed"),
    Day(1, 7, 7, REVIEW, "review and self-assessment", "Review the week and rate yourself"),
    Day(2, 1, 2, DESIGN, "Instagram", "Design Instagram"),
    Day(2, 3, 4, DESIGN, "Uber", "Design Uber"),
    Day(2, 5, 6, DESIGN, "Dropbox", "Design Dropbox"),
    Day(2, 7, 7, PEER_MOCK, "mock interview with a peer", "A mock interview with a peer as the interviewer"),
    Day(3, 1, 2, DESIGN, "Netflix", "Design Netflix", "session3_netflix"),
    Day(3, 3, 4, DESIGN, "YouTube", "Design YouTube"),
    Day(3, 5, 6, DESIGN, "WhatsApp (group chats)", "Design WhatsApp, with group chats"),
    Day(3, 7, 7, FULL_MOCK, "complete mock interview", "A complete 45-minute mock interview"),
)

#: What to do on a practice day (review, peer mock, full mock), of a session.
_PRACTICE_DAY = {
    REVIEW: "a practice round of {} on your weakest skill, then rate yourself in its wrap-up",
    PEER_MOCK: "a practice round of {} with a peer reading the interviewer's answers to you; rate yourself at the end",
    FULL_MOCK: "a practice round of {}, every phase in 45 minutes on the clock, then rate yourself",
}
#: What a day whose design has no session yet says (once, under the plan).
_NOT_BUILT_NOTE = ("these sessions come later, in the same form as the others. Until then, whiteboard the seed's "
                   "prompt in 45 minutes on the clock, unscored, or do a practice round of a built session on "
                   "your weakest skill (python -m course practice <session>).")

#: A mistake kind (course.journal.MISTAKE_LABELS) as the plan says it to the student.
_MISTAKE_SENTENCES = {
    "bits_bytes": "you mixed up bits and bytes",
    "unit_prefix": "a unit prefix was off by a factor of 1,000",
    "seconds_per_day": "you used the 10^5 seconds-a-day shortcut",
    "seconds_per_month": "you used the 2.5 M seconds-a-month shortcut",
    "forgotten_peak": "you forgot the peak factor",
    "forgotten_replication": "you forgot the replication factor",
    "forgotten_factor": "you forgot one of the scenario's factors",
    "factor_misapplied": "you applied a factor where it does not belong (or twice)",
    "binary_decimal": "you mixed binary and decimal units (GiB vs GB)",
    "time_unit": "a rate was in the wrong time unit",
}


@dataclass(frozen=True)
class DayStatus:
    """A day of the calendar with its status and what that status rests on."""

    day: Day
    status: str  # DONE, NEXT, LATER or NOT_BUILT
    note: str = ""


@dataclass(frozen=True)
class NextStep:
    """What to do next and why; the shell command or the notebook (in ``work/``) that starts it."""

    action: str
    reason: str
    command: str | None = None
    notebook: str | None = None
    session: str | None = None
    then: str | None = None  # the calendar's next day, when this step comes before it

    @property
    def text(self) -> str:
        """``Redo Session 1 as a practice round (`python -m course practice session1_chat`): you forgot ...``"""
        command = f" (`{self.command}`)" if self.command else ""
        joint = "; " if self.reason.startswith("focus on") else ": "
        return f"{self.action}{command}{joint}{self.reason}"


@dataclass(frozen=True)
class Plan:
    """The calendar with a status per day, the next step, and how many attempts it rests on."""

    days: tuple[DayStatus, ...]
    next: NextStep
    attempts: int
    ignored: int = 0  # attempts of a session this course does not have

    def as_dict(self) -> dict:
        """Plain data for ``--json``."""
        step = self.next
        return {"next": {"text": step.text, "action": step.action, "reason": step.reason, "command": step.command,
                         "notebook": step.notebook, "session": step.session, "then": step.then},
                "attempts": self.attempts, "ignored": self.ignored,
                "days": [{"week": s.day.week, "days": s.day.days, "kind": s.day.kind, "title": s.day.title,
                          "session": s.day.session, "status": s.status, "note": s.note} for s in self.days]}


# --- the journal ---------------------------------------------------------------------------------------


def _journal():
    try:
        from . import journal
    except ModuleNotFoundError as exc:
        if exc.name != f"{__package__}.journal":
            raise
        raise CourseInputError("the practice journal (course/journal.py) is missing from this copy of the "
                               "course: update the course, then run this again") from None
    return journal


def load_attempts(path: Path | None = None) -> list[dict]:
    """Every practice attempt in the journal at ``path`` (default: this machine's), oldest first."""
    __tracebackhide__ = True
    return list(_journal().attempts(path))


def journal_location(path: Path | None = None) -> Path:
    """The journal file read: ``path`` or the journal's default."""
    return Path(path) if path is not None else Path(_journal().journal_path())


def built_sessions() -> tuple[str, ...]:
    """The sessions this course has (``course/data/<id>.toml``), in course order."""
    ids = [p.stem for p in _DATA.glob("session*.toml")]
    return tuple(sorted(ids, key=_session_number))


def _session_number(session: str) -> int:
    digits = "".join(ch for ch in session.split("_")[0] if ch.isdigit())
    return int(digits) if digits else 0


def session_name(session: str) -> str:
    """``"Session 2 (URL shortener)"``."""
    title = next((d.title for d in CALENDAR if d.session == session), session.split("_", 1)[-1].replace("_", " "))
    return f"Session {_session_number(session)} ({title})"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _notebook(session: str) -> str:
    return f"{session}/{session}.ipynb"


def _practice_command(session: str) -> str:
    return f"python -m course practice {session}"


# --- reading attempts ----------------------------------------------------------------------------------


def _share(attempt: Mapping) -> float:
    total = attempt.get("checks_total") or 0
    return (attempt.get("checks_passed") or 0) / total if total else 0.0


def _when(attempt: Mapping) -> datetime | None:
    """When the attempt was last updated (UTC when the time has no zone), or None."""
    text = attempt.get("updated") or attempt.get("started")
    try:
        when = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc) if when is not None and when.tzinfo is None else when


def _is_practice_round(attempt: Mapping) -> bool:
    return str(attempt.get("scenario", "sample")) != "sample"


def _first_try_record(attempts: Sequence[Mapping]) -> dict[str, tuple[int, int]]:
    """skill → (attempts that passed it on the first try, attempts that tried it)."""
    record: dict[str, tuple[int, int]] = {}
    for attempt in attempts:
        for skill, seen in (attempt.get("skills") or {}).items():
            if not isinstance(seen, Mapping) or not seen.get("tries"):
                continue
            first, tried = record.get(skill, (0, 0))
            record[skill] = (first + (seen.get("passed_on") == 1), tried + 1)
    return record


def weakest_skill(attempts: Sequence[Mapping], recent: int = RECENT) -> tuple[str, int, int] | None:
    """The skill with the lowest first-try rate over the last ``recent`` attempts: (skill, first, tried).

    ``None`` when no skill is below :data:`WEAK_BELOW`. Ties go to the skill met earlier in an interview.
    """
    from .evidence import SKILLS

    record = _first_try_record(attempts[-recent:])
    order = {skill: i for i, skill in enumerate(SKILLS)}
    weak = [(first / tried, order.get(skill, len(order)), skill) for skill, (first, tried) in record.items()
            if first / tried < WEAK_BELOW]
    if not weak:
        return None
    skill = min(weak)[2]
    return (skill, *record[skill])


def recurring_mistake(attempts: Sequence[Mapping], recent: int = RECENT) -> tuple[str, int, int, str] | None:
    """A mistake made in the latest attempt and in most of the last ``recent``: (kind, hits, of, session).

    "Most" is at least two attempts and at least half of them; the most frequent kind wins, then the one
    made most often. ``session`` is the latest attempt's, where the student would redo it.
    """
    window = list(attempts[-recent:])
    if not window:
        return None
    latest = {kind for kind, count in (window[-1].get("mistakes") or {}).items() if count}
    scored = []
    for kind in latest:
        hits = sum(1 for a in window if (a.get("mistakes") or {}).get(kind))
        total = sum((a.get("mistakes") or {}).get(kind) or 0 for a in window)
        if hits >= max(2, math.ceil(len(window) / 2)):
            scored.append((-hits, -total, kind))
    if not scored:
        return None
    hits, _, kind = min(scored)
    return kind, -hits, len(window), str(window[-1].get("session"))


def mistake_sentence(kind: str) -> str:
    """``"you forgot the peak factor"``: a mistake kind as the plan says it."""
    if kind in _MISTAKE_SENTENCES:
        return _MISTAKE_SENTENCES[kind]
    try:
        label = _journal().MISTAKE_LABELS.get(kind, kind)
    except CourseInputError:
        label = kind
    return f"the mistake “{label}” came up"


# --- statuses ------------------------------------------------------------------------------------------


def _statuses(attempts: Sequence[Mapping], built: Iterable[str]) -> list[tuple[Day, str, str]]:
    """(day, DONE / NOT_BUILT / "" for not done, note) for every day, in calendar order."""
    built = set(built)
    out: list[tuple[Day, str, str]] = []
    used: set[int] = set()
    since: datetime | None = None  # when the latest earlier day was done
    blocked = False  # an earlier day the course has is not done
    for day in CALENDAR:
        if day.kind == DESIGN and day.session not in built:
            out.append((day, NOT_BUILT, _instead(day)))
            continue
        if day.kind == DESIGN:
            status, note, when = _design_status(day, attempts)
        else:
            status, note, when = (("", "", None) if blocked
                                  else _practice_status(day, attempts, used, since))
        if status == DONE:
            since = max(since, when) if since and when else (when or since)
        else:
            blocked = True
        out.append((day, status, note))
    return out


def _design_status(day: Day, attempts: Sequence[Mapping]) -> tuple[str, str, datetime | None]:
    mine = [a for a in attempts if a.get("session") == day.session]
    for attempt in mine:
        if _share(attempt) >= DONE_SHARE:
            return DONE, (f"{attempt.get('checks_passed')} of {attempt.get('checks_total')} checks passed "
                          f"in {_scenario(attempt)}"), _when(attempt)
    if mine:
        best = max(mine, key=_share)
        return "", (f"best so far: {best.get('checks_passed') or 0} of {best.get('checks_total') or 0} checks "
                    f"passed; {_DONE_WORDS}"), None
    return "", "", None


def _practice_status(day: Day, attempts: Sequence[Mapping], used: set[int],
                     since: datetime | None) -> tuple[str, str, datetime | None]:
    """A practice day is done by a rated practice round (not yet ``used``) ended after ``since``."""
    for index, attempt in enumerate(attempts):
        when = _when(attempt)
        if (index not in used and _is_practice_round(attempt) and attempt.get("self_rating")
                and (since is None or (when is not None and when > since))):
            used.add(index)
            return DONE, f"{session_name(str(attempt.get('session')))}, {_scenario(attempt)}, rated", when
    return "", "", None


def _scenario(attempt: Mapping) -> str:
    scenario = str(attempt.get("scenario") or "sample")
    return "the sample" if scenario == "sample" else scenario


def _instead(day: Day) -> str:
    return f"instead, whiteboard “{day.prompt}” for 45 minutes, unscored"


# --- the next step -------------------------------------------------------------------------------------


def build_plan(attempts: Sequence[Mapping], built: Iterable[str] | None = None) -> Plan:
    """The plan for these journal attempts (oldest first): a status per day and the next step.

    ``built`` is the sessions this course has (default: :func:`built_sessions`); attempts of any other
    session are left out, as no day can be done by them.
    """
    __tracebackhide__ = True
    if isinstance(attempts, (str, bytes, Mapping)) or not isinstance(attempts, Iterable):
        raise CourseInputError(f"build_plan needs a list of journal attempts, got {type(attempts).__name__}")
    built = tuple(built_sessions() if built is None else built)
    every = [a for a in attempts if isinstance(a, Mapping)]
    known = [a for a in every if a.get("session") in built]
    rows = _statuses(known, built)
    target = next((day for day, status, _ in rows if status == ""), None)
    days = tuple(DayStatus(day, status or (NEXT if day is target else LATER), note) for day, status, note in rows)
    return Plan(days, _next_step(known, target, built), len(known), len(every) - len(known))


def _next_step(attempts: Sequence[Mapping], target: Day | None, built: Sequence[str]) -> NextStep:
    if not attempts:
        first = target.session if target is not None and target.session else (built[0] if built else None)
        if first is None:
            return NextStep("Nothing to practise yet", "this course has no sessions installed")
        return NextStep(f"Start with {session_name(first)}", "no practice attempts are recorded yet, and it is "
                        "the plan's first day and the gentlest interview", notebook=_notebook(first), session=first)
    mistake = recurring_mistake(attempts)
    if mistake is not None:
        kind, hits, of, session = mistake
        return NextStep(f"Redo {_short(session)} as a practice round",
                        f"{mistake_sentence(kind)} in {hits} of your last {of} attempts",
                        _practice_command(session), session=session, then=target and _day_name(target))
    weak = weakest_skill(attempts)
    focus = (f"focus on {weak[0]}: passed first time in {weak[1]} of {weak[2]} attempt{'s' * (weak[2] != 1)}"
             if weak else "")
    if target is not None and target.kind == DESIGN:
        return _design_step(target, attempts, focus)
    session = _practice_session(attempts, target, weak[0] if weak else None, built)
    if target is not None:
        why = f"{_week_day(target)}: " + _PRACTICE_DAY[target.kind].format(session_name(session))
        return NextStep(_cap(target.title), "; ".join(filter(None, [why, focus])),
                        _practice_command(session), session=session)
    why = "every day of the plan that has a session is done; the other designs are not built yet"
    return NextStep(f"Keep practising: a practice round of {session_name(session)}",
                    "; ".join(filter(None, [focus, why])), _practice_command(session), session=session)


def _design_step(target: Day, attempts: Sequence[Mapping], focus: str) -> NextStep:
    session = target.session
    tried = [a for a in attempts if a.get("session") == session]
    if tried:
        best = max(tried, key=_share)
        why = f"{best.get('checks_passed') or 0} of {best.get('checks_total') or 0} checks pass so far; {_DONE_WORDS}"
        return NextStep(f"Finish {session_name(session)}", "; ".join(filter(None, [why, focus])),
                        notebook=_notebook(session), session=session)
    why = focus or f"it is next in the plan ({_week_day(target)})"
    return NextStep(session_name(session), why, notebook=_notebook(session), session=session)


def _practice_session(attempts: Sequence[Mapping], target: Day | None, skill: str | None,
                      built: Sequence[str]) -> str:
    """The session for a practice round: the hardest for a full mock, else where ``skill`` last slipped."""
    if target is not None and target.kind == FULL_MOCK and built:
        return max(built, key=_session_number)
    if skill:
        for attempt in reversed(attempts):
            seen = (attempt.get("skills") or {}).get(skill) or {}
            if seen.get("tries") and seen.get("passed_on") != 1:
                return str(attempt["session"])
    return str(attempts[-1]["session"])


def _short(session: str) -> str:
    return f"Session {_session_number(session)}"


def _day_name(day: Day) -> str:
    """``"Session 2 (URL shortener), week 1, days 3-4"``, ``"Review and self-assessment, week 1, day 7"``."""
    what = session_name(day.session) if day.kind == DESIGN and day.session else _cap(day.title)
    return f"{what}, {_week_day(day)}"


def _week_day(day: Day) -> str:
    """``"week 1, days 3-4"``."""
    return f"week {day.week}, {'day' if day.length == 1 else 'days'} {day.days.split()[-1]}"


# --- showing it ----------------------------------------------------------------------------------------

_MARK = {DONE: "✓", NEXT: "→", LATER: "·", NOT_BUILT: "–"}
_STYLE = {DONE: "color:#15803d", NEXT: "color:#1d4ed8;font-weight:bold", LATER: "color:#6b7280",
          NOT_BUILT: "color:#92400e"}


def _what(day: Day) -> str:
    return f"{_short(day.session)} · {_cap(day.title)}" if day.session and day.kind == DESIGN else _cap(day.title)


def _sentence(text: str) -> str:
    return _cap(text) + ("" if text.endswith(".") else ".")


def _status_text(row: DayStatus) -> str:
    """``"done: 20 of 24 checks passed in the sample"``, ``"next"``, ``"not built yet: instead, ..."``."""
    return f"{row.status}: {row.note}" if row.note else row.status


def plan_text(plan: Plan, journal: str | None = None) -> str:
    """The plan as plain text, day by day, for the terminal."""
    source = f" in {journal}" if journal else ""
    head = (f"Your three-week plan, from {plan.attempts} practice attempt{'s' * (plan.attempts != 1)}{source}."
            if plan.attempts else f"Your three-week plan: no practice attempts recorded yet{source}.")
    lines = [head, "", f"Next: {_sentence(plan.next.text)}"]
    if plan.next.notebook:
        lines.append(f"      Open {plan.next.notebook} in your work/ folder (make start).")
    if plan.next.then:
        lines.append(f"      Then: {plan.next.then}.")
    for week, name in WEEKS.items():
        lines += ["", f"Week {week} · {name}"]
        for row in (s for s in plan.days if s.day.week == week):
            lines.append(f"  {_MARK[row.status]} {row.day.days:<8} {_what(row.day):<30} {_status_text(row)}")
    lines += ["", f"{_cap(NOT_BUILT)}: {_NOT_BUILT_NOTE}"]
    if plan.ignored:
        lines.append(f"({plan.ignored} attempt(s) of sessions this course does not have were left out.)")
    return "\n".join(lines)


def plan_html(plan: Plan) -> str:
    """The plan as HTML for the notebook: the next step first, then the weeks as one table."""
    e = html.escape
    step = plan.next
    start = (f"<br>Start it in a terminal: <code>{e(step.command)}</code>" if step.command else
             f"<br>Open <a href='{e(step.notebook)}'>{e(step.notebook)}</a>" if step.notebook else "")
    box = ("<div class='course-plan-step' style='border-left:4px solid #1d4ed8;padding:4px 12px;margin:4px 0 12px'>"
           f"<b>Next: {e(step.action)}</b><br>{e(_sentence(step.reason))}{start}"
           + (f"<br>Then: {e(step.then)}." if step.then else "") + "</div>")
    rows = []
    for week, name in WEEKS.items():
        rows.append(f"<tr><th colspan='3' style='text-align:left;padding-top:10px'>Week {week} · {e(name)}</th></tr>")
        for row in (s for s in plan.days if s.day.week == week):
            note = f" <small>({e(row.note)})</small>" if row.note else ""
            rows.append(f"<tr class='course-plan-{row.status.replace(' ', '-')}'>"
                        f"<td style='text-align:left;white-space:nowrap'>{e(row.day.days)}</td>"
                        f"<td style='text-align:left'>{e(_what(row.day))}</td>"
                        f"<td style='text-align:left'><span style='{_STYLE[row.status]}'>{_MARK[row.status]} "
                        f"{e(row.status)}</span>{note}</td></tr>")
    count = (f"From {plan.attempts} practice attempt{'s' * (plan.attempts != 1)} recorded on this machine."
             if plan.attempts else "No practice attempts recorded yet: the plan starts at day 1.")
    return (f"<div class='course-plan'>{box}<table>{''.join(rows)}</table>"
            f"<p><small>{e(count)} {e(_cap(NOT_BUILT))}: {e(_NOT_BUILT_NOTE)}</small></p></div>")


def show_plan(path: Path | None = None) -> None:
    """Display the plan from the journal at ``path`` (default: this machine's) in the notebook."""
    __tracebackhide__ = True
    from IPython.display import HTML, display

    display(HTML(plan_html(build_plan(load_attempts(path)))))


def main(argv: list[str] | None = None) -> int:
    """``python -m course plan [--json] [--journal FILE]``: the plan day by day, and the next step."""
    parser = argparse.ArgumentParser(prog="python -m course plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    parser.add_argument("--journal", type=Path, help="the journal file (default: this machine's)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        plan = build_plan(load_attempts(args.journal))
        where = str(journal_location(args.journal))
    except CourseInputError as exc:
        print(f"python -m course plan: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(plan.as_dict(), indent=1, ensure_ascii=False) if args.json else plan_text(plan, where))
    return 0
