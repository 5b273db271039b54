"""The wrap-up rubric: four dimensions weighted 25 % each, three levels, a score and a hiring level; the
student's self-rating beside a level suggested from what they actually did in the notebook.

Scoring (the course's rule, stated once, for the self-rating and the suggestion alike): a dimension earns
0 points for *Needs work*, 50 for *Good* and 100 for *Excellent*; the score is the weighted mean, 0–100.

=========  ===========================================================
level      needs
=========  ===========================================================
**L5-L6**  a score of 75 or more and no dimension at *Needs work*
**L4**     a score of 50 or more and at most one dimension at *Needs work*
**L3**     anything else
=========  ===========================================================

So all *Good* is L4; one weak dimension keeps even three *Excellent* ones at L4 (the seed's L5-L6 profile
expects strength everywhere), and two *Needs work* are L3 whatever the other two: poor architecture and
surface knowledge are not an L4 interview.

The suggestion (:func:`suggest`) rates each dimension from the evidence the notebook recorded
(:mod:`course.evidence`), never from the self-rating, so rating yourself higher cannot raise it:

- a skill's checks earn a *credit* by the try on which they first passed: 1 the first time, 0.5 on the
  second or third, 0.25 later, 0 never;
- **Communication**: the share of the interviewer's topics found unaided (before opening the topic list);
- **Problem Solving**: the mean credit of the requirements (assumptions), traffic, storage and bandwidth
  checks;
- **Technical Design**: the mean credit of the architecture, schema and API checks;
- **Depth of Knowledge**: the mean of the share of deep-dive key points the first answers covered (what
  was written before the model points were shown) and the algorithm checks' credit;
- a measure of 0.75 or more is *Excellent*, 0.40 or more *Good*, less *Needs work*;
- caps: a dimension with a skill whose checks never passed (or were never run) is at most *Good*; so is
  Depth of Knowledge with no deep-dive answer checked, and Problem Solving when a timed phase took more
  than twice its planned minutes (and at least 3 minutes more).

Skills never run count 0, and every topic and deep-dive question of the session counts when the wrap-up
is given the session (``rubric_widget(SESSION)``), so skipping a section never helps.
"""

from __future__ import annotations

import html
import io
import math
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import ipywidgets as widgets
from IPython.display import HTML
from matplotlib.figure import Figure

from . import evidence as _evidence
from .errors import CourseInputError
from .evidence import SKILLS, Evidence, SkillEvidence
from .runtime import is_grading
from .timeline import PHASES

__all__ = [
    "Dimension", "DIMENSIONS", "LEVELS", "POINTS", "L5_L6_FROM", "L4_FROM", "L4_MAX_NEEDS_WORK",
    "RubricResult", "score", "level_of", "radar_chart", "figure_png", "rubric_table_html", "rubric_widget",
    "RubricWidget", "Suggestion", "suggest", "credit", "rating_of", "level_rule", "suggestion_rules",
    "DIMENSION_SKILLS", "EXCELLENT_FROM", "GOOD_FROM", "OVERRUN_FACTOR", "OVERRUN_MIN_EXCESS",
]

#: The three levels, rated 1, 2 and 3.
LEVELS: tuple[str, str, str] = ("Needs work", "Good", "Excellent")
#: Points a dimension earns at each rating.
POINTS: dict[int, float] = {1: 0.0, 2: 50.0, 3: 100.0}
#: Lowest score for L5-L6 (and no dimension at Needs work), and for L4 (and at most one at Needs work).
L5_L6_FROM = 75.0
L4_FROM = 50.0
#: The most dimensions at Needs work an L4 may have.
L4_MAX_NEEDS_WORK = 1


@dataclass(frozen=True)
class Dimension:
    """One rubric dimension: its weight (a fraction of the score) and a descriptor per level, in ``LEVELS`` order."""

    name: str
    weight: float
    descriptors: tuple[str, str, str]


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("Communication", 0.25, (
        "Unclear communication. Few clarifying questions. Hard to follow.",
        "Generally clear. Some good questions. Mostly explains reasoning.",
        "Clear, structured communication. Asks clarifying questions. Explains thought process well.",
    )),
    Dimension("Problem Solving", 0.25, (
        "Disorganized approach. Misses requirements. No trade-off analysis.",
        "Reasonable approach. Covers most requirements. Some trade-offs discussed.",
        "Systematic approach. Handles requirements well. Good trade-off analysis.",
    )),
    Dimension("Technical Design", 0.25, (
        "Poor architecture. Wrong technology choices. No scalability planning.",
        "Decent architecture. Mostly appropriate choices. Some scalability considerations.",
        "Well-architected system. Appropriate technology choices. Scalable design.",
    )),
    Dimension("Depth of Knowledge", 0.25, (
        "Surface-level knowledge. Struggles with follow-ups. Little implementation detail.",
        "Good understanding. Handles most follow-ups. Some implementation knowledge.",
        "Deep understanding. Handles follow-ups well. Knows implementation details.",
    )),
)

_BY_KEY = {d.name.casefold(): d for d in DIMENSIONS}
_LEVEL_BY_KEY = {name.casefold(): i for i, name in enumerate(LEVELS, start=1)}


@dataclass(frozen=True)
class RubricResult:
    """A scored self-evaluation: ``ratings`` (1–3) and ``points`` (0–100) per dimension, ``score`` and ``level``."""

    ratings: Mapping[str, int]
    points: Mapping[str, float]
    score: float
    level: str

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{LEVELS[r - 1]}</td><td>{self.points[name]:g}</td></tr>"
            for name, r in self.ratings.items()
        )
        return (f"<p><b>{self.score:g} / 100 → {self.level}</b></p>"
                f"<table><tr><th>dimension</th><th>level</th><th>points</th></tr>{rows}</table>")


def _rating(dimension: str, value: Any) -> int:
    """A rating as 1, 2 or 3, from the number or the level's name."""
    __tracebackhide__ = True
    allowed = f"1, 2, 3 or one of {', '.join(repr(n) for n in LEVELS)}"
    if isinstance(value, Integral) and not isinstance(value, bool):
        if int(value) in POINTS:
            return int(value)
        raise CourseInputError(f"{dimension}: rating {value!r} is out of range; use {allowed}")
    if isinstance(value, str):
        text = " ".join(value.split()).casefold()
        if text in {"1", "2", "3"}:
            return int(text)
        if text in _LEVEL_BY_KEY:
            return _LEVEL_BY_KEY[text]
    raise CourseInputError(f"{dimension}: cannot read rating {value!r}; use {allowed}")


def level_of(total: float, ratings: Mapping[str, int]) -> str:
    """The level of a score and its ratings (see the module docstring): a weak dimension caps it."""
    needs_work = sum(1 for r in ratings.values() if r == 1)
    if total >= L5_L6_FROM and needs_work == 0:
        return "L5-L6"
    if total >= L4_FROM and needs_work <= L4_MAX_NEEDS_WORK:
        return "L4"
    return "L3"



def level_rule() -> str:
    """The level mapping in one sentence, as the widget and the static table state it."""
    return (f"Points per dimension: {', '.join(f'{n} {POINTS[i]:g}' for i, n in enumerate(LEVELS, 1))}; "
            f"the score is their weighted mean. L5-L6 from {L5_L6_FROM:g} with no dimension at Needs work; "
            f"L4 from {L4_FROM:g} with at most one dimension at Needs work; L3 otherwise "
            "(so two Needs work are L3 whatever the other two).")


def score(ratings: Mapping[str, int | str]) -> RubricResult:
    """Score a self-evaluation: ``score({"Communication": 3, "Problem Solving": "Good", ...})``.

    Every dimension needs a rating: 1–3 or the level's name (case is ignored, in names too).
    """
    __tracebackhide__ = True
    if not isinstance(ratings, Mapping):
        raise CourseInputError(f"ratings must be a dict of dimension → rating, got {type(ratings).__name__}")
    known = ", ".join(d.name for d in DIMENSIONS)
    given: dict[str, int] = {}
    for key, value in ratings.items():
        dimension = _BY_KEY.get(key.strip().casefold()) if isinstance(key, str) else None
        if dimension is None:
            raise CourseInputError(f"unknown rubric dimension {key!r}; the dimensions are: {known}")
        if dimension.name in given:
            raise CourseInputError(f"dimension {dimension.name!r} is rated twice")
        given[dimension.name] = _rating(dimension.name, value)
    missing = [d.name for d in DIMENSIONS if d.name not in given]
    if missing:
        raise CourseInputError(f"missing rating for {', '.join(missing)}; rate all of: {known}")
    ordered = {d.name: given[d.name] for d in DIMENSIONS}
    points = {name: POINTS[r] for name, r in ordered.items()}
    total = round(sum(d.weight * points[d.name] for d in DIMENSIONS), 6)
    return RubricResult(ordered, points, total, level_of(total, ordered))


def radar_chart(result: RubricResult, *, compare: RubricResult | None = None) -> Figure:
    """A polar (radar) chart of the points per dimension, titled with the score and level.

    ``compare`` (the evidence's suggestion) is drawn as a dashed outline over it, with a legend.
    """
    __tracebackhide__ = True
    if not isinstance(result, RubricResult):
        raise CourseInputError(f"radar_chart needs the result of score(...), got {type(result).__name__}")
    if compare is not None and not isinstance(compare, RubricResult):
        raise CourseInputError(f"radar_chart compares with the result of score(...), got {type(compare).__name__}")
    names = list(result.points)
    angles = [2 * math.pi * i / len(names) for i in range(len(names))]
    values = [result.points[n] for n in names]
    fig = Figure(figsize=(4.8, 4.4))
    ax = fig.add_subplot(projection="polar")
    ax.plot(angles + angles[:1], values + values[:1], color="tab:blue", linewidth=2, label="you")
    ax.fill(angles + angles[:1], values + values[:1], color="tab:blue", alpha=0.25)
    if compare is not None:
        other = [compare.points[n] for n in names]
        ax.plot(angles + angles[:1], other + other[:1], color="tab:orange", linewidth=2, linestyle="--",
                label=f"evidence ({compare.level})")
        ax.legend(loc="lower right", bbox_to_anchor=(1.15, -0.12), fontsize=7, frameon=False)
    ax.set_theta_offset(math.pi / 2)  # first dimension on top, then clockwise
    ax.set_theta_direction(-1)
    ax.set_xticks(angles, [textwrap.fill(n, 10, break_long_words=False) for n in names])
    ax.tick_params(axis="x", pad=10)
    ax.set_ylim(0, 100)
    ax.set_yticks(sorted(POINTS.values()), LEVELS, fontsize=7, color="grey")
    ax.set_title(f"{result.score:g} / 100 · {result.level}", pad=18)
    fig.tight_layout()
    return fig


def figure_png(fig: Figure, *, dpi: int = 96) -> bytes:
    """A figure rendered to PNG bytes, for an ``ipywidgets.Image`` (no pyplot state, no SVG)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def rubric_table_html() -> str:
    """The rubric as an HTML table: one row per dimension, one column per level, and the scoring rule."""
    head = "".join(f"<th>{level}</th>" for level in LEVELS)
    rows = "".join(
        f"<tr><td><b>{html.escape(d.name)}</b> ({d.weight:.0%})</td>"
        + "".join(f"<td>{html.escape(text)}</td>" for text in d.descriptors) + "</tr>"
        for d in DIMENSIONS
    )
    return f"<table><tr><th>dimension</th>{head}</tr>{rows}</table><p>{html.escape(level_rule())}</p>"


# ---------------------------------------------------------------------------------------------------
# The level the evidence suggests

#: The skills whose checks measure each dimension (Communication is measured by the interviewer).
DIMENSION_SKILLS: Mapping[str, tuple[str, ...]] = {
    "Problem Solving": ("requirements", "traffic", "storage", "bandwidth"),
    "Technical Design": ("design", "schema", "API"),
    "Depth of Knowledge": ("algorithm",),
}
#: A dimension's measure (0–1) from which the evidence rates it Excellent, and Good.
EXCELLENT_FROM = 0.75
GOOD_FROM = 0.40
#: A phase overran when it took more than this many times its planned minutes …
OVERRUN_FACTOR = 2.0
#: … and at least this many minutes more.
OVERRUN_MIN_EXCESS = 3.0

_SKILL_NAMES = {"design": "architecture"}


def credit(skill: SkillEvidence) -> float:
    """What a skill's record is worth: 1 passed first time, 0.5 on the 2nd or 3rd try, 0.25 later, 0 never."""
    __tracebackhide__ = True
    if not isinstance(skill, SkillEvidence):
        raise CourseInputError(f"credit needs a SkillEvidence, got {type(skill).__name__}")
    if skill.passed_on is None:
        return 0.0
    if skill.passed_on == 1:
        return 1.0
    return 0.5 if skill.passed_on <= 3 else 0.25


def rating_of(measure: float) -> int:
    """A dimension's rating (1–3) from its measure (0–1): Excellent from 0.75, Good from 0.40."""
    __tracebackhide__ = True
    if (isinstance(measure, bool) or not isinstance(measure, (int, float)) or not math.isfinite(measure)
            or not 0 <= measure <= 1):
        raise CourseInputError(f"a measure is a number from 0 to 1, got {measure!r}")
    if measure >= EXCELLENT_FROM:
        return 3
    return 2 if measure >= GOOD_FROM else 1


def suggestion_rules() -> list[str]:
    """How the suggestion is made, one line per rule (the widget shows them)."""
    return [
        "Checks: each skill earns 1 when its checks passed the first time, 0.5 on the 2nd or 3rd try, "
        "0.25 later, 0 if never.",
        "Communication: the share of the interviewer's topics you found before opening the topic list.",
        "Problem Solving: the mean of the requirements, traffic, storage and bandwidth checks.",
        "Technical Design: the mean of the architecture, schema and API checks.",
        "Depth of Knowledge: the mean of the share of key points your first deep-dive answers covered (before "
        "you saw the model points) and the algorithm checks.",
        f"{EXCELLENT_FROM:.2f} or more is Excellent, {GOOD_FROM:.2f} or more Good, less Needs work.",
        "Caps: checks that never passed (or never ran) keep their dimension at Good at most; so does no "
        "deep-dive answer, for Depth of Knowledge, and a phase that took more than "
        f"{OVERRUN_FACTOR:g}× its planned minutes, for Problem Solving.",
        "Your self-rating plays no part in the suggestion. " + level_rule(),
    ]


@dataclass(frozen=True)
class Suggestion:
    """The level the evidence suggests: ``result`` (scored like a self-rating), each dimension's
    ``measure`` (0–1, before caps), ``caps`` (dimension → why it is held at Good), ``reasons`` per
    dimension, and ``summary``, the reasons in one line."""

    evidence: Evidence
    result: RubricResult
    measures: Mapping[str, float]
    caps: Mapping[str, str]
    reasons: Mapping[str, tuple[str, ...]]
    summary: str


def _skill_phrases(evidence: Evidence, skills: tuple[str, ...]) -> list[str]:
    """``["traffic and bandwidth checks passed first time", "storage checks passed only after 3 tries"]``."""
    groups: dict[str, list[str]] = {}
    for name in skills:
        groups.setdefault(evidence.skill(name).describe(), []).append(_SKILL_NAMES.get(name, name))
    phrases = []
    for outcome, names in groups.items():
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        phrases.append(f"{who} checks {outcome}")
    return phrases


def _overruns(evidence: Evidence) -> list[str]:
    """``"requirements took 12 min of 5"`` for each timed phase that overran."""
    out = []
    for phase in PHASES:
        took = evidence.phase_minutes.get(phase.name)
        if took is None:
            continue
        if took > OVERRUN_FACTOR * phase.minutes and took - phase.minutes >= OVERRUN_MIN_EXCESS:
            out.append(f"{phase.name.lower()} took {took:.0f} min of {phase.minutes}")
    return out


def suggest(evidence: Evidence) -> Suggestion:
    """The level the evidence suggests, with its reasons (see the module docstring for the mapping)."""
    __tracebackhide__ = True
    if not isinstance(evidence, Evidence):
        raise CourseInputError(f"suggest needs the notebook's evidence (course.evidence.gather()), "
                               f"got {type(evidence).__name__}")
    measures: dict[str, float] = {}
    caps: dict[str, str] = {}
    reasons: dict[str, list[str]] = {d.name: [] for d in DIMENSIONS}

    # Communication: topics found unaided.
    total, unaided, found = evidence.topics_total, evidence.topics_unaided, evidence.topics_found
    measures["Communication"] = unaided / total if total else 0.0
    if total:
        line = f"you found {unaided} of {total} topics yourself"
        if found > unaided:
            line += f" ({found - unaided} more after opening the topic list)"
        reasons["Communication"].append(line)
    else:
        reasons["Communication"].append("no clarifying question recorded")

    # The checks.
    for name, skills in DIMENSION_SKILLS.items():
        records = [evidence.skill(s) for s in skills]
        measures[name] = sum(credit(r) for r in records) / len(records)
        never = [_SKILL_NAMES.get(r.skill, r.skill) for r in records if r.passed_on is None]
        if never:
            caps[name] = f"{', '.join(never)} checks not passed"
        reasons[name] += _skill_phrases(evidence, skills)

    # Depth: the key points as well.
    algorithm = evidence.skill("algorithm")
    if evidence.key_points_total:
        share = evidence.key_points_covered / evidence.key_points_total
        line = f"deep dive covered {evidence.key_points_covered} of {evidence.key_points_total} key points"
        if evidence.key_points_best > evidence.key_points_covered:
            line += f" ({evidence.key_points_best} after seeing the model points)"
        if evidence.questions_answered < evidence.questions_total:
            line += f"; {evidence.questions_answered} of {evidence.questions_total} questions answered"
        reasons["Depth of Knowledge"].insert(0, line)
        measures["Depth of Knowledge"] = (share + credit(algorithm)) / 2
    else:
        line = "no deep-dive answer checked against its key points"
        reasons["Depth of Knowledge"].insert(0, line)
        caps["Depth of Knowledge"] = "; ".join(filter(None, [caps.get("Depth of Knowledge"), line]))

    # Time per phase.
    overruns = _overruns(evidence)
    if overruns:
        caps["Problem Solving"] = "; ".join(filter(None, [caps.get("Problem Solving"), "; ".join(overruns)]))
        reasons["Problem Solving"] += overruns
    elif evidence.phase_minutes:
        reasons["Problem Solving"].append(f"no timed phase took more than {OVERRUN_FACTOR:g}× its planned minutes")
    else:
        reasons["Problem Solving"].append("time per phase not measured in this kernel")

    ratings = {}
    for d in DIMENSIONS:
        rating = rating_of(measures[d.name])
        ratings[d.name] = min(rating, 2) if d.name in caps else rating
    result = score(ratings)

    summary_parts = [reasons["Communication"][0]]
    summary_parts.append(", ".join(_skill_phrases(evidence, tuple(SKILLS))))
    summary_parts.append(reasons["Depth of Knowledge"][0])
    summary_parts += overruns or ([] if evidence.phase_minutes else ["time per phase not measured"])
    return Suggestion(evidence, result, measures, caps, {k: tuple(v) for k, v in reasons.items()},
                      "; ".join(summary_parts))


# ---------------------------------------------------------------------------------------------------
# The widget


def _phase_table(evidence: Evidence) -> str:
    if not evidence.phase_minutes and not evidence.clock_minutes:
        return ""
    rows = []
    for phase in PHASES:
        took = evidence.phase_minutes.get(phase.name)
        clock = evidence.clock_minutes.get(phase.name)
        if took is None and clock is None:
            continue
        rows.append(f"<tr><td>{html.escape(phase.name)}</td><td>{phase.minutes}</td>"
                    f"<td>{'' if took is None else f'{took:.0f}'}</td>"
                    f"<td>{'' if clock is None else f'{clock:.0f} (plan {phase.start})'}</td></tr>")
    return ("<table class='course-rubric-phases'><tr><th>phase</th><th>planned (min)</th><th>took (min)</th>"
            f"<th>clock when reached</th></tr>{''.join(rows)}</table>")


class RubricWidget(widgets.VBox):
    """The wrap-up: the self-rating, and beside it the level the evidence suggests.

    ``toggles`` and ``descriptors`` per dimension, ``summary`` (HTML: the self-rating's score and level),
    ``chart`` (PNG image, with the suggestion's outline), ``evidence_view`` (HTML: the suggested level,
    each dimension's evidence rating and reasons, where the two disagree, the time per phase),
    ``refresh`` (re-reads the evidence), ``rules`` (HTML: the level mapping). ``result`` is the scored
    self-rating (None until every dimension is rated) and ``suggestion`` the :class:`Suggestion`
    (None when nothing was recorded).
    """

    def __init__(self, evidence: Evidence | None = None, *, session: Any = None) -> None:
        __tracebackhide__ = True
        if evidence is not None and not isinstance(evidence, Evidence):
            raise CourseInputError(f"evidence must come from course.evidence.gather(), got {type(evidence).__name__}")
        self._session = session
        self._fixed = evidence is not None
        self.evidence: Evidence = evidence if evidence is not None else _evidence.gather(session)
        self.suggestion: Suggestion | None = None
        self.result: RubricResult | None = None
        self.toggles = {
            d.name: widgets.ToggleButtons(options=[(n, i) for i, n in enumerate(LEVELS, 1)], value=None,
                                          tooltips=list(d.descriptors), style={"button_width": "7.5em"})
            for d in DIMENSIONS
        }
        self.descriptors = {d.name: widgets.HTML() for d in DIMENSIONS}
        self.summary = widgets.HTML()
        self.chart = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        self.evidence_view = widgets.HTML()
        self.refresh = widgets.Button(description="update from my work", icon="refresh",
                                      tooltip="Read the evidence again (checks, interviewer, key points, time)",
                                      layout=widgets.Layout(display="none" if self._fixed else None))
        self.refresh.on_click(lambda _: self.update_evidence())
        self.rules = widgets.HTML(
            "<details><summary>How the suggested level is made</summary><ul>"
            + "".join(f"<li>{html.escape(rule)}</li>" for rule in suggestion_rules()) + "</ul></details>")
        rows = [
            widgets.VBox([widgets.HTML(f"<b>{html.escape(d.name)}</b> ({d.weight:.0%})"),
                          self.toggles[d.name], self.descriptors[d.name]])
            for d in DIMENSIONS
        ]
        for toggle in self.toggles.values():  # rating is the last step: read the work done up to now
            toggle.observe(lambda change: self._rated(), "value")
        super().__init__([
            widgets.HBox([widgets.VBox(rows), widgets.VBox([self.summary, self.chart])]),
            self.evidence_view, self.refresh, self.rules,
        ])
        self.add_class("course-rubric")  # a stable hook for styling and the browser tests
        self._suggest()
        self._update()

    def update_evidence(self) -> None:
        """Gather the evidence again (after more work in the notebook) and redraw."""
        if not self._fixed:
            self.evidence = _evidence.gather(self._session)
        self._suggest()
        self._update()

    def _rated(self) -> None:
        """A rating changed: note it for the practice journal (this kernel's own work only), then redraw."""
        if not self._fixed:
            _evidence.note_rating({name: toggle.value for name, toggle in self.toggles.items()})
        self.update_evidence()

    def _suggest(self) -> None:
        self.suggestion = None if self.evidence.empty else suggest(self.evidence)

    def _update(self, change: dict | None = None) -> None:
        for d in DIMENSIONS:
            rating = self.toggles[d.name].value
            self.descriptors[d.name].value = (
                f"<i>{html.escape(d.descriptors[rating - 1])}</i>" if rating else "<i>not rated yet</i>")
        rated = {name: t.value for name, t in self.toggles.items() if t.value is not None}
        self.evidence_view.value = self._evidence_html(rated)
        if len(rated) < len(DIMENSIONS):
            self.result = None
            self.summary.value = f"Rate each dimension ({len(rated)} of {len(DIMENSIONS)} rated)."
            self.chart.layout.display = "none"
            return
        self.result = score(rated)
        self.summary.value = f"<h3>{self.result.score:g} / 100 → {self.result.level}</h3><p>your self-rating</p>"
        compare = self.suggestion.result if self.suggestion else None
        self.chart.value = figure_png(radar_chart(self.result, compare=compare))
        self.chart.layout.display = None

    def _evidence_html(self, rated: Mapping[str, int]) -> str:
        if self.suggestion is None:
            return ("<p><b>Evidence:</b> nothing recorded in this kernel yet. Work through the notebook (ask the "
                    "interviewer, run the checks, answer the deep dive), then press <i>update from my work</i>.</p>")
        s = self.suggestion
        rows = []
        for d in DIMENSIONS:
            mine = rated.get(d.name)
            theirs = s.result.ratings[d.name]
            why = list(s.reasons[d.name])
            if d.name in s.caps and s.measures[d.name] >= EXCELLENT_FROM:  # the cap changed the rating
                said = " ".join(why)
                unsaid = [part for part in s.caps[d.name].split("; ") if part not in said]
                why.append("held at Good" + (f": {'; '.join(unsaid)}" if unsaid else ""))
            flag = ""
            if mine is not None and mine > theirs:  # rated above the evidence
                flag = " class='course-rubric-above' style='background:#fff7ed'"
            rows.append(
                f"<tr{flag}><td>{html.escape(d.name)}</td><td>{LEVELS[mine - 1] if mine else '–'}</td>"
                f"<td><b>{LEVELS[theirs - 1]}</b></td><td>{html.escape('; '.join(why))}</td></tr>")
        verdict = f"<h3>Evidence suggests {s.result.score:g} / 100 → {s.result.level}</h3>"
        if self.result is not None and self.result.level != s.result.level:
            higher = ["L3", "L4", "L5-L6"].index(self.result.level) > ["L3", "L4", "L5-L6"].index(s.result.level)
            verdict += (f"<p>Your self-rating says <b>{self.result.level}</b>: "
                        + ("higher than your work shows. Look at the dimensions where you rated above the evidence."
                           if higher else "lower than your work shows: you did better than you think.") + "</p>")
        return (verdict + f"<p><i>{html.escape(s.summary)}.</i></p>"
                "<table><tr><th>dimension</th><th>you</th><th>evidence</th><th>why</th></tr>"
                + "".join(rows) + "</table>" + _phase_table(s.evidence))


def rubric_widget(session: Any = None) -> RubricWidget | HTML:
    """The wrap-up: rate yourself on each dimension and see the score, level and radar chart update,
    beside the level the notebook's evidence suggests, with its reasons.

    ``session`` is the notebook's ``SESSION``: with it, every topic and deep-dive question counts, asked or
    not. Under grading it is the static rubric table with the level mapping.
    """
    __tracebackhide__ = True
    if session is not None:
        _evidence._session_parts(session)  # a clear error for anything that is not the session
    if is_grading():
        return HTML(rubric_table_html())
    _evidence.note_phase(_evidence.WRAP_UP)
    return RubricWidget(session=session)
