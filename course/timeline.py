"""The 45-minute interview clock: the phases as data, a static table, and a widget that ticks in the browser.

The clock runs in real time: an ``ipywidgets.Play`` ticks once a second, linked to a slider with
``jslink``, so it advances in the browser with no kernel round trip; the kernel only rewrites the line
naming the current phase. A "fast" toggle runs one interview minute per second, to walk the phases.
Under grading the widget is replaced by the static table. The notebooks' section headings take their
minutes from :data:`PHASES` (:func:`minutes_of`).
"""

from __future__ import annotations

import html
import math
import weakref
from dataclasses import dataclass
from numbers import Real

import ipywidgets as widgets
import pandas as pd
from IPython.display import HTML

from .errors import CourseInputError
from .runtime import is_grading

__all__ = ["Phase", "PHASES", "INTERVIEW_MINUTES", "phase_at", "timeline_table", "timeline", "TimelineWidget",
           "minutes_of", "REAL_TIME", "FAST"]


@dataclass(frozen=True)
class Phase:
    """One phase of the interview: ``start`` to ``end`` minutes (end excluded), and what good looks like."""

    name: str
    start: int
    end: int
    good: str

    @property
    def minutes(self) -> int:
        return self.end - self.start


PHASES: tuple[Phase, ...] = (
    Phase("Introduction & problem", 0, 3,
          "Restate the problem in your own words and agree on what is in and out of scope."),
    Phase("Requirements", 3, 8,
          "Ask about scale, features, history, latency, platforms and regions; write the answers down as numbers."),
    Phase("Estimation", 8, 13,
          "Turn the answers into traffic, storage and bandwidth, with units, average and peak; say what dominates."),
    Phase("High-level design", 13, 20,
          "Draw the main components and one request's path end to end; check the interviewer agrees before going deeper."),
    Phase("Detailed design", 20, 32,
          "Design the core pieces (data model, APIs, data flow) and say which trade-off each choice makes."),
    Phase("Deep dive", 32, 40,
          "Answer follow-ups with specifics: failures, bottlenecks, scaling limits, ordering and consistency."),
    Phase("Wrap-up", 40, 45,
          "Summarise the design, name its weakest point and what you would do next; ask your own questions."),
)

#: Length of the whole interview, in minutes.
INTERVIEW_MINUTES: int = PHASES[-1].end

_TICK_MS = 1000  # one Play tick per real second
_serial = 0  # the last clock's serial number
#: The clocks alive in this kernel (the wrap-up's evidence reads the one created for the session).
LIVE: "weakref.WeakSet[TimelineWidget]" = weakref.WeakSet()


def next_serial() -> int:
    """The serial number the next clock will get (clocks made from now on have this one or higher)."""
    return _serial + 1
REAL_TIME = 1 / 60  # minutes_per_tick: one interview second per real second
FAST = 1  # minutes_per_tick: one interview minute per real second


def minutes_of(name: str) -> str:
    """``"3–8"``: the minutes of the phase called ``name`` (as a section heading shows them)."""
    __tracebackhide__ = True
    for phase in PHASES:
        if phase.name.lower() == name.lower():
            return f"{phase.start}–{phase.end}"
    raise CourseInputError(f"no phase named {name!r}; the phases are {', '.join(p.name for p in PHASES)}")


def phase_at(minute: float) -> Phase | None:
    """The phase running at ``minute`` into the interview (a phase owns its start, not its end); None once time is up."""
    __tracebackhide__ = True
    if isinstance(minute, bool) or not isinstance(minute, Real) or not math.isfinite(minute):
        raise CourseInputError(f"minute must be a number of minutes, got {minute!r}")
    if minute < 0:
        raise CourseInputError(f"minute must be 0 or more, got {minute!r}")
    for phase in PHASES:
        if phase.start <= minute < phase.end:
            return phase
    return None


def timeline_table() -> pd.DataFrame:
    """The interview timeline as a table: one row per phase, with its minutes and what good looks like."""
    return pd.DataFrame(
        [(f"{p.start}–{p.end}", p.minutes, p.name, p.good) for p in PHASES],
        columns=["minutes", "length (min)", "phase", "what good looks like"],
    )


def _clock(seconds: int) -> str:
    return f"{seconds // 60}:{seconds % 60:02d}"


def _status_html(seconds: int) -> str:
    """The line under the clock: elapsed time, the current phase, the time left in it, what good looks like."""
    total = INTERVIEW_MINUTES * 60
    phase = phase_at(seconds / 60)
    if phase is None:
        return f"<b>{_clock(total)}</b> of {_clock(total)}: time is up. Stop and summarise your design."
    left = phase.end * 60 - seconds
    return (
        f"<b>{_clock(seconds)}</b> of {_clock(total)} · <b>{html.escape(phase.name)}</b> "
        f"({phase.start}–{phase.end} min) · {_clock(left)} left in this phase"
        f"<br><i>What good looks like:</i> {html.escape(phase.good)}"
    )


def _tick_seconds(minutes_per_tick: float) -> int:
    """Interview seconds per tick; refuses speeds that are not a whole number of seconds per tick."""
    __tracebackhide__ = True
    if isinstance(minutes_per_tick, bool) or not isinstance(minutes_per_tick, Real) or not math.isfinite(minutes_per_tick):
        raise CourseInputError(f"minutes_per_tick must be a number, got {minutes_per_tick!r}")
    if not 0 < minutes_per_tick <= INTERVIEW_MINUTES:
        raise CourseInputError(
            f"minutes_per_tick must be above 0 and at most {INTERVIEW_MINUTES}, got {minutes_per_tick!r} "
            "(1 = one interview minute per second; 1/60 = real time)"
        )
    seconds = minutes_per_tick * 60
    if seconds < 1 - 1e-9 or not math.isclose(seconds, round(seconds), abs_tol=1e-9):
        raise CourseInputError(
            f"minutes_per_tick={minutes_per_tick!r} is {seconds:g} s per tick; use a whole number of seconds, "
            "such as 1/60 (real time), 0.5 or 1"
        )
    return round(seconds)


class TimelineWidget(widgets.VBox):
    """The live clock: ``play`` (ticks in the browser), ``clock`` (slider, in interview seconds), ``fast``
    (one interview minute per second), ``status`` (HTML)."""

    def __init__(self, minutes_per_tick: float = REAL_TIME) -> None:
        __tracebackhide__ = True
        step = _tick_seconds(minutes_per_tick)
        total = INTERVIEW_MINUTES * 60
        self.minutes_per_tick = minutes_per_tick
        self._real_step = step if step != 60 else 1
        self.play = widgets.Play(value=0, min=0, max=total, step=step, interval=_TICK_MS,
                                 description="Start the clock", show_repeat=False)
        self.clock = widgets.IntSlider(value=0, min=0, max=total, step=1, readout=False,
                                       description="clock", layout=widgets.Layout(width="55%"))
        self.fast = widgets.ToggleButton(value=step >= 60, description="fast: 1 min/s",
                                         tooltip="Run one interview minute per second, to walk the phases")
        # Runs in the browser: the slider follows the Play button without a message to the kernel.
        self.link = widgets.jslink((self.play, "value"), (self.clock, "value"))
        self.status = widgets.HTML(_status_html(0))
        # Either end of the link may report the new time (the Play ticking, or the student dragging).
        self.play.observe(self._on_time, "value")
        self.clock.observe(self._on_time, "value")
        self.fast.observe(self._on_fast, "value")
        super().__init__([widgets.HBox([self.play, self.clock, self.fast]), self.status])
        self.add_class("course-timeline")  # a stable hook for styling and the browser tests
        global _serial
        _serial += 1
        self.serial = _serial
        LIVE.add(self)

    def _on_time(self, change: dict) -> None:
        self.status.value = _status_html(int(change["new"]))

    def _on_fast(self, change: dict) -> None:
        self.play.step = 60 if change["new"] else self._real_step


def timeline(minutes_per_tick: float = REAL_TIME) -> TimelineWidget | HTML:
    """The interview clock: press play and it runs the 45 minutes in real time (one tick a second).

    ``minutes_per_tick=1`` (or the widget's "fast" toggle) runs one interview minute per second, to walk
    the phases. Under grading it shows the static timeline table instead.
    """
    __tracebackhide__ = True
    if is_grading():
        _tick_seconds(minutes_per_tick)  # the same argument errors as in a live notebook
        return HTML(timeline_table().to_html(index=False))
    return TimelineWidget(minutes_per_tick)
