"""Scenarios: the figures an interviewer states, as text quantities (``{"daily_active_users": "100 M user"}``),
and new ones shaped like them, for practice rounds (here, in the student's kernel) and for the grader's
hidden cases. A scenario holds no answer: expected figures are computed from it by the reference, in the
grader.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence

__all__ = ["fresh_scenario", "practice_scenario", "nice"]

_NICE = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)


def nice(x: float) -> float:
    """``x`` rounded to a figure an interviewer would say (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10ⁿ)."""
    if x <= 0:
        return x
    exponent = math.floor(math.log10(x))
    mantissa = x / 10**exponent
    best = min(_NICE + (10.0,), key=lambda n: abs(math.log(mantissa / n)))
    return float(best * 10**exponent)


def fresh_scenario(template: Mapping[str, str], rng: random.Random, *, spread: float = 3.0,
                   keep: Sequence[str] = ()) -> dict[str, str]:
    """A new scenario shaped like ``template``: every figure scaled by a random factor in [1/spread, spread]
    and rounded to a figure an interviewer would say.

    Fractions (plain numbers below 1) stay below 1; ratios and factors above 1 stay at least 1.5 (2 when
    whole): a peak or replication factor of 1 would make a forgotten factor give the right figure. Whole
    numbers stay whole; names in ``keep`` are not changed.
    """
    out: dict[str, str] = {}
    for name, text in template.items():
        if name in keep:
            out[name] = text
            continue
        number, _, unit = str(text).strip().partition(" ")
        try:
            value = float(number.replace("_", "").replace(",", ""))
        except ValueError:
            out[name] = text
            continue
        scale = math.exp(rng.uniform(-math.log(spread), math.log(spread)))
        new = nice(value * scale)  # a count with a prefix word ("100 M user") keeps the word: unit is "M user"
        if not unit:  # a plain number: a fraction stays below 1, a ratio or factor above 1 stays above 1
            new = min(new, 0.9) if value < 1 else max(new, 1.5) if value > 1 else max(new, 1.0)
        if value == int(value) and new >= 1:
            new = float(max(1, round(new)))
        shown = f"{int(new)}" if new == int(new) else f"{new:g}"
        out[name] = f"{shown} {unit}".strip()
    return out


def practice_scenario(session_id: str, round_number: int, sample: Mapping[str, str], *,
                      keep: Sequence[str] = ()) -> dict[str, str]:
    """The scenario of practice round ``round_number`` (1, 2, ...) of a session: the same for everyone, new
    for every round, never the sample (a round that would repeat it is drawn again)."""
    if not isinstance(round_number, int) or isinstance(round_number, bool) or round_number < 1:
        raise ValueError(f"a practice round is a whole number from 1, got {round_number!r}")
    rng = random.Random(f"{session_id}:practice:{round_number}")
    for _ in range(20):
        scenario = fresh_scenario(sample, rng, keep=keep)
        if scenario != dict(sample):
            return scenario
    return scenario
