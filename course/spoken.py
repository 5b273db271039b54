"""The interviewer's figures, spoken: an answer written with placeholders, filled from a scenario.

A session's answers (``course/data/<id>.toml``) name the scenario's figures instead of spelling them out,
so that a new scenario gets the same interviewer with new numbers::

    render("{daily_active_users:count} daily active users.", {"daily_active_users": "100 M user"})
    # -> "100 million daily active users."

A placeholder is ``{key}`` or ``{key:spec}``; ``key`` is a scenario key, whose value is a text quantity
(:func:`course.units.q`). "As written" below is the value's magnitude in the units the scenario writes it
in, count words resolved (``"100 M user"`` is 100,000,000).

===================  ==============================================================================
spec                 spoken as
===================  ==============================================================================
(none)               the number as written: ``{peak_factor}`` → ``3``, ``2.5``; ``1,825``
``count``            a count in words: ``one`` … ``nine``, ``50``, ``800 thousand``, ``100 million``,
                     ``2.5 billion``, ``1 trillion``
``percent``          as written × 100, with ``%``: ``{online_fraction:percent}`` → ``10 %``, ``12.5 %``
a unit               the magnitude in that unit (the whole unit, converted): ``{message_size:B/msg}`` →
                     ``100``; ``{memory_per_connection:B/conn}`` → ``10,000``; ``{retention:year}`` → ``5``
``one|many``         ``one`` when the figure (as written) is exactly 1, else ``many``:
                     ``{replication_factor:copy|copies}``
===================  ==============================================================================

A spec may end in ``*k`` (a number): the figure times k, for a figure the scenario keeps in proportion
(``{daily_active_users:count*2}`` registered users). Numbers keep at most 3 significant digits, or are
whole from 100 on; from 1,000 on they are grouped with commas. ``{{`` and ``}}`` are literal braces. An
unknown key, an unknown or incompatible spec, or a stray brace raises :class:`CourseInputError`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from decimal import Decimal

from .errors import CourseInputError
from .units import Quantity, q, ureg

__all__ = ["render", "placeholders", "spoken_number", "spoken_count"]

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SCALES = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand"))
_FACTOR = re.compile(r"^(?P<spec>.*?)\s*\*\s*(?P<factor>\d+(?:\.\d+)?)$")


def _whole(x: float) -> bool:
    return abs(x - round(x)) <= 1e-9 * max(1.0, abs(x))


def spoken_number(x: float) -> str:
    """A number as an interviewer says it: ``3``, ``2.5``, ``0.125``, ``1,825``, ``8.21`` (3 significant
    digits unless whole; from 100 on, rounded to a whole number)."""
    x = float(x)
    if _whole(x) or abs(x) >= 100:
        return f"{round(x):,}"
    text = format(Decimal(f"{x:.3g}"), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def spoken_count(x: float) -> str:
    """A count in words: ``one`` … ``nine``, ``50``, ``800 thousand``, ``100 million``, ``2.5 billion``."""
    x = float(x)
    for factor, word in _SCALES:
        if abs(x) >= factor * (1 - 1e-9):
            return f"{spoken_number(x / factor)} {word}"
    if _whole(x) and 0 <= round(x) < 10:
        return _WORDS[round(x)]
    return spoken_number(x)


def _parse(template: str) -> list[tuple[str, str | None, str]]:
    """``(literal, key, spec)`` pieces of ``template`` (``key`` None for trailing text)."""
    __tracebackhide__ = True
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise CourseInputError(f"a stray brace in an interviewer's answer ({exc}); write {{{{ or }}}} "
                               "for a literal brace", text=template) from None
    for _, key, _, conversion in parsed:
        if key is not None and conversion is not None:
            raise CourseInputError(f"placeholder {{{key}!{conversion}}}: no conversions, only {{key:spec}}",
                                   text=template)
    return [(literal, key, spec or "") for literal, key, spec, _ in parsed]


def placeholders(template: str) -> list[tuple[str, str]]:
    """The ``(key, spec)`` of every placeholder in ``template``, in order; a stray brace is an error."""
    __tracebackhide__ = True
    return [(key, spec) for _, key, spec in _parse(template) if key is not None]


def _spoken(key: str, spec: str, value: Quantity, template: str) -> str:
    """One placeholder's figure: ``value`` spoken by ``spec``."""
    __tracebackhide__ = True
    match = _FACTOR.match(spec)
    factor = float(match["factor"]) if match else 1.0
    spec = match["spec"] if match else spec
    written = float(value.magnitude) * factor
    if spec == "":
        return spoken_number(written)
    if spec == "count":
        return spoken_count(written)
    if spec == "percent":
        return f"{spoken_number(written * 100)} %"
    if "|" in spec:
        one, _, many = spec.partition("|")
        if not one.strip() or not many.strip() or "|" in many or factor != 1.0:
            raise CourseInputError(f"placeholder {{{key}:{spec}}}: a plural choice is 'one|many', such as "
                                   "'copy|copies'", text=template)
        return one if _whole(written) and round(written) == 1 else many
    try:
        unit = ureg.parse_units(spec)
    except Exception:
        raise CourseInputError(f"placeholder {{{key}:{spec}}}: unknown spec {spec!r}; use count, percent, "
                               "a unit such as B/msg, or one|many", text=template) from None
    if value.dimensionality != unit.dimensionality:
        raise CourseInputError(f"placeholder {{{key}:{spec}}}: {key} is {value.units:~P}, which is not "
                               f"convertible to {spec!r}", text=template)
    return spoken_number(float(value.to(unit).magnitude) * factor)


def render(template: str, scenario: Mapping[str, str]) -> str:
    """``template`` with every placeholder filled from ``scenario`` (text quantities), as spoken.

    ``render("Plan for a peak of {peak_factor} times the daily average.", {"peak_factor": "3"})`` is
    ``"Plan for a peak of 3 times the daily average."``; the specs are listed in this module's docstring.
    """
    __tracebackhide__ = True
    if not isinstance(template, str):
        raise CourseInputError(f"an interviewer's answer must be text, got {type(template).__name__}")
    parts: list[str] = []
    for literal, name, spec in _parse(template):
        parts.append(literal)
        if name is None:
            continue
        if name not in scenario:
            known = ", ".join(sorted(scenario)) or "none"
            raise CourseInputError(f"placeholder {{{name}}}: no scenario figure named {name!r}; the figures "
                                   f"are {known}", text=template)
        try:
            value = q(scenario[name])
        except CourseInputError as exc:
            raise CourseInputError(f"scenario figure {name}: {exc}", text=template) from None
        parts.append(_spoken(name, spec, value, template))
    return "".join(parts)

