"""Your progress over practice attempts, in three plots (``python -m course progress``).

Student side (the grader's progress bar is :mod:`course.grading.progress`). From the practice journal:

(a) the checks passed on the first try, by skill, per attempt (a share of the skill's check cells);
(b) the minutes spent per phase in the latest attempt, against the seed's 45-minute timeline
    (:data:`course.timeline.PHASES`), with the attempts before it as dots;
(c) the mistakes the checks diagnosed (bits vs bytes, a forgotten peak factor...), counted per attempt.

The tables behind them are pandas DataFrames (:func:`first_try_shares`, :func:`phase_minutes`,
:func:`mistake_counts`); the figure is a ``matplotlib.figure.Figure`` (no pyplot state), drawn to PNG
with the Agg renderer. With no attempts it says so instead of drawing empty axes. The heat maps show the
latest :data:`MAX_ATTEMPTS` attempts.

``python -m course progress`` writes ``progress.png`` in the current folder (``--out`` elsewhere) and
prints its path: a terminal may have no screen to show a window on, and a file opens anywhere.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import Colormap
from matplotlib.figure import Figure

from .errors import CourseInputError

__all__ = ["MAX_ATTEMPTS", "attempt_labels", "first_try_shares", "phase_minutes", "mistake_counts", "figure",
           "figure_png", "show_progress", "main"]

#: The heat maps show at most this many of the latest attempts.
MAX_ATTEMPTS = 12
#: How many attempts before the latest are drawn as dots in the minutes plot.
EARLIER = 3
_ROW = 0.36  # inches per heat-map or bar row
_MIN_COLUMNS = 6  # a heat map keeps room for this many attempts (one attempt is a cell, not a band)
_BLUE, _ORANGE, _GREY = "#2563eb", "#d97706", "#6b7280"


def _check(attempts: object) -> list[Mapping]:
    __tracebackhide__ = True
    if isinstance(attempts, (str, bytes, Mapping)) or not isinstance(attempts, Sequence):
        raise CourseInputError(f"progress needs the list of journal attempts, got {type(attempts).__name__}")
    return [a for a in attempts if isinstance(a, Mapping)]


def attempt_labels(attempts: Sequence[Mapping], first: int = 1) -> list[str]:
    """One short label per attempt: ``"#3\\nS1"`` for a session's sample, ``"#4\\nS1 r2"`` for practice round 2."""
    labels = []
    for number, attempt in enumerate(attempts, first):
        session = str(attempt.get("session") or "?")
        digits = "".join(ch for ch in session.split("_")[0] if ch.isdigit())
        scenario = str(attempt.get("scenario") or "sample")
        rnd = scenario.rsplit(" ", 1)[-1] if scenario != "sample" else ""
        labels.append(f"#{number}\nS{digits or '?'}" + (f" r{rnd}" if rnd else ""))
    return labels


def first_try_shares(attempts: Sequence[Mapping]) -> pd.DataFrame:
    """Skills × attempts: the share of the skill's checks passed on the first try (NaN: not tried).

    A skill's checks are its sections (visible check cells); an attempt with no sections falls back to
    the skill as a whole (1 or 0).
    """
    from .evidence import SKILLS

    columns = {}
    for number, attempt in enumerate(_check(attempts), 1):
        columns[number] = _shares(attempt)
    table = pd.DataFrame(columns, index=list(SKILLS), dtype=float)
    extra = sorted(set().union(*(c.keys() for c in columns.values())) - set(SKILLS)) if columns else []
    return table.reindex(list(SKILLS) + extra) if extra else table


def _shares(attempt: Mapping) -> dict[str, float]:
    tried: dict[str, list[bool]] = {}
    for section in (attempt.get("sections") or {}).values():
        if isinstance(section, Mapping) and section.get("skill") and section.get("tries"):
            tried.setdefault(section["skill"], []).append(section.get("passed_on") == 1)
    if not tried:
        for skill, seen in (attempt.get("skills") or {}).items():
            if isinstance(seen, Mapping) and seen.get("tries"):
                tried[skill] = [seen.get("passed_on") == 1]
    return {skill: sum(firsts) / len(firsts) for skill, firsts in tried.items()}


def phase_minutes(attempts: Sequence[Mapping]) -> pd.DataFrame:
    """Phases × attempts: the minutes spent in each phase (NaN: none recorded), phases in interview order."""
    from .timeline import PHASES

    columns = {number: {k: float(v) for k, v in (a.get("phase_minutes") or {}).items() if _number(v)}
               for number, a in enumerate(_check(attempts), 1)}
    names = [p.name for p in PHASES]
    extra = sorted(set().union(*(c.keys() for c in columns.values())) - set(names)) if columns else []
    return pd.DataFrame(columns, index=names + extra, dtype=float)


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def mistake_counts(attempts: Sequence[Mapping]) -> pd.DataFrame:
    """Mistake kinds × attempts: how often the checks diagnosed each kind (0 where not), most frequent first."""
    columns = {number: {k: int(v) for k, v in (a.get("mistakes") or {}).items() if _number(v) and v > 0}
               for number, a in enumerate(_check(attempts), 1)}
    table = pd.DataFrame(columns, dtype=float).fillna(0).astype(int)
    if table.empty:
        return pd.DataFrame(0, index=pd.Index([], dtype=object), columns=list(columns), dtype=int)
    order = table.sum(axis=1).sort_values(ascending=False, kind="stable").index
    return table.loc[order]


def _mistake_label(kind: str) -> str:
    try:
        from .journal import MISTAKE_LABELS
    except ImportError:
        MISTAKE_LABELS = {}
    return str(MISTAKE_LABELS.get(kind) or kind.replace("_", " "))


# --- the figure ----------------------------------------------------------------------------------------


def figure(attempts: Sequence[Mapping]) -> Figure:
    """The three progress plots for these journal attempts (oldest first), or a note when there are none."""
    __tracebackhide__ = True
    attempts = _check(attempts)
    if not attempts:
        return _empty()
    shown = attempts[-MAX_ATTEMPTS:]
    first = len(attempts) - len(shown) + 1
    labels = attempt_labels(shown, first)
    shares = first_try_shares(shown).dropna(how="all")
    minutes = phase_minutes(attempts)
    mistakes = mistake_counts(shown)
    heights = [max(len(shares), 1) * _ROW + 1.2, max(len(minutes.dropna(how="all")), 1) * _ROW + 1.4,
               max(len(mistakes), 2) * _ROW + 1.0]
    fig = Figure(figsize=(10, sum(heights) + 0.6), layout="constrained", facecolor="white")
    fig.get_layout_engine().set(h_pad=0.12, hspace=0.06)
    ax_a, ax_b, ax_c = fig.subplots(3, 1, height_ratios=heights)
    window = "" if first == 1 else f" (attempts {first}–{len(attempts)} of {len(attempts)})"
    _skills_panel(ax_a, shares, labels, window)
    _phases_panel(ax_b, minutes)
    _mistakes_panel(ax_c, mistakes, labels, window)
    fig.suptitle(f"Your practice so far: {len(attempts)} attempt{'s' * (len(attempts) != 1)}",
                 fontsize=13, fontweight="bold", x=0.01, ha="left")
    return fig


def _empty() -> Figure:
    fig = Figure(figsize=(8, 1.8), facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.text(0.5, 0.62, "No practice attempts yet", ha="center", va="center", fontsize=14, fontweight="bold")
    ax.text(0.5, 0.32, "Run a session notebook (start with Session 1): your checks per skill, minutes per phase\n"
            "and mistakes appear here after each attempt.", ha="center", va="center", fontsize=10, color=_GREY)
    return fig


def _heatmap(ax, table: pd.DataFrame, labels: list[str], cmap: str | Colormap, vmax: float,
             text: Callable[[float], str], *, blank_zero: bool = False) -> None:
    """Cells coloured by value, each labelled with ``text(value)``; blank where NaN (and 0 if ``blank_zero``)."""
    values = table.to_numpy(dtype=float)
    blank = ~np.isfinite(values) | ((values == 0) if blank_zero else False)
    ax.imshow(np.ma.masked_where(blank, values), cmap=cmap, vmin=0, vmax=vmax, aspect="auto",
              interpolation="nearest")
    for (row, col), value in np.ndenumerate(values):
        if not blank[row, col]:
            dark = value / vmax > 0.55
            ax.text(col, row, text(value), ha="center", va="center", fontsize=8.5,
                    color="white" if dark else "black")
    ax.set_xlim(-0.5, max(len(labels), _MIN_COLUMNS) - 0.5)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set_yticks(range(len(table.index)), list(table.index), fontsize=9)
    ax.set_xticks(np.arange(-0.5, len(labels)), minor=True)
    ax.set_yticks(np.arange(-0.5, len(table.index)), minor=True)
    ax.grid(which="minor", color="white", linewidth=2)
    ax.tick_params(which="both", length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def _skills_panel(ax, shares: pd.DataFrame, labels: list[str], window: str) -> None:
    ax.set_title(f"(a) Checks passed on the first try, by skill (% of the skill's check cells){window}",
                 loc="left", fontsize=11)
    if shares.empty:
        _note(ax, "No checks were run yet in these attempts.")
        return
    _heatmap(ax, shares * 100, labels, "Blues", 100, lambda v: f"{v:.0f} %")
    ax.set_xlabel("attempt, oldest to newest (S1 r2: Session 1, practice round 2)", fontsize=9, loc="left")


def _phases_panel(ax, minutes: pd.DataFrame) -> None:
    from .timeline import PHASES

    budget = {p.name: p.minutes for p in PHASES}
    recorded = [c for c in minutes.columns if minutes[c].notna().any()]
    ax.set_title("(b) Minutes per phase, the latest attempt against the seed's 45-minute timeline",
                 loc="left", fontsize=11, pad=16)
    if not recorded:
        _note(ax, "No phase times recorded yet: they come from running a session's cells in order.")
        return
    latest, earlier = recorded[-1], recorded[-1 - EARLIER:-1]
    rows = minutes.dropna(how="all")
    names = list(rows.index)
    for y, name in enumerate(names):
        took, plan = rows.at[name, latest], budget.get(name)
        if math.isfinite(took):
            over = plan is not None and took > plan * 1.25
            ax.barh(y, took, height=0.6, color=_ORANGE if over else _BLUE)
        for column in earlier:
            value = rows.at[name, column]
            if math.isfinite(value):
                ax.plot(value, y, "o", color=_GREY, markersize=4, zorder=3)
        if plan is not None:
            ax.plot([plan, plan], [y - 0.4, y + 0.4], color="black", linewidth=2, zorder=4)
        label = (f"{took:.1f} min" if math.isfinite(took) else "—") + (f"  (plan {plan})" if plan else "")
        right = max([v for v in rows.loc[name, [latest, *earlier]] if math.isfinite(v)] + [plan or 0])
        ax.text(right + 0.5, y, label, va="center", fontsize=8.5)
    top = max([float(np.nanmax(rows.to_numpy()))] + list(budget.values()))
    ax.set_xlim(0, top * 1.3 + 2)
    ax.set_yticks(range(len(names)), names, fontsize=9)
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel("minutes", fontsize=9)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    total = float(rows[latest].sum())
    key = (f"bar: attempt #{latest} ({total:.0f} min in all), orange when over the plan by a quarter · "
           f"black tick: the plan's minutes" + (f" · dots: attempts {_numbers(earlier)}" if earlier else ""))
    ax.text(0, 1.01, key, transform=ax.transAxes, fontsize=8, color=_GREY, va="bottom")


def _numbers(columns: Sequence[int]) -> str:
    return ", ".join(f"#{c}" for c in columns)


def _mistakes_panel(ax, mistakes: pd.DataFrame, labels: list[str], window: str) -> None:
    ax.set_title(f"(c) Mistakes the checks diagnosed, per attempt (count){window}", loc="left", fontsize=11)
    if mistakes.empty:
        _note(ax, "No unit or factor mistakes diagnosed in these attempts.")
        return
    table = mistakes.rename(index=_mistake_label)
    _heatmap(ax, table, labels, "Oranges", max(float(table.to_numpy().max()), 2.0) * 1.2, lambda v: f"{v:.0f}",
             blank_zero=True)
    ax.set_xlabel("attempt, oldest to newest", fontsize=9, loc="left")


def _note(ax, text: str) -> None:
    ax.set_axis_off()
    ax.text(0.0, 0.5, text, transform=ax.transAxes, fontsize=10, color=_GREY, va="center")


# --- showing it ----------------------------------------------------------------------------------------


def figure_png(fig: Figure, dpi: int = 96) -> bytes:
    """The figure as PNG bytes (Agg)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return buffer.getvalue()


def show_progress(path: Path | None = None) -> None:
    """Display the progress plots from the journal at ``path`` (default: this machine's) in the notebook."""
    __tracebackhide__ = True
    from IPython.display import Image, display

    from .plan import load_attempts

    fig = figure(load_attempts(path))
    display(Image(data=figure_png(fig)))
    fig.clear()


def main(argv: list[str] | None = None) -> int:
    """``python -m course progress [--out FILE.png] [--journal FILE]``: write the plots, print the path."""
    parser = argparse.ArgumentParser(prog="python -m course progress",
                                     description="Write your progress plots to a PNG file and print its path.")
    parser.add_argument("--out", type=Path, default=Path("progress.png"),
                        help="the PNG file to write (default: progress.png in the current folder)")
    parser.add_argument("--journal", type=Path, help="the journal file (default: this machine's)")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    from .plan import load_attempts

    try:
        attempts = load_attempts(args.journal)
    except CourseInputError as exc:
        print(f"python -m course progress: {exc}", file=sys.stderr)
        return 1
    out = args.out.expanduser().resolve()
    if out.suffix.lower() != ".png":
        print(f"python -m course progress: --out must name a .png file, got {args.out}", file=sys.stderr)
        return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(figure_png(figure(attempts), dpi=110))
    print(out)
    return 0
