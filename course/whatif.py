"""Estimation what-if explorer: move an assumption, watch every estimate that depends on it.

Each estimate is a function of the assumptions. A slider per chosen assumption feeds a changed copy of
them to every estimate; a table shows the values and a chart shows how far each estimate moved from its
value at the starting assumptions (×, log scale), which compares estimates of different units on one
axis. An estimate that raises (``NotImplementedError`` while the student has not written it) shows as
"not implemented yet" and the others keep working.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from numbers import Real
from typing import Any

import ipywidgets as widgets
from IPython.display import HTML
from matplotlib import ticker
from matplotlib.figure import Figure
from pint import DimensionalityError

from .errors import CourseInputError
from .rubric import figure_png
from .runtime import is_grading
from .units import Quantity, fmt

__all__ = ["explore", "WhatIf", "NOT_IMPLEMENTED"]

Estimate = Callable[[Mapping[str, Any]], Any]
#: What an estimate evaluates to: a quantity, or the sentence shown in its place.
Outcome = Quantity | str

NOT_IMPLEMENTED = "not implemented yet"
_LOG_SPAN = 10  # a range spanning at least this factor gets a logarithmic slider


def _with_changes(base: Mapping[str, Any], changes: Mapping[str, Any]) -> Mapping[str, Any]:
    """The assumptions with ``changes`` applied: ``base.replace(**changes)`` where it exists, else a dict copy."""
    if not changes:
        return base
    replace = getattr(base, "replace", None)
    return replace(**changes) if callable(replace) else {**base, **changes}


def _evaluate(estimate: Estimate, assumptions: Mapping[str, Any]) -> Outcome:
    """Run one estimate; a failure becomes the sentence shown in its row, never an exception."""
    try:
        value = estimate(assumptions)
    except NotImplementedError:
        return NOT_IMPLEMENTED
    except Exception as exc:  # the student's code may raise anything; show it, keep the explorer alive
        return f"error: {type(exc).__name__}: {exc}"
    if isinstance(value, Quantity):
        return value
    if isinstance(value, Real) and not isinstance(value, bool):
        return Quantity(float(value), "")
    if value is None:
        return "error: returned None (is a `return` missing?)"
    return f"error: returned {type(value).__name__}, not a quantity"


def _ratio(now: Outcome, start: Outcome) -> float | None:
    """now ÷ start as a plain number, or None when either failed, the start is 0 or the units differ."""
    if isinstance(now, str) or isinstance(start, str) or start.magnitude == 0:
        return None
    try:
        ratio = float((now / start).to("").magnitude)
    except DimensionalityError:
        return None
    return ratio if math.isfinite(ratio) and ratio > 0 else None


def _times(ratio: float | None) -> str:
    return "" if ratio is None else f"×{ratio:.3g}"


def _table_html(results: Mapping[str, Outcome], start: Mapping[str, Outcome] | None = None) -> str:
    """The estimates as an HTML table; with ``start``, a column of each one's change since then."""
    rows = []
    for name, value in results.items():
        shown = f"<i>{html.escape(value)}</i>" if isinstance(value, str) else html.escape(fmt(value))
        change = "" if start is None else f"<td>{_times(_ratio(value, start[name]))}</td>"
        rows.append(f"<tr><td><code>{html.escape(name)}</code></td><td>{shown}</td>{change}</tr>")
    head = "<th>estimate</th><th>value</th>" + ("" if start is None else "<th>vs start</th>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _chart(results: Mapping[str, Outcome], start: Mapping[str, Outcome]) -> Figure:
    """Horizontal bars from ×1 to each estimate's change since the start, on a log axis."""
    names = list(results)
    ratios = [_ratio(results[n], start[n]) for n in names]
    fig = Figure(figsize=(6, 0.45 * len(names) + 1.1))
    ax = fig.add_subplot()
    span = max([2.0] + [max(r, 1 / r) * 1.5 for r in ratios if r is not None])
    for y, (name, ratio) in enumerate(zip(names, ratios)):
        if ratio is None:
            ax.text(1, y, f" {NOT_IMPLEMENTED if results[name] == NOT_IMPLEMENTED else 'no value'}",
                    va="center", fontsize=8, color="grey")
            continue
        ax.barh(y, ratio - 1, left=1, color="tab:red" if ratio > 1 else "tab:blue", height=0.6)
        ax.text(ratio, y, f" {_times(ratio)} ", va="center", ha="left" if ratio >= 1 else "right", fontsize=8)
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlim(1 / span, span)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1, 2, 5) if span <= 20 else (1,)))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"×{x:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.5)  # first estimate on top
    ax.set_xlabel("change from the starting assumptions (×, log scale)")
    fig.tight_layout()
    return fig


def _slider_range(name: str, value: Any, bounds: Any) -> tuple[float, float, float]:
    """(start, low, high) for the slider of assumption ``name``, refusing a range it cannot have."""
    __tracebackhide__ = True
    if isinstance(value, Quantity):
        start = float(value.magnitude)
    elif isinstance(value, Real) and not isinstance(value, bool):
        start = float(value)
    else:
        raise CourseInputError(f"assumption {name!r} is {value!r}: a slider needs a quantity or a number")
    if (not isinstance(bounds, (tuple, list)) or len(bounds) != 2
            or not all(isinstance(b, Real) and not isinstance(b, bool) and math.isfinite(b) for b in bounds)):
        raise CourseInputError(f"slider {name!r}: give its range as (low, high) numbers, got {bounds!r}")
    low, high = float(bounds[0]), float(bounds[1])
    if not low < high:
        raise CourseInputError(f"slider {name!r}: low must be below high, got ({low:g}, {high:g})")
    if not low <= start <= high:
        raise CourseInputError(f"slider {name!r}: the starting value {start:g} is outside ({low:g}, {high:g})")
    return start, low, high


def _slider(name: str, start: float, low: float, high: float) -> widgets.FloatSlider | widgets.FloatLogSlider:
    """A slider from ``low`` to ``high``, logarithmic when they span a factor of 10 or more."""
    common = dict(value=start, description=name, continuous_update=False, readout=False,
                  style={"description_width": "14em"}, layout=widgets.Layout(width="32em"))
    if low > 0 and high / low >= _LOG_SPAN:
        return widgets.FloatLogSlider(base=10, min=math.log10(low), max=math.log10(high), step=0.01, **common)
    return widgets.FloatSlider(min=low, max=high, step=(high - low) / 100, **common)


def _check(assumptions: Any, estimates: Any, sliders: Any) -> dict[str, tuple[float, float, float]]:
    """Refuse bad arguments with one clear error; return each slider's (start, low, high)."""
    __tracebackhide__ = True
    if not isinstance(assumptions, Mapping):
        raise CourseInputError(f"assumptions must be Assumptions(...) or a dict, got {type(assumptions).__name__}")
    if not isinstance(estimates, Mapping) or not estimates:
        raise CourseInputError("estimates must be a non-empty dict of name → function(assumptions)")
    for name, estimate in estimates.items():
        if not callable(estimate):
            raise CourseInputError(f"estimate {name!r} must be a function of the assumptions, got {estimate!r}")
    if not isinstance(sliders, Mapping):
        raise CourseInputError("sliders must be a dict of assumption name → (low, high)")
    unknown = [name for name in sliders if name not in assumptions]
    if unknown:
        raise CourseInputError(f"no assumption named {', '.join(map(repr, unknown))} to put on a slider; "
                               f"the assumptions are: {', '.join(map(str, assumptions))}")
    return {name: _slider_range(name, assumptions[name], bounds) for name, bounds in sliders.items()}


class WhatIf(widgets.VBox):
    """The live explorer: ``sliders`` (and a ``labels`` HTML beside each), ``table`` (HTML), ``chart`` (PNG image)."""

    def __init__(self, assumptions: Mapping[str, Any], estimates: Mapping[str, Estimate],
                 sliders: Mapping[str, tuple[float, float]]) -> None:
        __tracebackhide__ = True
        ranges = _check(assumptions, estimates, sliders)
        self.assumptions = assumptions
        self.estimates = dict(estimates)
        self.sliders = {name: _slider(name, *spec) for name, spec in ranges.items()}
        self.labels = {name: widgets.HTML() for name in sliders}
        self.start = {name: _evaluate(f, assumptions) for name, f in self.estimates.items()}
        self.current: Mapping[str, Any] = assumptions
        self.results: dict[str, Outcome] = dict(self.start)
        self.table = widgets.HTML()
        self.chart = widgets.Image(format="png")
        for slider in self.sliders.values():
            slider.observe(lambda _: self.refresh(), "value")
        rows = [widgets.HBox([self.sliders[n], self.labels[n]]) for n in self.sliders]
        super().__init__([*rows, widgets.HBox([self.table, self.chart])])
        self.add_class("course-whatif")  # a stable hook for styling and the browser tests
        self.refresh()

    def _changes(self) -> dict[str, Any]:
        """The slider values, in each assumption's own unit (a plain number stays a plain number)."""
        changes = {}
        for name, slider in self.sliders.items():
            original = self.assumptions[name]
            changes[name] = (Quantity(slider.value, original.units) if isinstance(original, Quantity)
                             else slider.value)
        return changes

    def refresh(self) -> None:
        """Recompute every estimate at the slider values and redraw the table and the chart."""
        changes = self._changes()
        self.current = _with_changes(self.assumptions, changes)
        for name, value in changes.items():
            self.labels[name].value = html.escape(fmt(value))
        self.results = {name: _evaluate(f, self.current) for name, f in self.estimates.items()}
        self.table.value = _table_html(self.results, self.start)
        self.chart.value = figure_png(_chart(self.results, self.start))


def explore(assumptions: Mapping[str, Quantity | float], estimates: Mapping[str, Estimate],
            sliders: Mapping[str, tuple[float, float]]) -> WhatIf | HTML:
    """Sliders for some assumptions, and every estimate recomputed as they move.

    ``explore(a, {"write QPS": write_qps, "storage": storage}, {"daily_active_users": (1e6, 1e9)})``:
    each range is in the assumption's own unit. Under grading only the table at the starting values shows.
    """
    __tracebackhide__ = True
    if is_grading():
        _check(assumptions, estimates, sliders)  # the same argument errors as in a live notebook
        return HTML(_table_html({name: _evaluate(f, assumptions) for name, f in estimates.items()}))
    return WhatIf(assumptions, estimates, sliders)
