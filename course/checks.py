"""Visible-test feedback: compare a student's value with a reference, and say what probably went wrong.

A failing check names what was expected, what was got, and the likely mistake read off the ratio
(×8 bits vs bytes, ×1000ⁿ a unit prefix, ×1.024ⁿ binary vs decimal, ×60/3600/86400 a time unit, ×0.864
the 10^5 s/day shortcut, a forgotten peak or replication factor). Nothing is written to stderr. Each
diagnosis has a stable ``kind`` code, and a failed check reports its best diagnosis's kinds to the evidence
(:func:`course.evidence.note_mistake`), which the practice journal counts per attempt.

Tamper resistance: the builtins used to judge an answer are captured when this module is imported
(before any student code runs), answers are coerced to plain floats and exact types, and a value of an
unexpected type (an object whose ``__eq__`` always says yes, a subclass of a quantity) is refused.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from . import evidence as _evidence
from .errors import CourseInputError, card
from .units import Quantity, _per_time, fmt, q

__all__ = [
    "CheckFailed", "Diagnosis", "check", "fail", "diagnose", "expect_equal", "expect_raises", "public_checks_passed", "scenario_factors", "TOLERANCE",
]

#: Relative tolerance of every numeric check: accepts 86,400 s/day, rejects the 10^5 shortcut (−13.6 %).
TOLERANCE = 0.02

# References captured before student code can patch builtins.
_float, _abs, _type, _isinstance, _print, _len = (
    builtins.float, builtins.abs, builtins.type, builtins.isinstance, builtins.print, builtins.len
)
_isfinite = math.isfinite
_repr, _str = builtins.repr, builtins.str
_PLAIN_NUMBERS = (int, float)


DEFAULT_NEXT_STEP = "fix the answer above, run its cell, then run this check again."


class CheckFailed(AssertionError):
    """A check failed; the message is meant for the student.

    In a notebook it shows as a short card, not a traceback (IPython's ``_render_traceback_`` hook): what
    was expected, what was got, the likely mistake, and the next step. It is still an error, so nbgrader
    scores the cell 0.
    """

    def __init__(self, message: str, next_step: str | None = None) -> None:
        super().__init__(message)
        self.next_step = next_step or DEFAULT_NEXT_STEP

    def _render_traceback_(self) -> list[str]:
        return card(str(self), self.next_step)


def fail(message: str, next_step: str | None = None) -> NoReturn:
    """Raise :class:`CheckFailed`: the notebook shows it as a short card (see :func:`card`)."""
    __tracebackhide__ = True
    _evidence.note_check(message, False, "fail")  # evidence for the wrap-up; never raises
    raise CheckFailed(message, next_step)


@dataclass(frozen=True)
class Diagnosis:
    """A likely mistake behind a wrong answer: the factor it explains, a sentence, what to do about it, and
    its ``kind``: a stable code (``"bits_bytes"``, ``"unit_prefix"``, ``"binary_decimal"``, ``"time_unit"``,
    ``"seconds_per_day"``, ``"seconds_per_month"``, ``"forgotten_peak"``, ``"forgotten_replication"``,
    ``"forgotten_factor"``, ``"factor_misapplied"``); two mistakes together join theirs with ``+``."""

    factor: float
    message: str
    next_step: str = ""
    kind: str = ""

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of mistake it names: one, or two for two mistakes together."""
        return tuple(self.kind.split("+")) if self.kind else ()


_BITS = "convert bits and bytes with pint (`.to('Mbit/s')`, `.to('MB/s')`) instead of by hand."
_PREFIX = "let pint convert prefixes (`.to('GB')`, `.to('TB')`) rather than scaling by 1,000 yourself."
_TIME_UNIT = "keep the rate per the unit asked: `.to('msg/s')` turns a per-day figure into a per-second one."


def _unit_mistakes() -> list[tuple[float, str, str, str]]:
    """``(factor, what went wrong, next step, kind)`` of every unit mistake."""
    out = [(8.0, "bits vs bytes: a byte is 8 bits (networks quote bits, storage bytes)", _BITS, "bits_bytes")]
    for n, names in ((1, "K↔M"), (2, "K↔G or M↔T"), (3, "K↔T"), (4, "K↔P")):
        out.append((1000.0**n, f"a unit prefix: off by 1,000^{n} ({names})", _PREFIX, "unit_prefix"))
    for n in (1, 2, 3, 4):
        out.append((1.024**n, f"binary vs decimal units (KiB/MiB/GiB vs KB/MB/GB): off by 1.024^{n}",
                    "use decimal units (KB, MB, GB): 1 KB = 1,000 B in this course.", "binary_decimal"))
    out += [
        (60.0, "a time unit: per minute vs per second (×60)", _TIME_UNIT, "time_unit"),
        (3600.0, "a time unit: per hour vs per second (×3,600)", _TIME_UNIT, "time_unit"),
        (86400.0, "a time unit: per day vs per second (×86,400)", _TIME_UNIT, "time_unit"),
        (24.0, "a time unit: per day vs per hour (×24)", _TIME_UNIT, "time_unit"),
        (1440.0, "a time unit: per day vs per minute (×1,440)", _TIME_UNIT, "time_unit"),
        (1e5 / 86400, "the 10^5 s/day shortcut: a day has 86,400 s (the shortcut makes rates 13.6 % low)",
         "divide by 86,400 s per day (24 × 3,600), or let pint do it with `.to('msg/s')`.", "seconds_per_day"),
        (2.592 / 2.5, "the 2.5 M s/month shortcut: a 30-day month has 2.592 M s",
         "use 30 × 86,400 = 2.592 M seconds per month.", "seconds_per_month"),
        (365.0, "a time unit: per year vs per day (×365)", _TIME_UNIT, "time_unit"),
    ]
    return out


def _forgotten_kind(name: str) -> str:
    """The kind of forgetting a scenario factor: the peak and the replication factors have their own."""
    words = name.casefold()
    if "peak" in words:
        return "forgotten_peak"
    return "forgotten_replication" if "replica" in words else "forgotten_factor"


def _related(name: str, about: str) -> bool:
    """Whether a scenario factor's name shares a word stem with a check's name ("replication factor" and
    "replicated_storage"), to break a tie between factors of equal value."""
    about = about.casefold()
    return any(len(word) >= 4 and word[:5] in about for word in name.casefold().split() if word != "factor")


_UNIT_MISTAKES = _unit_mistakes()


def _small(factor: float) -> bool:
    """A factor too close to 1 to tell apart once combined with another (1.024ⁿ, the 10⁵ shortcut)."""
    return 0.75 < factor < 1.34


def diagnose(ratio: float, factors: Mapping[str, float] | None = None, *, rel: float = TOLERANCE,
             about: str = "") -> list[Diagnosis]:
    """Likely mistakes that explain ``got / expected == ratio``, best match first.

    ``factors`` names the scenario's own multipliers (``{"peak factor": 3, "replication factor": 3}``):
    a ratio equal to one of them (or its inverse) means it was forgotten or applied twice. When no single
    mistake explains the ratio, two together may (×8 and a forgotten peak of 3: ×24). ``about`` (the
    check's name) breaks ties: for ``"replicated_storage"`` a forgotten replication factor of 3 comes before
    a forgotten peak factor of 3.
    """
    if not (_isfinite(ratio) and ratio > 0):
        return []
    single: list[tuple[float, str, str, str]] = []  # (factor, what went wrong, next step, kind), both directions
    scenario_texts: set[str] = set()
    related: set[str] = set()
    for name, value in (factors or {}).items():
        value = _float(value)
        if value > 0 and _abs(value - 1.0) > rel:
            step = f"check where the {name} (×{value:g}) belongs: apply it once, where the question asks for it."
            single.append((value, f"the {name} (×{value:g}) applied where it does not belong, or twice", step,
                           "factor_misapplied"))
            single.append((1.0 / value, f"a forgotten {name} (×{value:g})",
                           f"multiply by the {name} (×{value:g}) where the question asks for it.",
                           _forgotten_kind(name)))
            scenario_texts |= {single[-1][1], single[-2][1]}
            if about and _related(name, about):
                related |= {single[-1][1], single[-2][1]}
    for factor, text, step, kind in _UNIT_MISTAKES:
        single.append((factor, text, step, kind))
        single.append((1.0 / factor, text, step, kind))
    found: list[tuple[float, bool, Diagnosis]] = []  # (miss, not related to the check, diagnosis)
    for factor, text, step, kind in single:
        miss = _abs(ratio / factor - 1.0)
        if miss <= rel:
            found.append((miss, text not in related, Diagnosis(factor, text, step, kind)))
    for i, (f1, t1, s1, k1) in enumerate(single):
        for f2, t2, _, k2 in single[i + 1:]:
            if t1 == t2 or (found and not ({t1, t2} & scenario_texts)) or _small(f1) or _small(f2):
                continue
            miss = _abs(ratio / (f1 * f2) - 1.0)
            if miss <= rel / 2:  # ranked after every single mistake that fits
                found.append((1.0 + miss, not {t1, t2} & related,
                              Diagnosis(f1 * f2, f"two mistakes together: {t1}, and {t2}", s1, f"{k1}+{k2}")))
    found.sort(key=lambda item: item[:2])
    seen: set[str] = set()
    unique = []
    for _, _, d in found:
        if d.message not in seen:
            seen.add(d.message)
            unique.append(d)
    return unique


def _plain_quantity(value: Any, name: str) -> Quantity:
    """Coerce an answer to a fresh quantity built from a plain float, refusing look-alikes."""
    __tracebackhide__ = True
    kind = _type(value)
    if kind is Quantity:
        magnitude = value.magnitude
        if _type(magnitude) not in _PLAIN_NUMBERS and not _is_numpy_scalar(magnitude):
            fail(f"{name}: expected a number with units, got a quantity of {_type(magnitude).__name__}")
        return Quantity(_float(magnitude), value.units)
    if kind in _PLAIN_NUMBERS or _is_numpy_scalar(value):
        return Quantity(_float(value), "")
    if kind is str:
        try:
            parsed = q(value)
        except CourseInputError as exc:
            problem = str(exc)
        else:
            return _plain_quantity(parsed, name)
        fail(f"{name}: {problem}")
    if value is None:
        fail(f"{name}: got None. Did the function forget to `return` its result?")
    fail(f"{name}: expected a quantity such as `57870 * u.msg / u.s`, got a {kind.__name__}")


def _is_numpy_scalar(value: Any) -> bool:
    kind = _type(value)
    return kind.__module__ == "numpy" and kind.__name__ in {"float64", "float32", "int64", "int32"}


def scenario_factors(scenario: Mapping[str, Any] | None) -> dict[str, float]:
    """The multipliers a scenario offers as explanations: its plain-number assumptions (peak factor,
    replication factor, read:write ratio...) and its durations in days (a retention of 30 days)."""
    out: dict[str, float] = {}
    for key, value in (scenario or {}).items():
        label = key.replace("_", " ")
        try:
            qty = q(value)
        except CourseInputError:
            continue
        if qty.dimensionless:
            out[label] = _float(qty.to("").magnitude)
        elif qty.check("[time]"):
            out[f"{label} of {_float(qty.to('day').magnitude):g} days"] = _float(qty.to("day").magnitude)
    return out


def check(name: str, got: Any, expected: Any, *, rel: float = TOLERANCE,
          factors: Mapping[str, float] | None = None, scenario: Mapping[str, Any] | None = None,
          quiet: bool = False) -> None:
    """Assert that ``got`` equals ``expected`` within ``rel`` (±2 %), in any compatible unit.

    ``expected`` is a quantity or text such as ``"57870.37 msg/s"``. ``scenario`` (the assumptions the
    answer was computed from) and ``factors`` name multipliers a wrong answer may be off by. On success
    prints ``✓ name = value`` (unless ``quiet``); on failure raises :class:`CheckFailed` saying what was
    expected, what was got and the likely mistake.
    """
    __tracebackhide__ = True
    factors = {**scenario_factors(scenario), **(factors or {})}
    want = q(expected) if _type(expected) is str else _plain_quantity(expected, "expected")
    have = _plain_quantity(got, name)
    if not _isfinite(have.magnitude):
        fail(f"{name}: expected {fmt(want)}, got {have.magnitude} (not a finite number)")
    if want.dimensionality != have.dimensionality:
        if have.dimensionless and not want.dimensionless:
            fail(
                f"{name}: expected {fmt(want)}, got the bare number {have.magnitude:,.6g}. "
                f"Keep the units: build it from the assumptions, which carry them."
            )
        fail(
            f"{name}: expected {fmt(want)} ({want.dimensionality}), got {_show(have)} ({have.dimensionality}). "
            "The units do not match: check what is counted and per which time unit."
        )
    if _per_time(want) == "second" and _per_time(have) not in (None, "second"):
        fail(f"{name}: expected a rate per second, got {_show(have)}: a rate per {_per_time(have)} is not QPS.",
             f"convert it before returning: `.to('{want.units:~}')`.")
    got_value = _float(have.to(want.units).magnitude)
    want_value = _float(want.magnitude)
    if want_value == 0:
        ok = _abs(got_value) <= 1e-12
        ratio = math.inf
    else:
        ratio = got_value / want_value
        ok = _abs(ratio - 1.0) <= rel
    if ok:
        _evidence.note_check(name, True, "check")
        if not quiet:
            _print(f"✓ {name} = {_show(have)}")
        return
    lines = [f"{name}: expected {fmt(want)} (±{rel:.0%}), got {_show(have)}"]
    if ratio > 0 and _isfinite(ratio):
        how = f"{_times(ratio)} too high" if ratio > 1 else f"{_times(1 / ratio)} too low"
        lines[0] += f", {how}."
        hints = diagnose(ratio, factors, rel=rel, about=name if _type(name) is str else "")
        if hints:
            lines.append("Likely mistake: " + "; or ".join(d.message for d in hints[:2]) + ".")
            for kind in hints[0].kinds:
                _evidence.note_mistake(kind)  # counted per attempt in the practice journal; never raises
            fail("\n".join(lines), hints[0].next_step)
    elif ratio <= 0:
        lines[0] += " (wrong sign or zero)."
    fail("\n".join(lines), "recompute it from the assumptions step by step, printing each step with `fmt()`.")


def _times(factor: float) -> str:
    return f"{factor:,.0f}×" if factor >= 100 else f"{factor:.3g}×"


def _show(value: Quantity) -> str:
    try:
        return fmt(value)
    except Exception:  # noqa: BLE001 - formatting must never hide the real feedback
        return f"{value:~P}"


def expect_equal(name: str, got: Any, expected: Any, *, hint: str | None = None) -> None:
    """Assert exact equality of plain values (str, int, bool, tuple, list), with expected/got in the message."""
    __tracebackhide__ = True
    kind = _type(expected)
    if kind is int and _type(got) is not int:  # a whole number is an int: 7.0 or True is not 7
        fail(f"{name}: expected a whole number (int) like {expected!r}, got a {_type(got).__name__}: {got!r}",
             "return an int: `math.ceil(x)` or `int(x)` of the figure, not a float.")
    if _type(got) is not kind and not (kind is float and _type(got) in _PLAIN_NUMBERS):
        fail(f"{name}: expected a {kind.__name__} like {expected!r}, got a {_type(got).__name__}: {got!r}")
    if kind in (list, tuple):
        same = _len(got) == _len(expected) and all(_type(a) is _type(b) and a == b for a, b in zip(got, expected))
    else:
        same = (got == expected) is True and (expected == got) is True
    if not same:
        message = f"{name}: expected {expected!r}, got {got!r}"
        fail(message + (f"\nHint: {hint}" if hint else ""))
    _evidence.note_check(name, True, "expect_equal")
    _print(f"✓ {name} = {got!r}")


def public_checks_passed(what: str = "") -> None:
    """Print the honest summary of a visible test cell: hidden checks still run at grading."""
    label = f" for {what}" if what else ""
    _evidence.note_section(what)
    _print(f"Public checks passed{label}; hidden checks run at grading.")


def expect_raises(function: Callable[..., Any], *args: Any, error: type[Exception] = ValueError) -> None:
    """Assert that ``function(*args)`` refuses bad input: it raises ``error`` with a message saying what is wrong.

    Prints ``✓ call raises ValueError: message``. Returning a value, raising another exception type (or
    ``NotImplementedError``) or raising with an empty message fails with :class:`CheckFailed` naming the call.
    """
    __tracebackhide__ = True
    call = f"{getattr(function, '__name__', 'function')}({', '.join(_repr(arg) for arg in args)})"
    wanted = error.__name__
    try:
        result = function(*args)
    except error as exc:
        message = _str(exc).strip()
        if not message:
            fail(f"{call} raised {wanted} without a message: say what is wrong with the input")
        _evidence.note_check(call, True, "expect_raises")
        _print(f"✓ {call} raises {wanted}: {message}")
        return
    except Exception as exc:  # noqa: BLE001 - the student's code may raise anything; name it
        fail(f"{call}: expected {wanted} with a message, got {_type(exc).__name__}: {exc}")
    fail(f"{call}: expected {wanted} with a message, but it returned {result!r}")
