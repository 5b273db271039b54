"""The curveball: mid-interview, the interviewer changes one requirement.

The candidate writes ``after_curveball(a)``, the assumptions once the change is made. :func:`curveball`
checks that it makes exactly the interviewer's change (the change is what the interviewer said, so it is
no answer key), then re-runs the candidate's *own* estimate functions on both sets of assumptions and
shows which figure moves, and by how much. What breaks first is the candidate's call; the grader checks
the figures on other scenarios, outside the kernel.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from IPython.display import HTML, display

from .assumptions import Assumptions
from .checks import TOLERANCE, fail
from .errors import CourseInputError
from .units import Quantity, fmt, q
from .whatif import Outcome, _evaluate, _ratio

__all__ = ["curveball", "apply_change", "moves"]


def apply_change(assumptions: Mapping[str, Any], changes: Mapping[str, str]) -> dict[str, Quantity]:
    """What each changed assumption should become: ``"x10"`` multiplies it, anything else is its new value."""
    out = {}
    for name, text in changes.items():
        text = str(text).strip()
        if text[:1] in ("x", "×"):
            out[name] = assumptions[name] * float(text[1:])
        else:
            out[name] = q(text)
    return out


def _close(have: Any, want: Quantity) -> bool:
    try:
        got = float(have.to(want.units).magnitude) if isinstance(have, Quantity) else float(have)
    except Exception:  # noqa: BLE001 - wrong dimension or type: not the change
        return False
    target = float(want.magnitude)
    return abs(got - target) <= TOLERANCE * abs(target) if target else abs(got) < 1e-12


def _check_change(before: Mapping[str, Any], after: Any, changes: Mapping[str, str]) -> None:
    """Fail with a card unless ``after`` is ``before`` with exactly the interviewer's change."""
    __tracebackhide__ = True
    if not isinstance(after, Assumptions):
        fail(f"after_curveball: expected Assumptions (use `a.replace(...)`), got {type(after).__name__}",
             "return `a.replace(name=new value)`: a copy of the assumptions with the change made.")
    wanted = apply_change(before, changes)
    missing = [name for name in wanted if name not in after or not _close(after[name], wanted[name])]
    if missing:
        fail(f"after_curveball: {', '.join(missing)} {'is' if len(missing) == 1 else 'are'} not what the "
             "interviewer changed it to", "read the interviewer's change again, and make it with `a.replace(...)`.")
    extra = [name for name in before if name not in wanted
             and (name not in after or not _close(after[name], before[name]))]
    if extra:
        fail(f"after_curveball: {', '.join(extra)} changed too, but the interviewer changed only "
             f"{', '.join(wanted)}", "change only what the interviewer changed; every estimate follows from it.")


def moves(before: Mapping[str, Any], after: Mapping[str, Any],
          functions: Iterable[Callable[[Mapping[str, Any]], Any]]) -> list[tuple[str, Outcome, Outcome, float | None]]:
    """``(name, before, after, ratio)`` for each function, the biggest move first (unchanged and failed last)."""
    rows = []
    for function in functions:
        name = getattr(function, "__name__", repr(function))
        was, now = _evaluate(function, before), _evaluate(function, after)
        rows.append((name, was, now, _ratio(now, was)))
    return sorted(rows, key=lambda row: -abs(math.log(row[3])) if row[3] else 0.0)


def _times(ratio: float) -> str:
    """``×1,667``, ``×3``, ``×0.4``: as a person would read a change out."""
    return f"×{ratio:,.0f}" if ratio >= 100 else f"×{ratio:.3g}"


def _shown(value: Outcome) -> str:
    return f"<i>{html.escape(value)}</i>" if isinstance(value, str) else html.escape(fmt(value))


def _table(rows: list[tuple[str, Outcome, Outcome, float | None]]) -> str:
    body = []
    for name, was, now, ratio in rows:
        change = "—" if ratio is None else ("unchanged" if abs(ratio - 1) < 1e-9 else _times(ratio))
        body.append(f"<tr><td><code>{html.escape(name)}</code></td><td>{_shown(was)}</td><td>{_shown(now)}</td>"
                    f"<td><b>{change}</b></td></tr>")
    return ("<table><tr><th>your estimate</th><th>before</th><th>after the change</th><th>change</th></tr>"
            + "".join(body) + "</table>")


def _summary(rows: list[tuple[str, Outcome, Outcome, float | None]]) -> str:
    moved = [(name, ratio) for name, _, _, ratio in rows if ratio is not None and abs(ratio - 1) > 1e-9]
    still = [name for name, _, _, ratio in rows if ratio is not None and abs(ratio - 1) <= 1e-9]
    if not moved:
        return "None of these estimates moved: is the change made, and do the functions read it?"
    name, ratio = moved[0]
    text = f"Moves most: <code>{html.escape(name)}</code>, {_times(ratio)}."
    if still:
        text += " Unchanged: " + ", ".join(f"<code>{html.escape(n)}</code>" for n in still) + "."
    return text


def curveball(session: Any, assumptions: Any, after: Callable[[Assumptions], Any],
              functions: Iterable[Callable[[Mapping[str, Any]], Any]]) -> None:
    """Check ``after`` makes the interviewer's change, then show every estimate before and after it."""
    __tracebackhide__ = True
    spec = getattr(session, "sample", {}).get("curveball") if session is not None else None
    if not isinstance(spec, Mapping) or not spec.get("changes"):
        raise CourseInputError("this session has no curveball (pass SESSION, from load_session(...))")
    if not isinstance(assumptions, Assumptions):
        raise CourseInputError(f"expected your `assumptions` (Assumptions(...)), got {type(assumptions).__name__}")
    if not callable(after):
        raise CourseInputError("pass your function after_curveball itself (no brackets)")
    functions = list(functions)
    if not functions or not all(callable(f) for f in functions):
        raise CourseInputError("pass a list of your estimate functions, e.g. [read_qps, replicated_storage]")
    try:
        changed = after(assumptions)
    except NotImplementedError:
        raise
    except CourseInputError:
        raise
    except Exception as exc:  # the student's code: say what happened, as a card
        fail(f"after_curveball(assumptions) raised {type(exc).__name__}: {exc}",
             "return `a.replace(name=new value)`.")
    _check_change(assumptions, changed, spec["changes"])
    print("✓ after_curveball makes the interviewer's change")
    rows = moves(assumptions, changed, functions)
    display(HTML(f"<p>{_summary(rows)}</p>{_table(rows)}"))
