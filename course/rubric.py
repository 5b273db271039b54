"""The self-evaluation rubric: four dimensions weighted 25 % each, three levels, a score and a hiring level.

Scoring (the course's rule, stated once): a dimension earns 0 points for *Needs work*, 50 for *Good* and
100 for *Excellent*; the score is the weighted mean, 0–100. The level is **L5-L6** from 75 with no
dimension at *Needs work*, **L4** from 50, **L3** below 50. So all *Good* is L4, and one weak dimension
keeps even three *Excellent* ones at L4, as the seed's L5-L6 profile expects strength everywhere.
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

from .errors import CourseInputError
from .runtime import is_grading

__all__ = [
    "Dimension", "DIMENSIONS", "LEVELS", "POINTS", "L5_L6_FROM", "L4_FROM",
    "RubricResult", "score", "radar_chart", "figure_png", "rubric_table_html", "rubric_widget", "RubricWidget",
]

#: The three levels, rated 1, 2 and 3.
LEVELS: tuple[str, str, str] = ("Needs work", "Good", "Excellent")
#: Points a dimension earns at each rating.
POINTS: dict[int, float] = {1: 0.0, 2: 50.0, 3: 100.0}
#: Lowest score for L5-L6 (and no dimension at Needs work), and for L4.
L5_L6_FROM = 75.0
L4_FROM = 50.0


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


def _level(total: float, ratings: Mapping[str, int]) -> str:
    if total >= L5_L6_FROM and min(ratings.values()) > 1:
        return "L5-L6"
    return "L4" if total >= L4_FROM else "L3"


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
    return RubricResult(ordered, points, total, _level(total, ordered))


def radar_chart(result: RubricResult) -> Figure:
    """A polar (radar) chart of the points per dimension, titled with the score and level."""
    __tracebackhide__ = True
    if not isinstance(result, RubricResult):
        raise CourseInputError(f"radar_chart needs the result of score(...), got {type(result).__name__}")
    names = list(result.points)
    angles = [2 * math.pi * i / len(names) for i in range(len(names))]
    values = [result.points[n] for n in names]
    fig = Figure(figsize=(4.8, 4.4))
    ax = fig.add_subplot(projection="polar")
    ax.plot(angles + angles[:1], values + values[:1], color="tab:blue", linewidth=2)
    ax.fill(angles + angles[:1], values + values[:1], color="tab:blue", alpha=0.25)
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
    rule = (f"Points per dimension: {', '.join(f'{n} {POINTS[i]:g}' for i, n in enumerate(LEVELS, 1))}. "
            f"L5-L6 from {L5_L6_FROM:g} with no dimension at Needs work; L4 from {L4_FROM:g}; L3 below.")
    return f"<table><tr><th>dimension</th>{head}</tr>{rows}</table><p>{rule}</p>"


class RubricWidget(widgets.VBox):
    """Live self-evaluation: ``toggles`` and ``descriptors`` per dimension, ``summary`` (HTML), ``chart`` (PNG image)."""

    def __init__(self) -> None:
        self.result: RubricResult | None = None
        self.toggles = {
            d.name: widgets.ToggleButtons(options=[(n, i) for i, n in enumerate(LEVELS, 1)], value=None,
                                          tooltips=list(d.descriptors), style={"button_width": "7.5em"})
            for d in DIMENSIONS
        }
        self.descriptors = {d.name: widgets.HTML() for d in DIMENSIONS}
        self.summary = widgets.HTML()
        self.chart = widgets.Image(format="png", layout=widgets.Layout(display="none"))
        rows = [
            widgets.VBox([widgets.HTML(f"<b>{html.escape(d.name)}</b> ({d.weight:.0%})"),
                          self.toggles[d.name], self.descriptors[d.name]])
            for d in DIMENSIONS
        ]
        for toggle in self.toggles.values():
            toggle.observe(self._update, "value")
        super().__init__([widgets.HBox([widgets.VBox(rows), widgets.VBox([self.summary, self.chart])])])
        self.add_class("course-rubric")  # a stable hook for styling and the browser tests
        self._update()

    def _update(self, change: dict | None = None) -> None:
        for d in DIMENSIONS:
            rating = self.toggles[d.name].value
            self.descriptors[d.name].value = (
                f"<i>{html.escape(d.descriptors[rating - 1])}</i>" if rating else "<i>not rated yet</i>")
        rated = {name: t.value for name, t in self.toggles.items() if t.value is not None}
        if len(rated) < len(DIMENSIONS):
            self.result = None
            self.summary.value = f"Rate each dimension ({len(rated)} of {len(DIMENSIONS)} rated)."
            self.chart.layout.display = "none"
            return
        self.result = score(rated)
        self.summary.value = f"<h3>{self.result.score:g} / 100 → {self.result.level}</h3>"
        self.chart.value = figure_png(radar_chart(self.result))
        self.chart.layout.display = None


def rubric_widget() -> RubricWidget | HTML:
    """Rate yourself on each dimension and see the score, level and radar chart update; static table under grading."""
    if is_grading():
        return HTML(rubric_table_html())
    return RubricWidget()
